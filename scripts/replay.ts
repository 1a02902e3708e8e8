/**
 * npm run replay [-- --all]
 * Re-processes archived webhook deliveries: by default those that were rejected or failed, with --all every one;
 * then lists each one that is still not stored, with its error.
 * With the embedded database it refuses to run while the server (or any other process) has DATA_DIR open.
 */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { replayArchived } from '../src/webhook/replay.ts';
import { runCommand } from './lib/command.ts';

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--all');
if (unknown.length > 0) {
  process.stderr.write(`Unknown argument ${unknown[0]}. Usage: npm run replay [-- --all]\n`);
  process.exit(2);
}

await runCommand(async () => {
  const config = loadConfig();
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
  try {
    const summary = await replayArchived(database.prisma, args.includes('--all') ? 'all' : 'not-accepted');
    process.stdout.write(
      `Replayed ${summary.replayed} deliveries: ${summary.stored} stored, ${summary.stillRejected} still rejected` +
        `${summary.skipped ? `, ${summary.skipped} skipped (body over the size limit, not archived)` : ''}.\n`,
    );
    for (const { id, receivedAt, outcome, error } of summary.unstored) {
      process.stdout.write(`  ${outcome} ${id} (received ${receivedAt.toISOString()}): ${error}\n`);
    }
  } finally {
    await database.close();
  }
});
