/**
 * The two export formats, each writing a header (CSV only) and one line per row.
 *
 * CSV follows RFC 4180: CRLF line ends, a header row, a cell quoted when it holds a comma, a quote or a line break,
 * quotes doubled. Times are ISO-8601 UTC, `structuredOutput` is JSON text, `transcript` one line per turn
 * (`ROLE: content`, turns separated by LF inside the quoted cell). A cell that a spreadsheet would run as a formula
 * (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`: phone numbers read `'+33...`.
 * No byte-order mark: RFC 4180 and the programs that read exports do without one, the Content-Type says UTF-8, and
 * Excel reads UTF-8 through Data > From Text/CSV (README, Export).
 *
 * NDJSON: one JSON object per line with the same keys, in the same order; times as ISO-8601 strings, `structuredOutput`
 * as JSON, `transcript` as `[{role, content}]`.
 */
import type { Column, ExportRow, Turn } from './columns.ts';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface Format {
  /** The Content-Type header. */
  contentType: string;
  /** Written once, before the first row. */
  header(columns: readonly Column[]): string;
  line(row: ExportRow, columns: readonly Column[]): string;
}

export const FORMATS: Record<ExportFormat, Format> = {
  csv: {
    contentType: 'text/csv; charset=utf-8',
    header: (columns) => csvLine(columns),
    line: (row, columns) => csvLine(columns.map((column) => csvText(column, row[column]))),
  },
  ndjson: {
    contentType: 'application/x-ndjson; charset=utf-8',
    header: () => '',
    line: (row, columns) => `${JSON.stringify(Object.fromEntries(columns.map((column) => [column, row[column] ?? null])))}\n`,
  },
};

export function isExportFormat(name: string): name is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(name);
}

function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/** A value as the text of its cell; null (no value) is an empty cell. */
function csvText(column: Column, value: ExportRow[Column]): string {
  if (value === null || value === undefined) return '';
  if (column === 'structuredOutput') return JSON.stringify(value);
  if (column === 'transcript') return (value as Turn[]).map(({ role, content }) => `${role}: ${content}`).join('\n');
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/** What a spreadsheet would take for the start of a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

function csvCell(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
