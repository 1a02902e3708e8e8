/** Who may read what, and how much one operation may ask for. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_LIMITS } from '../../src/limits/index.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';

const TOKENS = ['first-token-abcdef', 'second-token-123456'];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ apiTokens: TOKENS });
  await server.deliver(fixture('outbound-attempt-2-human-completed'));
});
afterAll(() => server?.dispose());

const ORDERS = '{ callOrders(first: 5) { totalCount nodes { revoxId } } }';

describe('API tokens', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'wrong-token'],
    ['a prefix of a valid token', TOKENS[0]!.slice(0, -1)],
    ['a valid token with a suffix', `${TOKENS[0]}x`],
  ])('%s: 401 and no data', async (_case, token) => {
    const { status, body } = await server.graphql(ORDERS, undefined, token);
    expect(status).toBe(401);
    expect(body.data).toBeUndefined();
    expect(body.errors[0]).toMatchObject({ message: expect.stringMatching(/API token/), extensions: { code: 'UNAUTHENTICATED' } });
  });

  it.each(TOKENS)('any configured token works: %s', async (token) => {
    const { status, body } = await server.graphql(ORDERS, undefined, token);
    expect(status).toBe(200);
    expect(body.data.callOrders.totalCount).toBe(1);
  });

  it('GET requests and other schemes are refused too', async () => {
    const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent(ORDERS)}`, { headers: { accept: 'application/json' } });
    expect(get.status).toBe(401);
    expect(get.headers.get('www-authenticate')).toBe('Bearer');
    const basic = await fetch(`${server.url}/graphql?query=${encodeURIComponent(ORDERS)}`, {
      headers: { accept: 'application/json', authorization: `Basic ${Buffer.from(`x:${TOKENS[0]}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    // A browser gets the GraphiQL page with the query filled in, not its result.
    const browser = await fetch(`${server.url}/graphql?query=${encodeURIComponent(ORDERS)}`, { headers: { accept: 'text/html' } });
    expect(browser.headers.get('content-type')).toMatch(/text\/html/);
    expect(await browser.text()).not.toContain('call_01JD8Q3T9Y7W5V3T1R9P7N5M3K');
  });

  it('the GraphiQL page itself loads without a token (it holds no data)', async () => {
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Callboard');
  });

  it('the webhook and health endpoints keep their own rules', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await server.deliver(fixture('outbound-attempt-1-voicemail'))).status).toBe(200);
  });
});

describe('limits', () => {
  const token = TOKENS[0];

  it(`refuses a query nested deeper than ${OPERATION_LIMITS.maxDepth}`, async () => {
    let selection = 'revoxId';
    for (let i = 0; i < 7; i++) selection = `callOrder { lastAttempt { ${selection} } }`;
    const { body } = await server.graphql(`{ callAttempts(first: 1) { nodes { ${selection} } } }`, undefined, token);
    expect(body.data).toBeUndefined();
    expect(body.errors[0].message).toMatch(/Query depth limit of 12 exceeded/);
  });

  it(`refuses more than ${OPERATION_LIMITS.maxAliases} aliases`, async () => {
    const aliases = Array.from({ length: OPERATION_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: callStats { attempts }`).join(' ');
    const { body } = await server.graphql(`{ ${aliases} }`, undefined, token);
    expect(body.errors[0].message).toMatch(/Aliases limit of 20 exceeded/);
  });

  it('refuses a query whose cost is too high', async () => {
    const fields = 'revoxId phoneNumber status result startedAt endedAt durationSeconds transcript { role content toolName }';
    const heavy = Array.from(
      { length: 6 },
      (_, i) =>
        `o${i}: callOrders(first: 100) { nodes { attempts(first: 100) { nodes { ${fields} callOrder { attempts(first: 100) { nodes { ${fields} } } } } } } }`,
    ).join(' ');
    const { body } = await server.graphql(`{ ${heavy} }`, undefined, token);
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions).toMatchObject({ code: 'OPERATION_TOO_EXPENSIVE', maxCost: OPERATION_LIMITS.maxCost });
  });

  it('does not suggest field names to someone probing the schema', async () => {
    const { body } = await server.graphql('{ callOrdr(revoxId: "x") { id } }', undefined, token);
    expect(body.errors[0].message).not.toMatch(/Did you mean/);
  });

  it('refuses a page larger than the maximum, on nested connections too', async () => {
    const { body } = await server.graphql('{ callOrders(first: 1) { nodes { attempts(first: 500) { totalCount } } } }', undefined, token);
    expect(body.errors[0].message).toBe('first must be between 0 and 100, got 500');
  });

  it('masks unexpected errors: no stack, no SQL, no internals', async () => {
    // A well-formed but unknown global id makes the node resolver fail inside Pothos.
    const { body } = await server.graphql('{ node(id: "bm90LWEtdHlwZToxMjM=") { id } }', undefined, token);
    expect(body.errors).toHaveLength(1);
    const text = JSON.stringify(body.errors);
    expect(text).not.toMatch(/stack|at \w+ \(|SELECT|prisma|node_modules/i);
  });
});
