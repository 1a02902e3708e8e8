/**
 * The fan-out scenario's subscribers, in a process of their own (forked with IPC by bench/scenarios/fanout.ts):
 * graphql-ws clients spread over the given server URLs, each subscribed to callCompleted. Receipt times are
 * wall-clock milliseconds (performance.timeOrigin + performance.now()), comparable with the parent's.
 *
 * Parent -> child: {type:'start', urls, count} | {type:'report', ids} | {type:'stop'}
 * Child -> parent: {type:'connected', count} | {type:'all-received', id} | {type:'report', receipts} | {type:'error', message}
 */
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

const QUERY = 'subscription { callCompleted { attempt { revoxId result } callOrder { revoxId } } }';
const now = () => performance.timeOrigin + performance.now();
const send = (message: unknown) => process.send!(message);

let clients: Client[] = [];
let total = 0;
const receipts = new Map<string, number[]>();

async function start(urls: string[], count: number) {
  total = count;
  let connected = 0;
  clients = Array.from({ length: count }, (_, i) =>
    createClient({
      url: `${urls[i % urls.length]!.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: (error) => send({ type: 'error', message: `connection failed: ${String((error as Error)?.message ?? error)}` }),
      on: { connected: () => (connected += 1) },
    }),
  );
  for (const client of clients) {
    client.subscribe(
      { query: QUERY },
      {
        next: (result: any) => {
          const at = now();
          const id = result.data?.callCompleted?.attempt?.revoxId as string | undefined;
          if (!id) return send({ type: 'error', message: JSON.stringify(result).slice(0, 300) });
          let times = receipts.get(id);
          if (!times) receipts.set(id, (times = []));
          times.push(at);
          if (times.length === total) send({ type: 'all-received', id });
        },
        error: (error) => send({ type: 'error', message: `subscription: ${JSON.stringify(error).slice(0, 300)}` }),
        complete: () => {},
      },
    );
  }
  while (connected < count) await new Promise((resolve) => setTimeout(resolve, 20));
  send({ type: 'connected', count: connected });
}

process.on('message', (message: any) => {
  if (message.type === 'start') void start(message.urls, message.count);
  if (message.type === 'report') {
    send({ type: 'report', receipts: Object.fromEntries((message.ids as string[]).map((id) => [id, receipts.get(id) ?? []])) });
  }
  if (message.type === 'stop') {
    void Promise.all(clients.map((client) => client.dispose())).then(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
