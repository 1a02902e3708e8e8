/**
 * The export: every attempt as CSV, downloaded whole by one client, Callboard's GET /export/call-attempts.csv against
 * PostgreSQL's own `COPY (SELECT ...) TO STDOUT WITH CSV` streamed by the baseline through pg. Measured: rows per
 * second of the whole download, and how far each server's RSS rises above where it stood before (after a warm-up
 * download).
 */
import type { ServerProcess } from '../lib/proc.ts';

export interface ExportSideResult {
  side: string;
  rows: number;
  megabytes: number;
  /** Median over rounds. */
  rowsPerSecond: number;
  /** Highest RSS during a download, above the RSS just before it (MiB), over rounds. */
  rssGrowthMiB: number;
}

export interface ExportResult {
  id: 'export' | 'export-content';
  label: string;
  sides: ExportSideResult[];
}

interface Download {
  rows: number;
  bytes: number;
  seconds: number;
  rssGrowthMiB: number;
}

/** One whole download, reading as fast as it comes; rows are the lines after the header (CRLF-ended in both). */
async function download(server: ServerProcess, path: string, headers: Record<string, string>): Promise<Download> {
  const before = server.rssMiB();
  server.resetPeak();
  const started = performance.now();
  const response = await fetch(`${server.url}${path}`, { headers });
  if (!response.ok || !response.body) {
    throw new Error(`GET ${path} on ${server.name}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  }
  let bytes = 0;
  let records = 0;
  let quoted = false;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    // Records end with a newline outside quotes (a transcript cell holds newlines of its own).
    for (const byte of chunk) {
      if (byte === 0x22) quoted = !quoted;
      else if (byte === 0x0a && !quoted) records += 1;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { rows: records - 1, bytes, seconds, rssGrowthMiB: Math.max(0, server.peakRssMiB() - before) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function exportScenario(options: {
  id: ExportResult['id'];
  label: string;
  callboard: ServerProcess;
  token: string;
  baseline: ServerProcess;
  withContent: boolean;
  rounds: number;
  log: (line: string) => void;
}): Promise<ExportResult> {
  const { callboard, baseline, token, withContent, rounds, log } = options;
  const sides: { name: string; server: ServerProcess; path: string; headers: Record<string, string> }[] = [
    { name: 'Callboard', server: callboard, path: '/export/call-attempts.csv', headers: { authorization: `Bearer ${token}` } },
    { name: 'baseline: COPY ... TO STDOUT WITH CSV', server: baseline, path: `/export?content=${withContent ? 1 : 0}`, headers: {} },
  ];
  // A warm-up download each, as the other scenarios warm up: the first export of a fresh process also grows V8's
  // young generation to its working size (npm start allows 32 MiB semi-spaces), which is no cost of the export.
  for (const side of sides) await download(side.server, side.path, side.headers);
  const downloads = new Map<string, Download[]>(sides.map((side) => [side.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const result = await download(side.server, side.path, side.headers);
      downloads.get(side.name)!.push(result);
      log(
        `  ${options.id} round ${round + 1}/${rounds} ${side.name}: ${result.rows} rows, ${(result.bytes / 2 ** 20).toFixed(0)} MiB ` +
          `in ${result.seconds.toFixed(1)} s (${(result.rows / result.seconds).toFixed(0)} rows/s), RSS +${result.rssGrowthMiB.toFixed(0)} MiB`,
      );
    }
  }
  const results = sides.map(({ name }) => {
    const list = downloads.get(name)!;
    return {
      side: name,
      rows: list[0]!.rows,
      megabytes: list[0]!.bytes / 2 ** 20,
      rowsPerSecond: median(list.map((d) => d.rows / d.seconds)),
      rssGrowthMiB: Math.max(...list.map((d) => d.rssGrowthMiB)),
    };
  });
  if (results[0]!.rows !== results[1]!.rows) {
    throw new Error(`the export gave ${results[0]!.rows} rows, COPY ${results[1]!.rows}: they must be the same attempts`);
  }
  return { id: options.id, label: options.label, sides: results };
}
