/**
 * Scenario 5 (--soak only): mixed load on one Callboard instance for several minutes (webhooks, page reads,
 * searches, and a few WebSocket subscribers), the server's RSS sampled every 5 s. Memory must be flat: the
 * last minute's mean within 10% of the second minute's (the first is warm-up), checked against the slope too.
 */
import { fork } from 'node:child_process';
import { orderDelivery } from '../../support/deliveries.ts';
import { runLoad } from '../lib/load.ts';
import type { ServerProcess } from '../lib/proc.ts';
import { CALLBOARD_PAGE, CALLBOARD_SEARCH } from '../lib/documents.ts';
import { WEBHOOK_SECRET } from './http.ts';

export interface SoakResult {
  minutes: number;
  requests: number;
  requestsPerSecond: number;
  errors: number;
  samples: { seconds: number; rssMiB: number }[];
  secondMinuteMiB: number;
  lastMinuteMiB: number;
  slopeMiBPerMinute: number;
  flat: boolean;
}

export async function soakScenario(server: ServerProcess, minutes: number, runId: string): Promise<SoakResult> {
  const subscribers = fork('bench/subscribers.ts', [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve) => {
    subscribers.on('message', (message: any) => message.type === 'connected' && resolve());
    subscribers.send({ type: 'start', urls: [server.url], count: 50 });
  });
  const template = JSON.stringify(orderDelivery('__ORDER__', [{ id: '__ORDER___a0', result: 'human', turns: 50 }], 0));
  let sequence = 0;
  const json = { 'content-type': 'application/json', accept: 'application/json' };
  const samples: { seconds: number; rssMiB: number }[] = [];
  const started = Date.now();
  const sampler = setInterval(() => samples.push({ seconds: (Date.now() - started) / 1000, rssMiB: server.rssMiB() }), 5_000);
  try {
    const result = await runLoad('soak', {
      url: server.url,
      connections: 8,
      duration: minutes * 60,
      requests: [
        {
          method: 'POST',
          path: `/webhooks/revox?token=${WEBHOOK_SECRET}`,
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => ({ ...request, body: template.replaceAll('__ORDER__', `soak_${runId}_${sequence++}`) }),
        },
        { method: 'POST', path: '/graphql', headers: json, body: JSON.stringify({ query: CALLBOARD_PAGE }) },
        { method: 'POST', path: '/graphql', headers: json, body: JSON.stringify({ query: CALLBOARD_SEARCH }) },
      ],
    });
    const mean = (from: number, to: number) => {
      const window = samples.filter((s) => s.seconds >= from && s.seconds < to);
      return window.reduce((sum, s) => sum + s.rssMiB, 0) / Math.max(1, window.length);
    };
    const total = minutes * 60;
    const secondMinuteMiB = mean(60, 120);
    const lastMinuteMiB = mean(total - 60, total + 10);
    const tail = samples.filter((s) => s.seconds >= 60);
    const mx = tail.reduce((s, p) => s + p.seconds, 0) / tail.length;
    const my = tail.reduce((s, p) => s + p.rssMiB, 0) / tail.length;
    const slope =
      tail.reduce((s, p) => s + (p.seconds - mx) * (p.rssMiB - my), 0) /
      Math.max(
        1e-9,
        tail.reduce((s, p) => s + (p.seconds - mx) ** 2, 0),
      );
    return {
      minutes,
      requests: result.requests.total,
      requestsPerSecond: result.requests.average,
      errors: result.errors + result.timeouts + result.non2xx,
      samples,
      secondMinuteMiB,
      lastMinuteMiB,
      slopeMiBPerMinute: slope * 60,
      flat: lastMinuteMiB <= secondMinuteMiB * 1.1,
    };
  } finally {
    clearInterval(sampler);
    subscribers.send({ type: 'stop' });
  }
}
