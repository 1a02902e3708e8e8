/** GET /: a landing page for a person with a browser, linking where to go next, with no data and no secret. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestServer, WEBHOOK_SECRET, type TestServer } from '../../support/server.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

let server: TestServer;
beforeAll(async () => {
  // With API tokens configured: the page needs none, as it shows nothing stored.
  server = await startTestServer({ apiTokens: ['landing-token'] });
  expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);
});
afterAll(() => server?.dispose());

describe('GET /', () => {
  it('names the version and links GraphiQL, /health, /ready and the webhook path, with no data and no secret', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain(`Callboard <small>${version}</small>`);
    for (const link of ['/graphql', '/health', '/ready']) expect(html).toContain(`href="${link}"`);
    expect(html).toContain('POST /webhooks/revox?token=&lt;WEBHOOK_SECRET&gt;');

    const stored = fixture('outbound-attempt-2-human-completed');
    for (const secretOrData of [WEBHOOK_SECRET, 'landing-token', stored.call.id, stored.call.to_phone_number]) {
      expect(html).not.toContain(secretOrData);
    }
  });

  it('answers HEAD, refuses other methods, and leaves other unknown paths a JSON 404', async () => {
    expect((await fetch(`${server.url}/`, { method: 'HEAD' })).status).toBe(200);
    const post = await fetch(`${server.url}/`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const unknown = await fetch(`${server.url}/index.html`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
