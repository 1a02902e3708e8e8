/** Real subscription clients for tests: graphql-ws over WebSocket, and Server-Sent Events over fetch. */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Subscription {
  /** Every result received so far. */
  results: any[];
  /** Resolves with the next result not yet taken, in order of arrival. */
  next(): Promise<any>;
  close(): Promise<void>;
}

/** Collects results in order; `next()` hands them out one at a time, waiting when none is pending. */
function collector() {
  const results: any[] = [];
  const waiting: ((value: any) => void)[] = [];
  let taken = 0;
  return {
    results,
    push(result: any) {
      results.push(result);
      const resolve = waiting.shift();
      if (resolve) resolve(results[taken++]);
    },
    next(): Promise<any> {
      if (taken < results.length) return Promise.resolve(results[taken++]);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

export function wsClient(baseUrl: string, token?: string, onClosed?: (event: { code: number; reason: string }) => void): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: false,
    // Tests watch the `closed` event instead of having the client print connection failures.
    onNonLazyError: () => {},
    on: { closed: (event) => onClosed?.(event as { code: number; reason: string }) },
  });
}

/** Subscribes over graphql-ws; resolves once the server has acknowledged the connection. */
export async function subscribeWs(client: Client, query: string, variables?: Record<string, unknown>): Promise<Subscription> {
  const { results, push, next } = collector();
  await new Promise<void>((resolve, reject) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
    client.on('closed', (event) => reject(new Error(`closed ${(event as { code: number }).code}`)));
  });
  const dispose = client.subscribe({ query, variables }, { next: push, error: (error) => push({ error }), complete: () => {} });
  return { results, next, close: async () => dispose() };
}

/** Subscribes over Server-Sent Events, as a browser's EventSource would (plus an Authorization header). */
export async function subscribeSse(baseUrl: string, query: string, variables?: Record<string, unknown>, token?: string) {
  const controller = new AbortController();
  const url = new URL(`${baseUrl}/graphql`);
  url.searchParams.set('query', query);
  if (variables) url.searchParams.set('variables', JSON.stringify(variables));
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: controller.signal,
  });
  const { results, push, next } = collector();
  let streamEnded: () => void = () => {};
  /** Resolves when the server ends the stream (or close() aborts it). */
  const ended = new Promise<void>((resolve) => (streamEnded = resolve));
  if (response.ok && response.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const message = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = message
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trim())
              .join('\n');
            if (message.startsWith('event: next') || (data && !message.startsWith('event: complete'))) push(JSON.parse(data));
          }
        }
      } catch {
        // Aborted by close().
      }
      streamEnded();
    })();
  }
  return { status: response.status, response, results, next, ended, close: async () => controller.abort() };
}

/** Polls until `condition` holds; the test's timeout bounds the wait. */
export async function waitFor(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** How a WebSocket upgrade to /graphql with these headers ends: its HTTP status when refused, 101 when accepted. */
export function upgradeStatus(baseUrl: string, headers: Record<string, string>): Promise<number> {
  return new Promise<number>((resolve) => {
    const socket = new WebSocket(`${baseUrl.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers });
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode!);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.terminate();
    });
    socket.on('error', () => {});
  });
}
