/**
 * A run's results, as bench/results/latest.json holds them, and their Markdown summary: every figure next to its
 * baseline from the same run, and its targets, met or not.
 */
import type { ExportResult } from '../scenarios/export.ts';
import type { FanoutResult } from '../scenarios/fanout.ts';
import type { IdleResult } from '../scenarios/idle.ts';
import type { SoakResult } from '../scenarios/soak.ts';
import type { SideResult, Timing } from './load.ts';

export type FanoutId = 'fanout-one' | 'fanout-redis' | 'fanout-many';

export interface Report {
  date: string;
  scale: number;
  timing: Timing;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; postgres: string; postgresSource: string };
  dataSet: { orders: number; attempts: number; messages: number; loadSeconds: number };
  http: { scenario: string; description: string; connections: number; baseline: string; sides: SideResult[] }[];
  fanout: (FanoutResult & { id: FanoutId; label: string })[];
  exports: ExportResult[];
  idle: IdleResult[];
  soak?: SoakResult;
  failures: { scenario: string; error: string }[];
  notes: string[];
}

const f = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

/** A target, checked: `must` is what issue 9 requires, `aim` what it hopes for. */
const check = (kind: 'must' | 'aim', what: string, met: boolean, measured?: string) =>
  `${kind} ${what}: ${met ? 'met' : 'NOT met'}${measured ? ` (${measured})` : ''}`;

/** Throughput targets, as a minimum ratio to a named side of the same scenario. */
const HTTP_TARGETS: Record<string, { kind: 'must' | 'aim'; versus: string; label: string; ratio: number }[]> = {
  page: [
    { kind: 'must', versus: 'PostGraphile', label: 'PostGraphile', ratio: 1 },
    { kind: 'aim', versus: 'baseline', label: 'SQL', ratio: 0.5 },
  ],
  search: [
    { kind: 'must', versus: 'PostGraphile', label: 'PostGraphile', ratio: 1 },
    { kind: 'aim', versus: 'baseline', label: 'SQL', ratio: 0.5 },
  ],
  fts: [
    { kind: 'must', versus: 'baseline', label: 'SQL', ratio: 0.5 },
    { kind: 'aim', versus: 'baseline', label: 'SQL', ratio: 0.7 },
  ],
  output: [
    { kind: 'must', versus: 'baseline', label: 'SQL', ratio: 0.5 },
    { kind: 'aim', versus: 'baseline', label: 'SQL', ratio: 0.7 },
  ],
  ingest: [
    { kind: 'must', versus: 'baseline', label: 'plain pg', ratio: 0.5 },
    { kind: 'aim', versus: 'baseline', label: 'plain pg', ratio: 0.7 },
  ],
};

/** The export's targets: rows per second as a ratio to COPY's, and how far RSS may rise during a download. */
const EXPORT_TARGETS: Record<ExportResult['id'], { must: number; aim: number; maxRssGrowthMiB: number }> = {
  export: { must: 0.5, aim: 0.8, maxRssGrowthMiB: 64 },
  'export-content': { must: 0.3, aim: 0.5, maxRssGrowthMiB: 64 },
};

/** Latency targets of a scenario's Callboard side, in ms at the 99th percentile. */
const HTTP_P99_TARGETS: Record<string, number> = { fts: 100 };

const FANOUT_TARGETS: Record<FanoutId, { mustP99Ms: number; aimP99Ms: number; maxRssMiB?: number }> = {
  'fanout-one': { mustP99Ms: 100, aimP99Ms: 50 },
  'fanout-redis': { mustP99Ms: 100, aimP99Ms: 50 },
  'fanout-many': { mustP99Ms: 1_000, aimP99Ms: 250, maxRssMiB: 1_024 },
};

const IDLE_TARGETS = { 'idle-embedded': { must: 400, aim: 350 }, 'idle-postgres': { must: 150, aim: 120 } };

