/**
 * Which pages may call the API. Open mode (no API_TOKENS) answers only loopback pages and loopback Host names, so
 * neither another site nor DNS rebinding can read it; with tokens any origin may call, never with credentials, unless
 * CORS_ORIGINS narrows the list. GraphiQL may not be framed, and is sent compressed.
 */
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { upgradeStatus } from '../../support/subscriptions.ts';

const QUERY = JSON.stringify({ query: '{ callStats { attempts } }' });
const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.dispose();
});

async function serverWith(overrides: Parameters<typeof startTestServer>[0]) {
  const server = await startTestServer(overrides);
  servers.push(server);
  return server;
}

/** A request with the Host and Origin headers a browser (or an attacker's page) would send. */
function request(server: TestServer, options: { method?: string; host?: string; headers?: Record<string, string>; body?: string }) {
  const { port } = new URL(server.url);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/graphql',
        method: options.method ?? 'POST',
        headers: { host: options.host ?? `127.0.0.1:${port}`, 'content-type': 'application/json', ...options.headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString('latin1') }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body ?? (options.method === 'GET' || options.method === 'OPTIONS' ? undefined : QUERY));
  });
}

describe('open mode (no API_TOKENS)', () => {
  it('answers loopback pages, with CORS headers and never credentials', async () => {
    const server = await serverWith({});
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:5173', 'http://[::1]:8080']) {
      const response = await request(server, { headers: { origin } });
      expect(response.status, origin).toBe(200);
      expect(response.headers['access-control-allow-origin']).toBe(origin);
      expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('refuses pages of other sites, over HTTP and WebSocket', async () => {
    const server = await serverWith({});
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'null', 'file://']) {
      const response = await request(server, { headers: { origin } });
      expect(response.status, origin).toBe(403);
      expect(response.body).not.toContain('"data"');
      expect(JSON.parse(response.body).errors[0].extensions.code).toBe('ORIGIN_NOT_ALLOWED');
      expect(await upgradeStatus(server.url, { origin }), origin).toBe(403);
    }
    const preflight = await request(server, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
  });

  it('refuses a Host name that is not loopback (DNS rebinding), over HTTP and WebSocket', async () => {
    const server = await serverWith({});
    const { port } = new URL(server.url);
    for (const host of [`rebind.evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      const response = await request(server, { host });
      expect(response.status, host).toBe(403);
      expect(JSON.parse(response.body).errors[0].extensions.code).toBe('HOST_NOT_ALLOWED');
      expect(await upgradeStatus(server.url, { host }), host).toBe(403);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect((await request(server, { host })).status, host).toBe(200);
    }
    // The page's own origin is always allowed, including a page of GraphiQL itself.
    expect((await request(server, { headers: { origin: `http://127.0.0.1:${port}` } })).status).toBe(200);
  });
});

describe('with API tokens', () => {
  const token = 'origins-token-0123456789';

  it('any origin may call with a token, and the answer allows no credentials', async () => {
    const server = await serverWith({ apiTokens: [token], host: '127.0.0.1' });
    const response = await request(server, { headers: { origin: 'https://dashboard.example', authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-credentials']).toBeUndefined();
    // Host names are not checked: behind a proxy the API answers to its public name.
    expect((await request(server, { host: 'callboard.example.com', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

    const preflight = await request(server, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://dashboard.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-headers']).toMatch(/authorization/);
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('CORS_ORIGINS narrows the list, for HTTP and WebSocket', async () => {
    const server = await serverWith({ apiTokens: [token], corsOrigins: ['https://dashboard.example'] });
    const allowed = await request(server, { headers: { origin: 'https://dashboard.example', authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://dashboard.example');
    expect(allowed.headers.vary).toMatch(/Origin/);
    const refused = await request(server, { headers: { origin: 'https://other.example', authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(403);
    expect(await upgradeStatus(server.url, { origin: 'https://other.example' })).toBe(403);
    expect(await upgradeStatus(server.url, { origin: 'https://dashboard.example' })).toBe(101);
  });
});

describe('GraphiQL', () => {
  it('may not be framed, and is sent compressed', async () => {
    const server = await serverWith({});
    const identity = await request(server, { method: 'GET', headers: { accept: 'text/html' } });
    expect(identity.status).toBe(200);
    expect(identity.headers['x-frame-options']).toBe('DENY');
    expect(identity.headers['content-security-policy']).toBe("frame-ancestors 'none'");
    expect(identity.headers['content-encoding']).toBeUndefined();

    for (const encoding of ['gzip', 'br']) {
      const compressed = await request(server, { method: 'GET', headers: { accept: 'text/html', 'accept-encoding': encoding } });
      expect(compressed.headers['content-encoding']).toBe(encoding);
      expect(compressed.headers['x-frame-options']).toBe('DENY');
      expect(compressed.body.length).toBeLessThan(identity.body.length / 3);
    }
  });
});
