/** The server as `npm start` runs it: start-up messages, the webhook secret, logs, and graceful shutdown. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { orderDelivery } from '../support/deliveries.ts';
import { exited, spawnServer, startServerProcess } from './helpers/process.ts';
import { deliver, fixture, graphql, rawExchange, startTestServer, WEBHOOK_SECRET } from '../support/server.ts';
import { freePort } from '../support/ports.ts';

const databases: TestDatabase[] = [];
async function freshDatabase() {
  const database = await createTestDatabase();
  databases.push(database);
  return { database, env: { DATA_DIR: database.dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) } };
}
afterAll(async () => {
  for (const database of databases) await database.dispose();
});

/** Every process started under `pid`, read from /proc (Linux). */
function descendantsOf(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}
/** The tables of a PostgreSQL database's public schema. */
async function tablesIn(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

const commandLineOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');

/**
 * Starts the server with a terminal for stdout, as `npm start` in a shell has (`script` provides it), and resolves
 * once its banner is out. Its own process group lets `stop` end the server inside `script`.
 */
async function startAtTerminal(env: Record<string, string>) {
  const child = spawn('script', ['-qfec', `${process.execPath} --import tsx src/main.ts`, '/dev/null'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', WEBHOOK_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited(child);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => /https:\/\/<your-public-host>\S*\r?\n/.test(output) && resolve());
      child.once('exit', () => reject(new Error(`exited before the banner:\n${output}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const banner = output.replace(/\r/g, '');
  return { banner, output: () => output, stop };
}

describe('start-up', () => {
  it('generates a webhook secret once, keeps it private in DATA_DIR, and never logs it', async () => {
    const { database, env } = await freshDatabase();
    const first = await startServerProcess({ ...env, WEBHOOK_SECRET: '' });
    const secretFile = path.join(database.dataDir, 'webhook-secret');
    const secret = (await readFile(secretFile, 'utf8')).trim();
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);

    expect((await deliver(first.url, fixture('outbound-attempt-1-voicemail'), { token: secret })).status).toBe(200);
    expect((await deliver(first.url, fixture('outbound-attempt-1-voicemail'), { token: WEBHOOK_SECRET })).status).toBe(401);
    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);

    // Logs are not a terminal: they say where the secret is, never what it is.
    const output = first.output();
    expect(output).toContain('"event":"webhook.url"');
    expect(output).toContain(`/webhooks/revox?token=<secret>`);
    expect(output).toContain(secretFile);
    expect(output).not.toContain(secret);

    // The same secret on the next start.
    const second = await startServerProcess({ ...env, WEBHOOK_SECRET: '' });
    expect((await deliver(second.url, fixture('outbound-attempt-2-human-completed'), { token: secret })).status).toBe(200);
    second.child.kill('SIGTERM');
    await exited(second.child);
  });

  it('shows a person at a terminal the webhook URL with its token, and says Revox needs a public HTTPS address', async () => {
    const { env } = await freshDatabase();
    const terminal = await startAtTerminal(env);
    try {
      const url = /GraphiQL: (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(terminal.banner)![1];
      expect(terminal.banner).toContain(`Webhook: ${url}/webhooks/revox?token=${WEBHOOK_SECRET}\n`);
      expect(terminal.banner).toContain('cannot reach this address: give it a public HTTPS address (a tunnel or a\n');
      expect(terminal.banner).toContain(`https://<your-public-host>/webhooks/revox?token=${WEBHOOK_SECRET}\n`);
    } finally {
      await terminal.stop();
    }
  });

  it('says at a terminal whether the API needs a key: open on a new database, required after npm run keys -- create', async () => {
    const { database, env } = await freshDatabase();
    const createKey = 'npm run keys -- create --name <name> --scope calls:read\n';
    const whileRunning = database.databaseUrl
      ? ''
      : '    (on the embedded database, stop the server first, or run the createApiKey mutation';

    const open = await startAtTerminal(env);
    await open.stop();
    expect(open.banner).toContain(
      '  API: open: no API key exists yet (nor API_TOKENS), so any program on this machine may call it without one.\n' +
        `    The first key closes it: ${createKey}${whileRunning}`,
    );
    expect(open.output()).toContain('"api":"open"');

    const keys = spawn(process.execPath, ['--import', 'tsx', 'scripts/keys.ts', 'create', '--name', 'first', '--scope', 'calls:read'], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    expect(await exited(keys)).toBe(0);

    const closed = await startAtTerminal(env);
    await closed.stop();
    expect(closed.banner).toContain(
      '  API: a key is required: send Authorization: Bearer <key> (in GraphiQL, in the Headers tab).\n' +
        `    New keys: ${createKey}${whileRunning}`,
    );
    expect(closed.output()).toContain('"api":"key required"');
  });

  it('npm start builds, then runs the compiled JavaScript: node dist/main.js, no TypeScript loader at run time', async () => {
    const { env } = await freshDatabase();
    const npm = spawn('npm', ['start'], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', WEBHOOK_SECRET, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        npm.stdout!.on('data', () => {
          const match = /"event":"server.listening","url":"([^"]+)"/.exec(output);
          if (match) resolve(match[1]!);
        });
        npm.once('exit', (code) => reject(new Error(`npm start exited with ${code} before listening:\n${output}`)));
      });
      const commandLines = descendantsOf(npm.pid!).map(commandLineOf);
      const server = commandLines.find((line) => /^\S*node /.test(line));
      expect(server, commandLines.join('\n')).toMatch(/ dist\/main\.js$/);
      expect(commandLines.join('\n')).not.toMatch(/tsx/);
      expect((await deliver(url, fixture('outbound-attempt-2-human-completed'))).status).toBe(200);
      const { body } = await graphql(url, '{ callOrders(first: 1) { nodes { revoxId } } }', undefined, WEBHOOK_SECRET);
      expect(body).toMatchObject({ data: { callOrders: { nodes: [{ revoxId: expect.any(String) }] } } });
    } finally {
      process.kill(-npm.pid!, 'SIGTERM');
      await exited(npm);
    }
  }, 180_000);

  it('says in one line that the port is in use, naming PORT, and exits 1 before creating or migrating a database', async () => {
    const { database, env } = await freshDatabase();
    // A DATA_DIR that does not exist yet, and a webhook secret to generate there: nothing may be created.
    const dataDir = path.join(database.dataDir, 'new');
    const occupier = createNetServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    const { port } = occupier.address() as AddressInfo;
    try {
      const child = spawnServer({ ...env, DATA_DIR: dataDir, WEBHOOK_SECRET: '', PORT: String(port) });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await exited(child)).toBe(1);
      expect(stderr).toBe(
        `Port ${port} is already in use on 127.0.0.1: stop the other process or set PORT=... (PORT=0 picks a free port).\n`,
      );
      expect(existsSync(dataDir)).toBe(false);
      if (database.databaseUrl) expect(await tablesIn(database.databaseUrl)).toEqual([]);
    } finally {
      await new Promise((resolve) => occupier.close(resolve));
    }
  });

  it('holds its port from the start, answering 503 with Retry-After until its database is up', async () => {
    const { env } = await freshDatabase();
    const port = await freePort();
    const child = spawnServer({ ...env, PORT: String(port) });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // The first answer comes while the server loads and migrates (seconds): the socket is open before that starts.
      let first: Response | undefined;
      while (!first) {
        first = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => undefined);
        if (!first) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // A WebSocket is refused the same way, not left hanging.
      const upgrade = await rawExchange(
        port,
        `GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n',
      );
      expect(output).not.toContain('"event":"server.listening"');
      expect(first.status).toBe(503);
      expect(first.headers.get('retry-after')).toBe('5');
      expect(await first.json()).toMatchObject({ status: 'error', error: { code: 'starting' } });
      expect(upgrade.head).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(upgrade.closedByServer).toBe(true);

      await new Promise<void>((resolve) => child.stdout!.on('data', () => output.includes('"event":"server.listening"') && resolve()));
      expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
  });

  it('refuses to start with a bad configuration, naming the variable', async () => {
    // Whether the API would be open depends on the database too (no API key created yet).
    const { env } = await freshDatabase();
    const child = spawnServer({ ...env, HOST: '0.0.0.0', API_TOKENS: '' });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exited(child)).toBe(2);
    expect(stderr).toMatch(/Configuration error: HOST=0.0.0.0 .*API_TOKENS/);
  });
});

describe('logs', () => {
  it('are one JSON object per line with a request id, and carry no token, secret or transcript', async () => {
    const server = await startTestServer();
    try {
      const custom = fixture('inbound-custom-llm-with-api-key');
      await server.deliver(custom);
      await server.deliver(custom);
      await server.deliver(fixture('outbound-attempt-2-human-completed'), { headers: { 'x-request-id': 'trace-42' } });
      await server.deliver({ call: { id: 'x' } });
      await server.deliver(custom, { token: 'a-wrong-token-that-must-not-be-logged' });

      const lines = server.logs.map((line) => JSON.parse(line));
      const deliveries = lines.filter((line) => line.event === 'webhook.delivery');
      expect(deliveries.map((line) => line.status)).toEqual([200, 200, 200, 422, 401]);
      expect(deliveries.every((line) => typeof line.requestId === 'string' && line.requestId.length > 0)).toBe(true);
      expect(deliveries[2].requestId).toBe('trace-42');

      const all = server.logs.join('\n');
      for (const forbidden of [
        WEBHOOK_SECRET,
        'a-wrong-token-that-must-not-be-logged',
        custom.call.llm_model.api_key,
        'order 7781',
        'Saint-Éloi',
      ]) {
        expect(all).not.toContain(forbidden);
      }
    } finally {
      await server.dispose();
    }
  });
});

describe('a short webhook secret', () => {
  it('works, and the server warns about it without logging it', async () => {
    const server = await startTestServer({ webhookSecret: 'smoke-secret' });
    try {
      expect((await server.deliver(fixture('outbound-attempt-1-voicemail'), { token: 'smoke-secret' })).status).toBe(200);
      expect(server.logs.some((line) => line.includes('"event":"webhook.short_secret"'))).toBe(true);
      expect(server.logs.join('\n')).not.toContain('smoke-secret');
    } finally {
      await server.dispose();
    }
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM finishes in-flight deliveries, answers them 200, and exits 0', async () => {
    const { env } = await freshDatabase();
    const server = await startServerProcess(env);
    const inFlight = Array.from({ length: 24 }, (_, i) =>
      deliver(server.url, orderDelivery(`call_shutdown_${i}`, [{ id: `shutdown_${i}`, turns: 200 }], 0)),
    );
    // Ask it to stop once it is storing them: when the first is answered, the others are queued or being stored.
    // (A fixed pause was too short on a busy machine: nothing had reached the server yet.)
    await Promise.any(inFlight);
    server.child.kill('SIGTERM');
    const results = await Promise.allSettled(inFlight);
    expect(await exited(server.child)).toBe(0);
    expect(server.output()).toContain('"event":"server.stopped"');

    // Every request that reached the server before it stopped listening was answered 200 and is stored, whole.
    const answered = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ id: `call_shutdown_${i}`, status: r.value.status }] : []));
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every(({ status }) => status === 200)).toBe(true);
    const restarted = await startServerProcess(env);
    try {
      for (const { id } of answered) {
        const { body } = await graphql(
          restarted.url,
          `query($id: String!) { callOrder(revoxId: $id) { attempts { nodes { revoxId transcript { position } } } } }`,
          { id },
        );
        expect(body.errors, id).toBeUndefined();
        const [attempt] = body.data.callOrder.attempts.nodes;
        expect(attempt.revoxId, id).toBe(id.replace('call_', ''));
        expect(attempt.transcript, id).toHaveLength(200);
      }
    } finally {
      restarted.child.kill('SIGTERM');
      await exited(restarted.child);
    }
  });
});
