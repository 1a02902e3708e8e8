/**
 * npm run replay [-- --all]
 * Re-processes archived webhook deliveries: by default those that were rejected or failed, with --all every one.
 * With the embedded database, stop the server first: PGlite allows one process at a time.
 */
import { loadConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { replayArchived } from '../src/webhook/replay.ts';

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--all');
if (unknown.length > 0) {
  process.stderr.write(`Unknown argument ${unknown[0]}. Usage: npm run replay [-- --all]\n`);
  process.exit(2);
}

const config = loadConfig();
const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl });
try {
  const summary = await replayArchived(database.prisma, args.includes('--all') ? 'all' : 'not-accepted');
  process.stdout.write(
    `Replayed ${summary.replayed} deliveries: ${summary.stored} stored, ${summary.stillRejected} still rejected` +
      `${summary.skipped ? `, ${summary.skipped} skipped (body over the size limit, not archived)` : ''}.\n`,
  );
} finally {
  await database.close();
}
