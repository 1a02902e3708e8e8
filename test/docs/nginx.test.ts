/**
 * The nginx configuration that docs/production.md gives, as an operator would use it: `nginx -t` loads it (Debian
 * 12's nginx 1.22 and newer), then nginx runs it on loopback ports in front of a real Callboard server, and each
 * promise of the guide holds: /metrics is not served publicly, GraphQL (HTTP and WebSocket) and the webhook pass,
 * the access log never holds the webhook token, port 80 redirects, the metrics listener keeps to its allow list.
 * Without nginx the file is skipped with a message, except in CI (CI=true), where it fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { orderDelivery } from '../../support/deliveries.ts';
import { startTestServer, WEBHOOK_SECRET, type TestServer } from '../../support/server.ts';
import { freePort } from '../../support/ports.ts';

const NGINX = [...(process.env.PATH ?? '').split(':'), '/usr/sbin']
  .map((directory) => path.join(directory, 'nginx'))
  .find((candidate) => existsSync(candidate));
const inCI = process.env.CI === 'true';
if (!NGINX && !inCI) console.warn('Skipping the nginx tests: nginx is not installed (apt-get install nginx to run them).');

const API_TOKEN = 'nginx-test-token-0123456789abcdef';
const SERVER_NAME = 'callboard.example.com';

/** A listen directive: its address (if any) and port are the machine's; the rest is the guide's. */
const LISTEN = /^(\s*listen\s+)(?:[\d.]+:)?(\d+)/gm;

/** Every ```nginx block of docs/production.md, in order. */
async function documentedConfigs(): Promise<string[]> {
  const guide = await readFile(new URL('../../docs/production.md', import.meta.url), 'utf8');
  return [...guide.matchAll(/^```nginx\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

/** A folder for nginx to run from: a self-signed certificate, logs and temporary files, all inside it. */
async function nginxPrefix(): Promise<string> {
  const prefix = await mkdtemp(path.join(tmpdir(), 'callboard-nginx-'));
  // nginx's workers run as nobody when the master is root: they must reach the temporary files.
  await chmod(prefix, 0o755);
  await mkdir(path.join(prefix, 'logs'));
  await mkdir(path.join(prefix, 'conf.d'));
  const openssl = spawnSync('openssl', [
    ...['req', '-x509', '-nodes', '-days', '1', '-subj', `/CN=${SERVER_NAME}`],
    ...['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
    ...['-keyout', path.join(prefix, 'privkey.pem'), '-out', path.join(prefix, 'fullchain.pem')],
  ]);
  if (openssl.status !== 0) throw new Error(`openssl failed: ${openssl.stderr}`);
  return prefix;
}

/** The documented configurations, made to run from `prefix`, with `rewrite` applied, under a minimal nginx.conf. */
async function writeConfig(prefix: string, configs: string[], rewrite: (config: string) => string = (config) => config) {
  for (const [index, config] of configs.entries()) {
    const local = config.replace(/\/etc\/letsencrypt\/live\/[^/]+\//g, `${prefix}/`).replace(/\/var\/log\/nginx\//g, `${prefix}/logs/`);
    await writeFile(path.join(prefix, 'conf.d', `${index}.conf`), rewrite(local));
  }
  const temporary = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${prefix}/${kind};`);
  await writeFile(
    path.join(prefix, 'nginx.conf'),
    `worker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/logs/error.log;\nevents {}\n` +
      `http {\n  ${temporary.join('\n  ')}\n  include ${prefix}/conf.d/*.conf;\n}\n`,
  );
  return ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'logs/error.log')];
}

