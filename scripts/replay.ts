/**
 * npm run replay [-- --all]
 * Re-processes archived webhook deliveries: by default those that were rejected or failed, with --all every one;
 * then lists each one that is still not stored, with why: the rejection's code and field, never the delivery's content.
 * Works on the server's database, never a new one. With the embedded database it refuses to run while the server
 * (or any other process) has DATA_DIR open.
 */
import { parseCommandLine, runCommand, UsageError } from '../src/cli.ts';
import { replayArchived } from '../src/ingest/replay.ts';

const USAGE = 'Usage: npm run replay [-- --all]';

const COMMAND = {
  name: 'npm run replay',
  usage: USAGE,
  createsDatabase: false,
  whileServerRuns: 'No mutation replays deliveries on a running server: stop it for the replay, then start it again.',
};

await runCommand(COMMAND, async (database) => {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), { all: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`Unknown argument ${positionals[0]}.`);
  const summary = await replayArchived(database.prisma, values.all ? 'all' : 'not-accepted');
  process.stdout.write(
    `Replayed ${summary.replayed} deliveries: ${summary.stored} stored, ${summary.stillRejected} still rejected` +
      `${summary.skipped ? `, ${summary.skipped} skipped (body over the size limit, not archived)` : ''}.\n`,
  );
  for (const { id, receivedAt, outcome, reason } of summary.unstored) {
    process.stdout.write(`  ${outcome} ${id} (received ${receivedAt.toISOString()}): ${reason}\n`);
  }
});
