/**
 * Scenario 4: subscription fan-out. Subscribers in a separate process (bench/subscribers.ts); a webhook every
 * `intervalMs`; latency from each webhook's 200 to its receipt at every subscriber; the server's peak RSS.
 * The baseline, measured in the same run on the same server: a GET /health round trip over loopback.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { orderDelivery } from '../../support/deliveries.ts';
import { cpuSecondsOf, type ServerProcess } from '../lib/proc.ts';
import { WEBHOOK_SECRET } from './http.ts';

export interface FanoutResult {
  instances: number;
  subscribers: number;
  deliveries: number;
  intervalMs: number;
  events: number;
  missing: number;
  /** Webhooks not answered 200 during the measured run (their events are not expected), by status. */
  webhookFailures: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  healthP50Ms: number;
  healthP99Ms: number;
  peakRssMiB: number[];
  /** CPU seconds used from the first measured webhook until the last event arrived (or the wait ended). */
  cpuSeconds: { servers: number[]; subscribers: number; wallSeconds: number };
  subscribersConnectSeconds: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const now = () => performance.timeOrigin + performance.now();

class Subscribers {
  child: ChildProcess;
  private listeners: ((message: any) => void)[] = [];
  errors: string[] = [];
  constructor() {
    this.child = fork('bench/subscribers.ts', [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: any) => {
      if (message.type === 'error' && this.errors.length < 20) this.errors.push(message.message);
      for (const listener of [...this.listeners]) listener(message);
    });
  }
  on(listener: (message: any) => void) {
    this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }
  waitFor(type: string, timeoutMs: number): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`subscribers: no ${type} within ${timeoutMs} ms (${this.errors.join('; ')})`));
      }, timeoutMs);
      const off = this.on((message) => {
        if (message.type === type) {
          clearTimeout(timer);
          off();
          resolve(message);
        }
      });
    });
  }
  send(message: unknown) {
    this.child.send(message as never);
  }
  async stop() {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

async function post(url: string, body: string): Promise<number> {
  const response = await fetch(`${url}/webhooks/revox?token=${WEBHOOK_SECRET}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await response.text();
  return response.status;
}

async function deliver(url: string, body: string) {
  const status = await post(url, body);
  if (status !== 200) throw new Error(`webhook answered ${status}`);
}

export async function fanoutScenario(options: {
  servers: ServerProcess[];
  subscribers: number;
  deliveries: number;
  intervalMs: number;
  runId: string;
  label: string;
}): Promise<FanoutResult> {
  const { servers, subscribers, deliveries, intervalMs, runId, label } = options;
  const target = servers[0]!;
  const subs = new Subscribers();
  try {
    const connectStart = performance.now();
    const connected = subs.waitFor('connected', 120_000);
    subs.send({ type: 'start', urls: servers.map((s) => s.url), count: subscribers });
    await connected;
    const subscribersConnectSeconds = (performance.now() - connectStart) / 1000;

    // graphql-ws gives no acknowledgement of a subscription: probe with deliveries until every subscriber gets one.
    const allReceived = new Set<string>();
    subs.on((message) => message.type === 'all-received' && allReceived.add(message.id));
    const body = (id: string) => JSON.stringify(orderDelivery(id, [{ id: `${id}_a0`, result: 'human', turns: 10 }], 0));
    for (let probe = 0; ; probe++) {
      const id = `fanout_${runId}_${label}_probe_${probe}`;
      await deliver(target.url, body(id));
      const deadline = Date.now() + 2_000;
      while (!allReceived.has(`${id}_a0`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      if (allReceived.has(`${id}_a0`)) break;
      if (probe >= 30) throw new Error(`not every subscriber receives events (${subs.errors.join('; ')})`);
    }

    for (const server of servers) server.resetPeak();
    const cpuBefore = [...servers.map((server) => cpuSecondsOf(server.pid)), cpuSecondsOf(subs.child.pid!)];
    const answeredAt = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const webhookFailures: Record<string, number> = {};
    const started = performance.now();
    for (let i = 0; i < deliveries; i++) {
      const id = `fanout_${runId}_${label}_${i}`;
      const payload = body(id);
      pending.push(
        post(target.url, payload).then(
          (status) => {
            if (status === 200) answeredAt.set(`${id}_a0`, now());
            else webhookFailures[status] = (webhookFailures[status] ?? 0) + 1;
          },
          (error: Error) => void (webhookFailures[error.message] = (webhookFailures[error.message] ?? 0) + 1),
        ),
      );
      // Keep the schedule: sleep until the next slot, not a fixed 50 ms after the send.
      const next = started + (i + 1) * intervalMs;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
      if (process.stderr.isTTY)
        process.stderr.write(`\r\x1b[Kfan-out ${label}: ${i + 1}/${deliveries} webhooks sent, ${allReceived.size} fully received`);
    }
    await Promise.all(pending);
    const deadline = Date.now() + 30_000;
    while ([...answeredAt.keys()].some((id) => !allReceived.has(id)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const peakRssMiB = servers.map((server) => server.peakRssMiB());
    const cpuAfter = [...servers.map((server) => cpuSecondsOf(server.pid)), cpuSecondsOf(subs.child.pid!)];
    const used = cpuAfter.map((after, i) => after - cpuBefore[i]!);
    const cpuSeconds = { servers: used.slice(0, -1), subscribers: used.at(-1)!, wallSeconds: (performance.now() - started) / 1000 };

    const reportPromise = subs.waitFor('report', 60_000);
    subs.send({ type: 'report', ids: [...answeredAt.keys()] });
    const { receipts } = (await reportPromise) as { receipts: Record<string, number[]> };
    const latencies: number[] = [];
    let missing = 0;
    for (const [id, answered] of answeredAt) {
      const times = receipts[id] ?? [];
      missing += subscribers - times.length;
      // An event may reach a subscriber before the webhook's 200 reaches the sender: that counts as 0.
      for (const at of times) latencies.push(Math.max(0, at - answered));
    }
    latencies.sort((a, b) => a - b);

    const health: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      await (await fetch(`${target.url}/health`)).text();
      health.push(performance.now() - start);
    }
    health.sort((a, b) => a - b);
    return {
      instances: servers.length,
      subscribers,
      deliveries,
      intervalMs,
      events: latencies.length,
      missing,
      webhookFailures,
      p50Ms: pct(latencies, 0.5),
      p99Ms: pct(latencies, 0.99),
      maxMs: latencies.at(-1) ?? NaN,
      healthP50Ms: pct(health, 0.5),
      healthP99Ms: pct(health, 0.99),
      peakRssMiB,
      cpuSeconds,
      subscribersConnectSeconds,
    };
  } finally {
    await subs.stop();
  }
}
