/**
 * npm run export -- --format csv|ndjson [--filter '<CallAttemptFilter as JSON>'] [--order-by <CallAttemptOrderBy>] [--out FILE]
 * Writes every attempt the filter selects, as GET /export/call-attempts.csv|.ndjson does (src/export/), to stdout or
 * FILE, with every column: whoever runs it on the server can read the database anyway. Says on stderr how many rows.
 */
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseCommandLine, runCommand, UsageError } from '../src/cli.ts';
import { exportChunks, type ExportProgress } from '../src/export/exportAttempts.ts';
import { type ExportQuery, ExportQueryError, parseExportQuery } from '../src/export/exportQuery.ts';
import { EXPORT_FORMATS, isExportFormat } from '../src/export/formats.ts';

const USAGE = `Usage: npm run export -- --format ${EXPORT_FORMATS.join('|')} [--filter '<CallAttemptFilter as JSON>'] [--order-by <CallAttemptOrderBy>] [--out FILE]`;

const COMMAND = {
  name: 'npm run export',
  usage: USAGE,
  createsDatabase: false,
  whileServerRuns: 'Without stopping it: GET /export/call-attempts.csv (or .ndjson) on the running server, with a key.',
};

await runCommand(COMMAND, async (database) => {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    format: { type: 'string' },
    filter: { type: 'string' },
    'order-by': { type: 'string' },
    out: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`Unexpected arguments: ${positionals.join(' ')}`);
  const { format } = values;
  if (format === undefined || !isExportFormat(format)) {
    throw new UsageError(
      format === undefined ? 'export needs --format.' : `--format must be ${EXPORT_FORMATS.join(' or ')}, got "${format}".`,
    );
  }
  let query: ExportQuery;
  try {
    query = parseExportQuery({ filter: values.filter, orderBy: values['order-by'] });
  } catch (error) {
    if (error instanceof ExportQueryError) throw new UsageError(error.message.replace(/^orderBy\b/, '--order-by'));
    throw error;
  }
  // Private, like everything else the server keeps: an export holds personal data.
  const out = values.out === undefined ? process.stdout : (await open(values.out, 'w', 0o600)).createWriteStream();
  const progress: ExportProgress = { rows: 0, bytes: 0, batches: 0 };
  // One batch at a time: the next is read once the output has drained.
  const chunks = Readable.from(exportChunks(database.prisma, { query, format, withContent: true }, progress), {
    objectMode: false,
    highWaterMark: 0,
  });
  await pipeline(chunks, out, { end: out !== process.stdout });
  process.stderr.write(`Exported ${progress.rows} call attempts (${progress.bytes} bytes)${values.out ? ` to ${values.out}` : ''}.\n`);
});