export function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const d = report.dataSet;
  lines.push(
    `Scale ${report.scale} (${d.orders} orders, ${d.attempts} attempts, ${d.messages} transcript messages), ${report.date.slice(0, 16).replace('T', ' ')} UTC, ` +
      `PostgreSQL ${report.machine.postgres}, Node ${report.machine.node}, ${report.machine.cpus} CPUs; ` +
      `${report.timing.rounds} rounds of ${report.timing.roundSeconds} s per side after ${report.timing.warmupSeconds} s warm-up, medians over rounds.`,
  );
  lines.push('');
  lines.push('| scenario | side | req/s | p50 ms | p99 ms | RSS MiB | vs baseline | target |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---|');
  for (const scenario of report.http) {
    const sideFor = (versus: string) =>
      scenario.sides.find((side) => (versus === 'baseline' ? side.side === scenario.baseline : side.side.startsWith(versus)));
    const base = sideFor('baseline');
    for (const side of scenario.sides) {
      const ratio = base ? side.requestsPerSecond / base.requestsPerSecond : NaN;
      let target = side === base ? 'baseline' : 'comparison';
      if (side.side === 'Callboard') {
        const maxP99 = HTTP_P99_TARGETS[scenario.scenario];
        target = [
          ...(HTTP_TARGETS[scenario.scenario] ?? []).map(({ kind, versus, label, ratio: wanted }) => {
            const other = sideFor(versus);
            const measured = other ? side.requestsPerSecond / other.requestsPerSecond : NaN;
            return check(kind, `>= ${wanted}x ${label}`, measured >= wanted, `${f(measured, 2)}x`);
          }),
          ...(maxP99 === undefined ? [] : [check('must', `p99 < ${maxP99} ms`, side.p99Ms < maxP99)]),
        ].join('; ');
      }
      const failed = side.errors > 0 ? ` (${side.errors} failed)` : '';
      lines.push(
        `| ${scenario.scenario} | ${side.side}${failed} | ${f(side.requestsPerSecond)} | ${f(side.p50Ms)} | ${f(side.p99Ms)} | ${f(side.peakRssMiB, 0)} | ` +
          `${side === base ? '1.00' : `${f(ratio, 2)}x`} | ${target} |`,
      );
    }
  }
  for (const fan of report.fanout) {
    const failedWebhooks = Object.values(fan.webhookFailures ?? {}).reduce((sum, n) => sum + n, 0);
    const problems = [
      ...(failedWebhooks
        ? [
            `${failedWebhooks} of ${fan.deliveries} webhooks failed: ${Object.entries(fan.webhookFailures)
              .map(([k, n]) => `${n}x ${k}`)
              .join(', ')}`,
          ]
        : []),
      ...(fan.missing ? [`${fan.missing} events not received within 30 s of the last webhook`] : []),
    ];
    const targets = FANOUT_TARGETS[fan.id];
    const complete = fan.missing === 0 && failedWebhooks === 0;
    const peakRss = Math.max(...fan.peakRssMiB);
    const checks = [
      check('must', `p99 < ${targets.mustP99Ms} ms, 0 missing`, fan.p99Ms < targets.mustP99Ms && complete),
      ...(targets.maxRssMiB ? [check('must', `RSS < ${targets.maxRssMiB} MiB`, peakRss < targets.maxRssMiB)] : []),
      check('aim', `p99 < ${targets.aimP99Ms} ms`, fan.p99Ms < targets.aimP99Ms && complete),
    ];
    lines.push(
      `| fan-out, ${fan.label} | Callboard: ${fan.subscribers} subscribers, webhook every ${fan.intervalMs} ms${problems.length ? ` (${problems.join('; ')})` : ''} | ` +
        `${fan.events} of ${(fan.deliveries - failedWebhooks) * fan.subscribers} events received | ${f(fan.p50Ms)} | ${f(fan.p99Ms)} | ${fan.peakRssMiB.map((r) => f(r, 0)).join(' + ')} | ` +
        `p50 ${f(fan.p50Ms / fan.healthP50Ms, 0)}x, p99 ${f(fan.p99Ms / fan.healthP99Ms, 0)}x GET /health | ${checks.join('; ')} |`,
    );
    lines.push(
      `| fan-out, ${fan.label} | baseline: GET /health round trip | | ${f(fan.healthP50Ms, 2)} | ${f(fan.healthP99Ms, 2)} | | 1.00 | baseline |`,
    );
  }
  for (const exported of report.exports ?? []) {
    const [callboard, copy] = exported.sides;
    if (!callboard || !copy) continue;
    const targets = EXPORT_TARGETS[exported.id];
    const ratio = callboard.rowsPerSecond / copy.rowsPerSecond;
    const checks = [
      check('must', `>= ${targets.must}x COPY`, ratio >= targets.must, `${f(ratio, 2)}x`),
      check(
        'must',
        `RSS growth < ${targets.maxRssGrowthMiB} MiB`,
        callboard.rssGrowthMiB < targets.maxRssGrowthMiB,
        `+${f(callboard.rssGrowthMiB, 0)} MiB`,
      ),
      check('aim', `>= ${targets.aim}x COPY`, ratio >= targets.aim),
    ];
    for (const side of exported.sides) {
      lines.push(
        `| ${exported.id}: ${exported.label} | ${side.side}: ${side.rows} rows, ${f(side.megabytes, 0)} MiB | ${f(side.rowsPerSecond, 0)} rows/s | | | +${f(side.rssGrowthMiB, 0)} | ` +
          `${side === copy ? '1.00' : `${f(ratio, 2)}x`} | ${side === copy ? 'baseline' : checks.join('; ')} |`,
      );
    }
  }
  for (const idle of report.idle ?? []) {
    const targets = IDLE_TARGETS[idle.id];
    const floor = idle.baselines.find((baseline) => baseline.side === 'bare Node');
    const checks = [
      check('must', `< ${targets.must} MiB`, idle.callboardMiB < targets.must),
      check('aim', `< ${targets.aim} MiB`, idle.callboardMiB < targets.aim),
    ];
    lines.push(
      `| idle RSS, ${idle.label} | Callboard (npm start), ${idle.idleSeconds} s after start-up | | | | ${f(idle.callboardMiB, 0)} | ` +
        `${floor ? `${f(idle.callboardMiB / floor.rssMiB, 2)}x bare Node` : ''} | ${checks.join('; ')} |`,
    );
    for (const baseline of idle.baselines)
      lines.push(
        `| idle RSS, ${idle.label} | baseline: ${baseline.side} | | | | ${f(baseline.rssMiB, 0)} | ${floor ? `${f(baseline.rssMiB / floor.rssMiB, 2)}x` : ''} | baseline |`,
      );
  }
  if (report.soak) {
    const s = report.soak;
    lines.push(
      `| soak, ${s.minutes} min mixed | Callboard${s.errors ? ` (${s.errors} failed)` : ''} | ${f(s.requestsPerSecond)} | | | ${f(s.secondMinuteMiB, 0)} -> ${f(s.lastMinuteMiB, 0)} | ` +
        `slope ${f(s.slopeMiBPerMinute, 2)} MiB/min | flat: ${s.flat ? 'met' : 'NOT met'} |`,
    );
  }
  for (const failure of report.failures)
    lines.push(`| ${failure.scenario} | FAILED: ${failure.error.split('\n')[0]!.replaceAll('|', '/')} | | | | | | NOT met |`);
  return lines.join('\n');
}
