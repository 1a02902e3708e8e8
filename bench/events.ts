/**
 * npm run bench:events [-- --subscribers 1000 --deliveries 100 --interval 50]
 *
 * Latency from a webhook's 200 to the callCompleted event at every graphql-ws subscriber, with many subscribers on
 * one instance. The baseline, measured in the same run and the same process, is a GET /health round trip: the cost
 * of any message over loopback here. PGlite by default; a PostgreSQL server with DATABASE_URL.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { orderDelivery } from '../support/deliveries.ts';
import { startTestServer } from '../support/server.ts';
import { waitFor, wsClient } from '../support/subscriptions.ts';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '200' },
    deliveries: { type: 'string', default: '60' },
    interval: { type: 'string', default: '50' },
  },
});
const subscribers = Number(values.subscribers);
const deliveries = Number(values.deliveries);
const intervalMs = Number(values.interval);

const server = await startTestServer({ maxWebSocketConnections: subscribers + 10 });
const clients = Array.from({ length: subscribers }, () => wsClient(server.url));
/** Receipt times per attempt id, one entry per subscriber. */
const received = new Map<string, number[]>();
for (const client of clients) {
  client.subscribe(
    { query: 'subscription { callCompleted { attempt { revoxId result } callOrder { revoxId } } }' },
    {
      next: (result: any) => {
        const id = result.data.callCompleted.attempt.revoxId as string;
        const times = received.get(id) ?? [];
        times.push(performance.now());
        received.set(id, times);
      },
      error: (error) => console.error('subscription error', error),
      complete: () => {},
    },
  );
}
await waitFor(() => server.events.subscriberCount() === subscribers);
console.log(`${subscribers} subscribers connected; sending ${deliveries} webhooks, one every ${intervalMs} ms.`);

const latencies: number[] = [];
const answeredAt = new Map<string, number>();
const pending: Promise<void>[] = [];
for (let i = 0; i < deliveries; i++) {
  const id = `events_${i}_a0`;
  pending.push(
    server.deliver(orderDelivery(`events_${i}`, [{ id, result: 'human', turns: 10 }], 0)).then((response) => {
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
      answeredAt.set(id, performance.now());
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
  process.stdout.write(`\r${i + 1}/${deliveries} webhooks sent`);
}
await Promise.all(pending);
await waitFor(() => [...answeredAt.keys()].every((id) => (received.get(id)?.length ?? 0) === subscribers));
for (const [id, answered] of answeredAt) for (const at of received.get(id)!) latencies.push(Math.max(0, at - answered));

const health: number[] = [];
for (let i = 0; i < 200; i++) {
  const start = performance.now();
  await (await fetch(`${server.url}/health`)).text();
  health.push(performance.now() - start);
}
const pct = (samples: number[], p: number) =>
  [...samples].sort((a, b) => a - b)[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
process.stdout.write('\n');
console.table([
  {
    measure: `webhook 200 -> event at each of ${subscribers} subscribers`,
    'p50 ms': pct(latencies, 0.5).toFixed(1),
    'p99 ms': pct(latencies, 0.99).toFixed(1),
  },
  { measure: 'baseline: GET /health round trip', 'p50 ms': pct(health, 0.5).toFixed(2), 'p99 ms': pct(health, 0.99).toFixed(2) },
  {
    measure: 'ratio event / baseline',
    'p50 ms': (pct(latencies, 0.5) / pct(health, 0.5)).toFixed(1),
    'p99 ms': (pct(latencies, 0.99) / pct(health, 0.99)).toFixed(1),
  },
]);
console.log(`Server RSS: ${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MiB (server and clients share this process)`);
for (const client of clients) await client.dispose();
await server.dispose();
