/** The Markdown summary of a run: every figure next to its baseline from the same run, and the target. */
import type { Report } from '../run.ts';

const f = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

export function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const d = report.dataSet;
  lines.push(
    `Scale ${report.scale} (${d.orders} orders, ${d.attempts} attempts, ${d.messages} transcript messages), ${report.date.slice(0, 16).replace('T', ' ')} UTC, ` +
      `PostgreSQL ${report.machine.postgres}, Node ${report.machine.node}, ${report.machine.cpus} CPUs; ` +
      `${report.timing.rounds} rounds of ${report.timing.roundSeconds} s per side after ${report.timing.warmupSeconds} s warm-up, medians over rounds.`,
  );
  lines.push('');
  lines.push('| scenario | side | req/s | p50 ms | p99 ms | peak RSS MiB | throughput vs baseline | target |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---|');
  for (const scenario of report.http) {
    const base = scenario.sides.find((side) => side.side === scenario.baseline);
    const callboard = scenario.sides.find((side) => side.side === 'Callboard');
    const postgraphile = scenario.sides.find((side) => side.side.startsWith('PostGraphile'));
    for (const side of scenario.sides) {
      const ratio = base ? side.requestsPerSecond / base.requestsPerSecond : NaN;
      let target = '';
      if (side === callboard && base) {
        if (scenario.scenario === 'ingest') target = `>= 0.5x baseline: ${ratio >= 0.5 ? 'met' : 'NOT met'}`;
        else {
          const vsPg = postgraphile ? side.requestsPerSecond / postgraphile.requestsPerSecond : NaN;
          target =
            `>= PostGraphile: ${postgraphile ? `${vsPg >= 1 ? 'met' : 'NOT met'} (${f(vsPg, 2)}x)` : 'n/a'}; ` +
            `within 2x of SQL: ${ratio >= 0.5 ? 'met' : 'NOT met'}`;
        }
      }
      const failed = side.errors > 0 ? ` (${side.errors} failed)` : '';
      lines.push(
        `| ${scenario.scenario} | ${side.side}${failed} | ${f(side.requestsPerSecond)} | ${f(side.p50Ms)} | ${f(side.p99Ms)} | ${f(side.peakRssMiB, 0)} | ` +
          `${side === base ? '1.00 (baseline)' : `${f(ratio, 2)}x`} | ${target} |`,
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
    lines.push(
      `| fan-out, ${fan.label} | Callboard: ${fan.subscribers} subscribers, webhook every ${fan.intervalMs} ms${problems.length ? ` (${problems.join('; ')})` : ''} | ` +
        `${fan.events} of ${(fan.deliveries - failedWebhooks) * fan.subscribers} events received | ${f(fan.p50Ms)} | ${f(fan.p99Ms)} | ${fan.peakRssMiB.map((r) => f(r, 0)).join(' + ')} | ` +
        `p50 ${f(fan.p50Ms / fan.healthP50Ms, 0)}x, p99 ${f(fan.p99Ms / fan.healthP99Ms, 0)}x GET /health | p99 < 100 ms: ${fan.p99Ms < 100 && fan.missing === 0 && failedWebhooks === 0 ? 'met' : 'NOT met'} |`,
    );
    lines.push(
      `| fan-out, ${fan.label} | baseline: GET /health round trip | | ${f(fan.healthP50Ms, 2)} | ${f(fan.healthP99Ms, 2)} | | 1.00 (baseline) | |`,
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
    lines.push(`| ${failure.scenario} | FAILED: ${failure.error.split('\n')[0]!.replaceAll('|', '/')} | | | | | | |`);
  return lines.join('\n');
}
