/**
 * npm run erase -- --phone <E.164> [--dry-run]
 * Removes every call involving a phone number, and archived deliveries mentioning it, and redacts its mentions in other
 * people's records, in one transaction; records an audit row (with a keyed hash of the number). --dry-run only counts.
 * Prints counts only, never a number. Works on the server's database, never a new one.
 */
import { parseCommandLine, runCommand, UsageError } from '../src/cli.ts';
import { eraseCalls } from '../src/governance/erasure.ts';

const USAGE = 'Usage: npm run erase -- --phone <E.164 number, e.g. +33612345678> [--dry-run]';

const COMMAND = {
  name: 'npm run erase',
  usage: USAGE,
  createsDatabase: false,
  whileServerRuns: 'Without stopping it: the eraseCalls mutation does the same on the running server, with an admin key.',
};

await runCommand(COMMAND, async (database) => {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    phone: { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  if (!values.phone || positionals.length > 0) throw new UsageError('erase needs --phone and nothing else.');
  const result = await eraseCalls(database.prisma, { phoneNumber: values.phone, dryRun: values['dry-run'] ?? false, erasedBy: 'cli' });
  const counts = `${result.callOrders} call orders, ${result.callAttempts} attempts, ${result.transcriptMessages} transcript messages, ${result.webhookDeliveries} archived deliveries, ${result.redactedRecords} redacted mentions in other records`;
  process.stdout.write(
    result.dryRun
      ? `Dry run: would erase ${counts}. Nothing was changed.\n`
      : `Erased ${counts}. The erasure is recorded in the audit table.\n`,
  );
});
