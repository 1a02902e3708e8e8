/**
 * Slowloris: connections that send their headers slowly, or never, are timed out, one address cannot hold more than
 * its share of waiting connections for long, and the server holds no more than HTTP_MAX_CONNECTIONS. Another address keeps
 * being answered throughout, and every kind of refusal is logged.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS, MAX_WAITING_PER_ADDRESS } from '../../src/http/connectionLimits.ts';
import { GRACE_MS } from '../../src/limits/waitingRoom.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const PARTIAL_HEADERS = 'GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n';

let server: TestServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.dispose();
  server = undefined;
});

/** A connection from `localAddress` that sends part of a request's headers and then nothing. */
function slowClient(port: number, localAddress = '127.0.0.1'): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    sockets.push(socket);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const closed = new Promise<string>((done) => socket.once('close', () => done(received)));
    socket.once('error', () => {});
    socket.once('connect', () => {
      socket.write(PARTIAL_HEADERS);
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

/** What the server sent before it closed the connection, or 'still open' after `ms`. */
function closedWithin(closed: Promise<string>, ms: number): Promise<string> {
  return Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), ms))]);
}

/** GET /ready from another loopback address than the slow clients'. */
function readyFrom(port: number, localAddress: string, agent: Agent | false = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/ready', localAddress, agent }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.setTimeout(5_000, () => req.destroy(new Error('no answer to /ready within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

const refusals = (logs: string[], reason: string) =>
  logs.filter((line) => line.includes('"event":"http.connection_refused"') && line.includes(`"reason":"${reason}"`));

describe('slow and idle connections', () => {
  it(`a connection that has not sent its headers within ${HEADERS_TIMEOUT_MS / 1000} s gets 408 and is closed, and that is logged`, async () => {
    server = await startTestServer();
    const { closed } = await slowClient(server.port);
    const answer = await closedWithin(closed, HEADERS_TIMEOUT_MS + 5_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(refusals(server.logs, 'request_timeout')).toHaveLength(1);
  });

  it(`past ${MAX_WAITING_PER_ADDRESS} waiting connections from one address, a newcomer takes the oldest idler's place; another address is still answered`, async () => {
    server = await startTestServer();
    const held = [];
    for (let i = 0; i < MAX_WAITING_PER_ADDRESS; i += 1) held.push(await slowClient(server.port));
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS));
    const newcomer = await slowClient(server.port);
    expect(await closedWithin(held[0]!.closed, 3_000)).toBe('');
    expect(refusals(server.logs, 'address_full')).toHaveLength(1);
    // The others are still held (until their header timeout), the newcomer too, and a dashboard elsewhere is served.
    expect(held.slice(1).every(({ socket }) => !socket.destroyed)).toBe(true);
    expect(newcomer.socket.destroyed).toBe(false);
    expect(await readyFrom(server.port, '127.0.0.2')).toBe(200);
  });

  it('a keep-alive connection counts once however many requests it carries', async () => {
    server = await startTestServer();
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < MAX_WAITING_PER_ADDRESS + 10; i += 1) {
        expect(await readyFrom(server.port, '127.0.0.1', keepAlive)).toBe(200);
      }
    } finally {
      keepAlive.destroy();
    }
    expect(await readyFrom(server.port, '127.0.0.1')).toBe(200);
    expect(refusals(server.logs, 'address_full')).toHaveLength(0);
  });

  it('beyond HTTP_MAX_CONNECTIONS a new connection is closed at once, and that is logged', async () => {
    server = await startTestServer({ maxHttpConnections: 16 });
    for (let i = 0; i < 16; i += 1) await slowClient(server.port, `127.0.1.${i + 1}`);
    const extra = await slowClient(server.port, '127.0.2.1');
    const answer = await closedWithin(extra.closed, 3_000);
    expect(answer).toBe('');
    expect(refusals(server.logs, 'server_full')).toHaveLength(1);
  });
});
