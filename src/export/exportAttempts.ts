/**
 * The export's streaming loop, shared by the HTTP route and `npm run export`: every attempt the filter selects, in
 * batches read one after the other with the keyset pages GraphQL uses (each batch starts after the last row of the
 * one before), so that memory holds two batches whatever the number of rows. The next batch is read while the consumer
 * writes out the last one, and no further: a consumer that waits for its writes to drain holds the reading with it.
 */
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { findCallAttempt, findCallAttempts } from '../read/callAttempt.ts';
import { type AttemptRow, columnsFor, exportRow, rowShape } from './columns.ts';
import type { ExportQuery } from './exportQuery.ts';
import { type ExportFormat, FORMATS } from './formats.ts';

/** Rows in a batch at most. */
export const MAX_BATCH_ROWS = 500;
/** Rows of the first batch with content: a transcript can weigh megabytes. */
const FIRST_CONTENT_BATCH_ROWS = 10;
/**
 * What a batch aims to weigh: after each batch the next is sized from the bytes per row seen, within 1..MAX_BATCH_ROWS,
 * and at most BATCH_GROWTH times the last, so that a run of small rows cannot size a batch for much larger ones. Two
 * batches are in memory at once (one written, one read); 512 KiB kept an export of 180 MiB of transcripts within
 * +39 MiB of RSS at the same speed as 1 MiB (+67 MiB).
 */
const TARGET_BATCH_BYTES = 512 * 1024;
const BATCH_GROWTH = 4;

export interface ExportOptions {
  query: Pick<ExportQuery, 'filter' | 'order'>;
  format: ExportFormat;
  /** The content columns (`transcripts:read`): recordingUrl, structuredOutput, transcript. */
  withContent: boolean;
  /** Runs each statement: the route runs them as its request's work (bounded, cancelled when the client is gone). */
  run?: <T>(statement: () => Promise<T>) => Promise<T>;
}

/** How far an export got; updated as it goes. */
export interface ExportProgress {
  rows: number;
  bytes: number;
  batches: number;
}

/** The row a batch continues from was deleted (erased, or purged) meanwhile: the rest cannot be found from it. */
class ExportCutError extends Error {
  override name = 'ExportCutError';
  constructor() {
    super('an attempt the export had reached was deleted while it ran (erasure); run the export again');
  }
}

/** The export as UTF-8 chunks, one per batch, the first with the header (CSV); an empty NDJSON export has none. */
export async function* exportChunks(prisma: PrismaClient, options: ExportOptions, progress: ExportProgress): AsyncGenerator<Buffer> {
  const { query, withContent, run = (statement) => statement() } = options;
  const format = FORMATS[options.format];
  const columns = columnsFor(withContent);
  const shape = rowShape(withContent);
  const chunk = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    progress.bytes += bytes.length;
    return bytes;
  };
  // The header goes out with the first batch: the first chunk comes from the database, so that the route can answer
  // a database failure with an error before it starts the body.
  let header = format.header(columns);
  const read = (size: number, last: AttemptRow | undefined) => {
    const page = { take: size, skip: last ? 1 : 0, ...(last ? { cursor: { id: last.id } } : {}) };
    // Typed as the model; a row holds the fields and relations of `shape`.
    return run(() =>
      findCallAttempts(prisma, { filter: query.filter, order: query.order, query: page, shape }),
    ) as Promise<unknown> as Promise<AttemptRow[]>;
  };
  let size = withContent ? FIRST_CONTENT_BATCH_ROWS : MAX_BATCH_ROWS;
  let bytesPerRow: number | undefined;
  let last: AttemptRow | undefined;
  let reading: Promise<AttemptRow[]> | null = read(size, last);
  while (reading) {
    const rows = await reading;
    progress.batches += 1;
    // Prisma's cursor rule: a cursor row that no longer exists selects nothing, which must not pass for the end.
    if (rows.length === 0 && last && !(await run(() => findCallAttempt(prisma, { select: { id: true } }, last!.revoxId)))) {
      throw new ExportCutError();
    }
    // The next batch is read while this one is written out: one batch ahead at most, so the database and the
    // formatting work side by side, and a client that does not read still holds the reading.
    reading = null;
    if (rows.length === size) {
      last = rows.at(-1);
      if (bytesPerRow !== undefined) size = nextSize(size, bytesPerRow);
      reading = read(size, last);
      // Awaited on the next turn of the loop; a failure meanwhile must not count as unhandled.
      reading.catch(() => {});
    }
    const bytes = chunk(header + rows.map((row) => format.line(exportRow(row, withContent), columns)).join(''));
    header = '';
    progress.rows += rows.length;
    if (rows.length > 0) bytesPerRow = bytes.length / rows.length;
    if (bytes.length > 0) yield bytes;
  }
}

/** The size of the batch after one of `size` rows: about TARGET_BATCH_BYTES, within 1..MAX_BATCH_ROWS, growing at most BATCH_GROWTH times. */
function nextSize(size: number, bytesPerRow: number): number {
  return Math.max(1, Math.min(MAX_BATCH_ROWS, size * BATCH_GROWTH, Math.floor(TARGET_BATCH_BYTES / bytesPerRow)));
}
