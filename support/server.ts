/** Starts the real server on a loopback port with a database of its own, and talks to it over HTTP. */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { loadConfig, type Config } from '../src/config.ts';
import { DONE_SETTING } from '../src/governance/scrubSecrets.ts';
import { createLogger } from '../src/log.ts';
import { startServer, type RunningServer, type ServerOptions } from '../src/server.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';

export interface TestServer extends RunningServer {
  /** Every log line the server wrote. */
  logs: string[];
  testDatabase: TestDatabase;
  /** POSTs a delivery to the webhook with the right token unless told otherwise. */
  deliver(body: unknown, options?: DeliverOptions): Promise<{ status: number; body: any; headers: Headers }>;
  /** POSTs a GraphQL operation to /graphql; `token` goes in an Authorization: Bearer header. */
  graphql(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; body: any }>;
  /** Stops the server and removes its database. */
  dispose(): Promise<void>;
}

export interface DeliverOptions {
  token?: string | null;
  headers?: Record<string, string>;
  /** A raw body, sent as is. */
  raw?: string | Buffer;
}

export async function startTestServer(
  overrides: Partial<Config> = {},
  testDatabase?: TestDatabase,
  options: Pick<ServerOptions, 'onQuery' | 'subscriberLimits' | 'oneStatementReads'> = {},
): Promise<TestServer> {
  const database = testDatabase ?? (await createTestDatabase());
  const logs: string[] = [];
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    dataDir: database.dataDir,
    databaseUrl: database.databaseUrl,
    webhookSecret: WEBHOOK_SECRET,
    ...overrides,
  };
  const server = await startServer(config, { ...options, logger: createLogger((line) => logs.push(line)) });
  return {
    ...server,
    logs,
    testDatabase: database,
    deliver: (body, deliverOptions) => deliver(server.url, body, deliverOptions),
    graphql: (query, variables, token) => graphql(server.url, query, variables, token),
    async dispose() {
      await server.stop();
      if (!testDatabase) await database.dispose();
    },
  };
}

export async function deliver(baseUrl: string, body: unknown, options: DeliverOptions = {}) {
  const token = options.token === undefined ? WEBHOOK_SECRET : options.token;
  const url = `${baseUrl}/webhooks/revox${token === null ? '' : `?token=${encodeURIComponent(token)}`}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: typeof options.raw === 'object' ? new Uint8Array(options.raw) : (options.raw ?? JSON.stringify(body)),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: response.status, body: parsed as any, headers: response.headers };
}

export async function graphql(baseUrl: string, query: string, variables?: Record<string, unknown>, token?: string) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** A fixture from test/fixtures, parsed afresh each time so a test may change it. */
export function fixture(
  name: 'outbound-attempt-1-voicemail' | 'outbound-attempt-2-human-completed' | 'inbound-custom-llm-with-api-key',
): any {
  return JSON.parse(readFileSync(new URL(`../test/fixtures/${name}.json`, import.meta.url), 'utf8'));
}

/** The stored state of an order without the ids and times that depend on when it was stored: for comparisons. */
export async function storedOrder(server: RunningServer, revoxId: string) {
  const order = await server.database.prisma.callOrder.findUnique({
    where: { revoxId },
    omit: { id: true, firstStoredAt: true, updatedAt: true },
    include: {
      attempts: {
        orderBy: { revoxId: 'asc' },
        omit: { id: true, callOrderId: true, firstStoredAt: true, updatedAt: true },
        include: { transcript: { orderBy: { position: 'asc' }, omit: { id: true, callAttemptId: true } } },
      },
    },
  });
  return order;
}

/** Sends `request` on a fresh connection; resolves with the response head and whether the server closed it. */
export function rawExchange(port: number, request: string): Promise<{ head: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const head = () => received.split('\r\n\r\n')[0] ?? '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ head: head(), closedByServer: false });
    }, 5_000);
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ head: head(), closedByServer: true });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(request);
  });
}

/**
 * Resolves once the server has scrubbed stored secrets, which it does once, in the background, at start: tests that
 * count statements must not count its.
 */
export async function secretsScrubbed(server: RunningServer): Promise<void> {
  const prisma = server.database.prisma;
  while (!(await prisma.setting.findUnique({ where: { name: DONE_SETTING } }))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
