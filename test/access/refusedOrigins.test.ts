/**
 * A refused page sees only "Failed to fetch", so the server logs each refused origin with the setting that would
 * allow it: one line per origin per minute, whatever the transport (a preflight, a request, a WebSocket upgrade),
 * and never the request's token.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { upgradeStatus } from '../../support/subscriptions.ts';

const TOKEN = 'refused-origins-token-0123456789';
const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.dispose();
});

async function serverWith(overrides: Parameters<typeof startTestServer>[0]) {
  const server = await startTestServer(overrides);
  servers.push(server);
  return server;
}

const refusals = (server: TestServer) => server.logs.map((line) => JSON.parse(line)).filter((line) => line.event === 'http.origin_refused');

function preflight(server: TestServer, origin: string) {
  return fetch(`${server.url}/graphql`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
  });
}

function post(server: TestServer, origin: string) {
  return fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { origin, authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ callStats { attempts } }' }),
  });
}

describe('a refused origin', () => {
  it('is logged once a minute, with the CORS_ORIGINS that would allow it, in open mode', async () => {
    const server = await serverWith({});
    expect((await preflight(server, 'https://app.example.com')).status).toBe(403);
    expect(refusals(server)).toEqual([
      {
        time: expect.any(String),
        level: 'warn',
        event: 'http.origin_refused',
        reason: 'without API_TOKENS or an API key, only loopback pages may call the API',
        count: 1,
        origin: 'https://app.example.com',
        allow: 'CORS_ORIGINS=https://app.example.com',
      },
    ]);

    // The same origin again, by any way in, within the minute: nothing more.
    expect((await preflight(server, 'https://app.example.com')).status).toBe(403);
    expect((await post(server, 'https://app.example.com')).status).toBe(403);
    expect(await upgradeStatus(server.url, { origin: 'https://app.example.com' })).toBe(403);
    expect(refusals(server)).toHaveLength(1);

    // Another origin has a line of its own; an allowed one has none.
    expect((await post(server, 'http://localhost:5173')).status).toBe(200);
    expect((await post(server, 'https://other.example')).status).toBe(403);
    expect(refusals(server).map((line) => line.origin)).toEqual(['https://app.example.com', 'https://other.example']);
    expect(server.logs.join('\n')).not.toContain(TOKEN);
  });

  it('names the list that would allow it when CORS_ORIGINS is set, and says when nothing would', async () => {
    const server = await serverWith({ apiTokens: [TOKEN], corsOrigins: ['https://dashboard.example'] });
    expect(await upgradeStatus(server.url, { origin: 'https://APP.example.com:443' })).toBe(403);
    expect((await post(server, 'null')).status).toBe(403);
    expect(refusals(server)).toMatchObject([
      {
        reason: 'not in CORS_ORIGINS',
        origin: 'https://app.example.com',
        allow: 'CORS_ORIGINS=https://dashboard.example,https://app.example.com',
      },
      { reason: 'not the origin of an http or https page', origin: 'null', allow: 'nothing: serve the page over http(s)' },
    ]);
    expect(server.logs.join('\n')).not.toContain(TOKEN);
  });
});