async function waitForPort(port: number, nginx: ChildProcess): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    if (nginx.exitCode !== null) throw new Error(`nginx exited with ${nginx.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request to nginx as a client of callboard.example.com (over TLS unless `plain`); `pathAndQuery` is sent as is. */
function send(port: number, method: string, pathAndQuery: string, headers: Record<string, string> = {}, body?: string, plain = false) {
  const request = plain ? httpRequest : httpsRequest;
  return new Promise<Answer>((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: pathAndQuery,
        headers: { host: SERVER_NAME, ...headers },
        ...(plain ? {} : { servername: SERVER_NAME, rejectUnauthorized: false }),
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: text }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

describe.skipIf(!NGINX && !inCI)("docs/production.md's nginx configuration", () => {
  let prefix: string;
  let configs: string[];
  let nginxArgs: string[];
  let server: TestServer;
  /** The loopback port standing for each documented listen port (443, 80, 9180): nginx -t binds them too. */
  const ports = new Map<string, number>();

  beforeAll(async () => {
    expect(NGINX, "CI must install Debian's nginx (see .ci/run)").toBeTruthy();
    prefix = await nginxPrefix();
    configs = await documentedConfigs();
    server = await startTestServer({ apiTokens: [API_TOKEN], corsOrigins: ['https://dashboard.example.com'] });
    const serverAddress = new URL(server.url).host;
    for (const listen of configs.join('\n').matchAll(LISTEN)) ports.set(listen[2]!, await freePort());
    nginxArgs = await writeConfig(prefix, configs, (config) =>
      config
        .replace(LISTEN, (_, directive: string, port: string) => `${directive}127.0.0.1:${ports.get(port)}`)
        .replace(/\b(?:\d{1,3}\.){3}\d{1,3}:4000\b/g, serverAddress),
    );
  });
  afterAll(async () => {
    await server?.dispose();
    if (prefix) await rm(prefix, { recursive: true, force: true });
  });

  it('loads: nginx -t', () => {
    expect(configs.length).toBeGreaterThanOrEqual(3);
    const tested = spawnSync(NGINX!, ['-t', ...nginxArgs], { encoding: 'utf8' });
    expect(tested.stderr).toContain('test is successful');
    expect(tested.status).toBe(0);
  });

  describe('running in front of Callboard', () => {
    let nginx: ChildProcess;

    beforeAll(async () => {
      nginx = spawn(NGINX!, [...nginxArgs, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
      for (const port of ports.values()) await waitForPort(port, nginx);
    });
    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        nginx.kill('SIGTERM');
        await new Promise((resolve) => nginx.once('exit', resolve));
      }
    });
    it('keeps /metrics off the public address, in every spelling of its path', async () => {
      const authorization = `Bearer ${API_TOKEN}`;
      expect((await fetch(`${server.url}/metrics`, { headers: { authorization } })).status).toBe(200);
      for (const metricsPath of ['/metrics', '//metrics', '/%6Detrics', '/metrics?format=text']) {
        const answer = await send(ports.get('443')!, 'GET', metricsPath, { authorization });
        expect(answer.status, metricsPath).toBe(404);
        expect(answer.body, metricsPath).not.toContain('callboard_');
      }
    });

    it('passes GraphQL with the public Host, so a page of the same origin may call it', async () => {
      const answer = await send(
        ports.get('443')!,
        'POST',
        '/graphql',
        { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json', origin: `https://${SERVER_NAME}` },
        JSON.stringify({ query: '{ __typename }' }),
      );
      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ data: { __typename: 'Query' } });
    });

    it('passes WebSocket upgrades on /graphql', async () => {
      const socket = new WebSocket(`wss://127.0.0.1:${ports.get('443')}/graphql`, 'graphql-transport-ws', {
        rejectUnauthorized: false,
        headers: { host: SERVER_NAME },
      });
      const firstMessage = new Promise<unknown>((resolve, reject) => {
        socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())));
        socket.once('error', reject);
      });
      socket.once('open', () =>
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${API_TOKEN}` } })),
      );
      try {
        expect(await firstMessage).toEqual({ type: 'connection_ack' });
      } finally {
        socket.close();
      }
    });

    it('passes webhooks, and its access log never holds the token', async () => {
      const answer = await send(
        ports.get('443')!,
        'POST',
        `/webhooks/revox?token=${WEBHOOK_SECRET}`,
        { 'content-type': 'application/json' },
        JSON.stringify(orderDelivery('call_nginx', [{ id: 'att_nginx' }], 0)),
      );
      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ status: 'accepted', duplicate: false });
      // nginx writes the line once the response is sent; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const accessLog = await readFile(path.join(prefix, 'logs/callboard.access.log'), 'utf8');
      expect(accessLog).toContain('"POST /webhooks/revox HTTP/1.1" 200');
      expect(accessLog).not.toContain(WEBHOOK_SECRET);
    });

    it('redirects port 80 to HTTPS', async () => {
      const answer = await send(ports.get('80')!, 'GET', '/graphql', {}, undefined, true);
      expect(answer.status).toBe(301);
      expect(answer.headers.location).toBe(`https://${SERVER_NAME}/graphql`);
    });

    it('serves the metrics listener to its allow list only', async () => {
      const answer = await fetch(`http://127.0.0.1:${ports.get('9180')}/metrics`);
      expect(answer.status).toBe(403);
    });
  });
});
