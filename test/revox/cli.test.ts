/** `npm run sync` as a newcomer runs it: a child process against the fake Revox and the real database. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { backend, createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { redisServerPath, startRedis } from '../../support/redis.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/subscriptions.ts';
import { FAKE_API_KEY, restCall, startFakeRevox, type FakeRevox } from './fakeRevox.ts';

let revox: FakeRevox;
let database: TestDatabase;
let server: TestServer | undefined;
beforeAll(async () => {
  revox = await startFakeRevox();
  database = await createTestDatabase();
  for (let i = 0; i < 30; i += 1) {
    revox.put(restCall(`call_cli_${i}`, [{ id: `att_cli_${i}` }], 0, { createdAt: new Date(Date.UTC(2026, 9, 20) - i * 86_400_000) }));
  }
});
afterAll(async () => {
  await server?.dispose();
  await database?.dispose();
  await revox?.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sync(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/sync.ts', ...args], {
    env: {
      ...process.env,
      DATA_DIR: database.dataDir,
      DATABASE_URL: database.databaseUrl ?? '',
      REDIS_URL: '',
      REVOX_API_KEY: FAKE_API_KEY,
      REVOX_BASE_URL: revox.baseUrl,
      REVOX_SEARCH_PAGE_SIZE: '10',
      ...env,
    },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
  expect(result.stdout + result.stderr).not.toContain(FAKE_API_KEY);
  return result;
}

describe('npm run sync', () => {
  it('refuses bad arguments and a missing key, saying what to do', async () => {
    const none = await sync([]);
    expect(none).toMatchObject({ code: 2 });
    expect(none.stderr).toContain('Usage: npm run sync -- --since <date');
    const badDate = await sync(['--since', '1 October']);
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--since must be an ISO-8601 date-time');
    const noKey = await sync(['--all'], { REVOX_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('REVOX_API_KEY is not set');
  });

  it('a key Revox refuses: a clear message, exit code 3, and the key printed nowhere', async () => {
    const wrongKey = 'sk_live_this_key_is_wrong_42';
    const run = await sync(['--all'], { REVOX_API_KEY: wrongKey });
    expect(run.code).toBe(3);
    const finished = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(finished).toMatchObject({
      event: 'sync.finished',
      status: 'failed',
      lastError: 'Revox refused the API key (HTTP 401 to POST /call/search): check REVOX_API_KEY',
    });
    expect(run.stdout + run.stderr).not.toContain(wrongKey);
  });

  it.runIf(backend === 'pglite')('on the embedded database, says the server must be stopped while it runs', async () => {
    server = await startTestServer({}, database);
    const run = await sync(['--all']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Cannot sync: DATA_DIR ${database.dataDir} is in use by process ${process.pid}`);
    expect(run.stderr).toContain('Stop that process (the server');
    await server.stop();
    server = undefined;
  });

  it('imports since a date with JSON lines of progress, names what failed with exit code 1, and the calls are served', async () => {
    const broken = restCall('call_cli_broken', [{ id: 'att_cli_broken' }], 0, { createdAt: new Date(Date.UTC(2026, 9, 19, 12)) });
    broken.created_at = '2026-10-19T12:00:00+02:00';
    broken.to_phone_number = '0612345678';
    revox.put(broken);
    // Created on October 1st at midnight, call_cli_19 is the oldest imported; call_cli_20 is older, on page 2.
    // On PostgreSQL it runs next to a running server; the embedded database needs the server stopped.
    if (backend === 'postgres') server = await startTestServer({}, database);

    const run = await sync(['--since', '2026-10-01']);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.slice(0, -1).map((line) => [line.event, line.page])).toEqual([
      ['sync.progress', 0],
      ['sync.progress', 1],
      ['sync.progress', 2],
    ]);
    expect(lines[0]).toMatchObject({ totalCount: 31, seen: 10, stored: 9, unchanged: 0, failed: 1, callsPerSecond: expect.any(Number) });
    expect(lines.at(-1)).toMatchObject({ event: 'sync.finished', status: 'completed', seen: 21, stored: 20, failed: 1 });
    expect(lines.at(-1).failures).toEqual([
      {
        revoxId: 'call_cli_broken',
        error: 'invalid_delivery: call.to_phone_number: must be an E.164 phone number such as +14155550123, got 10 characters',
      },
    ]);
    // The number is named nowhere, not even the wrong one.
    expect(run.stdout + run.stderr).not.toContain('0612345678');
    expect(run.code).toBe(1);

    server ??= await startTestServer({}, database);
    const api = await server.graphql(
      '{ callOrders(first: 1) { totalCount nodes { revoxId } } syncStatus { lastSync { status seen stored failed since } } }',
    );
    expect(api.body.data).toEqual({
      callOrders: { totalCount: 20, nodes: [{ revoxId: 'call_cli_0' }] },
      syncStatus: { lastSync: { status: 'COMPLETED', seen: 21, stored: 20, failed: 1, since: '2026-10-01T00:00:00.000Z' } },
    });
    expect(server.logs.join('\n')).not.toContain(FAKE_API_KEY);
  });

  it.skipIf(!redisServerPath)('with REDIS_URL, publishes the completions it imports where running servers listen', async () => {
    const redis = await startRedis();
    const listener = new Redis(redis.url);
    try {
      const published: string[] = [];
      listener.on('message', (_channel: string, message: string) => published.push(JSON.parse(message).callRevoxId));
      await listener.subscribe('callCompleted');
      await server?.stop();
      server = undefined;
      for (let i = 0; i < 3; i += 1)
        revox.put(restCall(`call_redis_${i}`, [{ id: `att_redis_${i}` }], 0, { createdAt: new Date(Date.UTC(2026, 10, 1, i)) }));

      const run = await sync(['--since', '2026-11-01'], { REDIS_URL: redis.url });
      expect(run.code).toBe(0);
      await waitFor(() => published.length >= 3);
      expect(published.sort()).toEqual(['call_redis_0', 'call_redis_1', 'call_redis_2']);
    } finally {
      listener.disconnect();
      await redis.stop();
    }
  });
});
