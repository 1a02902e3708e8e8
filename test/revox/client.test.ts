/** The Revox REST client against the local fake: paths, paging, retries, Retry-After, timeouts, and errors that name their cause. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRevoxClient,
  MAX_ANSWER_BYTES,
  RevoxAuthError,
  RevoxNotFoundError,
  RevoxResponseError,
  RevoxUnavailableError,
  type RevoxClientOptions,
} from '../../src/revox/client.ts';
import { waitFor } from '../../support/subscriptions.ts';
import { BROKEN_BODY_START, FAKE_API_KEY, restCall, startFakeRevox, type FakeRevox } from './fakeRevox.ts';

let revox: FakeRevox;
beforeAll(async () => {
  revox = await startFakeRevox();
  for (let i = 0; i < 25; i += 1) {
    revox.put(restCall(`call_client_${i}`, [{ id: `att_client_${i}` }], 0, { createdAt: new Date(Date.UTC(2026, 9, 1, 0, i)) }));
  }
});
afterAll(() => revox?.close());
beforeEach(() => {
  revox.requests.length = 0;
  revox.faults.length = 0;
  revox.lasting = null;
});

function client(overrides: Partial<RevoxClientOptions> = {}) {
  return createRevoxClient({
    apiKey: FAKE_API_KEY,
    baseUrl: revox.baseUrl,
    retrievePath: '/call/{id}',
    searchPath: '/call/search',
    searchMethod: 'POST',
    timeoutMs: 5_000,
    retry: { maxRetries: 3, baseDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  });
}

describe('retrieve and search', () => {
  it('reads one call by id', async () => {
    const call = await client().retrieveCall('call_client_3');
    expect(call).toMatchObject({ id: 'call_client_3', campaign: { id: 'camp_1', name: 'Autumn' } });
    expect(revox.requests).toMatchObject([{ method: 'GET', path: '/call/call_client_3' }]);
  });

  it.each(['POST', 'GET'] as const)('pages through search newest first with %s', async (searchMethod) => {
    const first = await client({ searchMethod }).searchCalls(0, 10);
    const last = await client({ searchMethod }).searchCalls(2, 10);
    expect(first.totalCount).toBe(25);
    expect(first.calls.map((call) => call.id).slice(0, 2)).toEqual(['call_client_24', 'call_client_23']);
    expect(last.calls.map((call) => call.id)).toEqual([
      'call_client_4',
      'call_client_3',
      'call_client_2',
      'call_client_1',
      'call_client_0',
    ]);
    expect(revox.requests.map((request) => [request.method, request.page])).toEqual([
      [searchMethod, 0],
      [searchMethod, 2],
    ]);
  });
});

describe('retries', () => {
  it('waits what Retry-After asks after a 429, then succeeds', async () => {
    revox.faults.push({ status: 429, retryAfter: '1' });
    expect((await client().retrieveCall('call_client_1')).id).toBe('call_client_1');
    expect(revox.requests).toHaveLength(2);
    // The back-off alone would be at most 20 ms.
    expect(revox.requests[1]!.at - revox.requests[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it.each([408, 409, 500, 502, 503])('retries a %i', async (status) => {
    revox.faults.push({ status }, { status });
    expect((await client().searchCalls(0, 5)).calls).toHaveLength(5);
    expect(revox.requests).toHaveLength(3);
  });

  it('retries an answer that does not come in time', async () => {
    revox.faults.push({ delayMs: 5_000 });
    expect((await client({ timeoutMs: 1_000 }).retrieveCall('call_client_2')).id).toBe('call_client_2');
    expect(revox.requests).toHaveLength(2);
  });

  it('gives up after the last retry, naming what went wrong', async () => {
    revox.lasting = { status: 500 };
    const error = await client()
      .retrieveCall('call_client_1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxUnavailableError);
    expect((error as Error).message).toBe('Revox did not answer GET /call/call_client_1 after 4 tries (last: HTTP 500)');
    expect(revox.requests).toHaveLength(4);

    revox.lasting = { delayMs: 2_000 };
    const slow = await client({ timeoutMs: 200, retry: { maxRetries: 1, baseDelayMs: 5 } })
      .retrieveCall('call_client_1')
      .catch((e: unknown) => e);
    expect((slow as Error).message).toBe(
      'Revox did not answer GET /call/call_client_1 after 2 tries (last: no complete answer within 200 ms (REVOX_TIMEOUT))',
    );
  });

  it('retries connection errors', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await client({ baseUrl: `http://127.0.0.1:${port}` })
      .retrieveCall('x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxUnavailableError);
    expect((error as Error).message).toMatch(/after 4 tries \(last: connection failed \(ECONNREFUSED\)\)$/);
  });
});

describe('errors that need a person', () => {
  it('a wrong key: RevoxAuthError naming REVOX_API_KEY, never the key, and no retry', async () => {
    const wrongKey = 'sk_live_wrong_key_do_not_print';
    const error = await client({ apiKey: wrongKey })
      .searchCalls(0, 10)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxAuthError);
    expect((error as Error).message).toBe('Revox refused the API key (HTTP 401 to POST /call/search): check REVOX_API_KEY');
    expect(JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack })).not.toContain(wrongKey);
    expect(revox.requests).toHaveLength(1);
  });

  it('a 403 says the key may not read calls', async () => {
    revox.faults.push({ status: 403 });
    await expect(client().retrieveCall('call_client_1')).rejects.toThrow(
      /HTTP 403 to GET \/call\/call_client_1\): check REVOX_API_KEY, and that the key may read calls/,
    );
  });

  it('an unknown call: RevoxNotFoundError naming it', async () => {
    const error = await client()
      .retrieveCall('call_nobody')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxNotFoundError);
    expect((error as Error).message).toMatch(/^Revox has no call "call_nobody" \(HTTP 404 to GET \/call\/call_nobody/);
  });

  it('a search path that does not exist: says the path is unconfirmed and which settings to change', async () => {
    const error = await client({ searchPath: '/calls/find' })
      .searchCalls(0, 10)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxNotFoundError);
    expect((error as Error).message).toMatch(/Revox has no POST \/calls\/find \(HTTP 404\).*set REVOX_SEARCH_PATH and REVOX_SEARCH_METHOD/);
  });

  it('another 4xx is not retried, and its answer is measured, not quoted', async () => {
    revox.faults.push({ status: 422 });
    const error = await client()
      .searchCalls(0, 10)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxResponseError);
    expect((error as Error).message).toBe(
      'Revox answered HTTP 422 to POST /call/search (21 bytes, not quoted: they may hold personal data)',
    );
    expect(revox.requests).toHaveLength(1);
  });
});

describe('a broken or hostile Revox', () => {
  const PHONE_NUMBER = '+33612345678';

  it('an answer that never ends is cut off past MAX_ANSWER_BYTES, not retried, with the cap and the length seen', async () => {
    revox.faults.push({ body: 'endless' });
    const error = await client({ timeoutMs: 5_000 })
      .retrieveCall('call_client_1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxResponseError);
    const message = (error as Error).message;
    const seen = Number(
      new RegExp(
        `^Revox's answer to GET /call/call_client_1 is larger than the ${MAX_ANSWER_BYTES} bytes read of an answer \\((\\d+) bytes seen\\)$`,
      ).exec(message)?.[1],
    );
    // Read in chunks: at most one past the cap.
    expect(seen).toBeGreaterThan(MAX_ANSWER_BYTES);
    expect(seen).toBeLessThan(MAX_ANSWER_BYTES + 1024 * 1024);
    expect(message).not.toContain(PHONE_NUMBER);
    expect(revox.requests).toHaveLength(1);
    // The connection is closed: the server stops sending.
    await waitFor(() => revox.requests[0]!.closed);
    expect(revox.requests[0]!.bytesSent).toBeLessThan(2 * MAX_ANSWER_BYTES);
  });

  it('an answer announced larger than MAX_ANSWER_BYTES is not read', async () => {
    const huge = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_ANSWER_BYTES + 1) });
      response.write('{"call": ');
    });
    await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = huge.address() as AddressInfo;
      await expect(client({ baseUrl: `http://127.0.0.1:${port}` }).retrieveCall('x')).rejects.toThrow(
        `Revox's answer to GET /call/x is larger than the ${MAX_ANSWER_BYTES} bytes read of an answer (Content-Length ${MAX_ANSWER_BYTES + 1})`,
      );
    } finally {
      huge.closeAllConnections();
      await new Promise((resolve) => huge.close(resolve));
    }
  });

  it('an answer that stalls mid-body is abandoned at the timeout, headers and body alike, with or without a signal', async () => {
    revox.faults.push({ body: 'stall' });
    expect((await client({ timeoutMs: 500 }).retrieveCall('call_client_2')).id).toBe('call_client_2');
    expect(revox.requests).toHaveLength(2);
    await waitFor(() => revox.requests[0]!.closed);

    revox.lasting = { body: 'stall' };
    const error = await client({ timeoutMs: 300, retry: { maxRetries: 1, baseDelayMs: 5 } })
      .retrieveCall('call_client_2', new AbortController().signal)
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Revox did not answer GET /call/call_client_2 after 2 tries (last: no complete answer within 300 ms (REVOX_TIMEOUT))',
    );
  });

  it("the caller's signal stops a request mid-body at once", async () => {
    revox.lasting = { body: 'stall' };
    const stop = new AbortController();
    const reading = client({ timeoutMs: 60_000 })
      .retrieveCall('call_client_2', stop.signal)
      .catch((e: unknown) => e);
    await waitFor(() => revox.requests.length === 1);
    stop.abort(new Error('stopping'));
    expect(((await reading) as Error).message).toBe('stopping');
    await waitFor(() => revox.requests[0]!.closed);
  });

  it('a truncated answer is described by position and length, never quoted', async () => {
    revox.faults.push({ body: 'truncated' });
    const error = await client()
      .retrieveCall('call_client_1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RevoxResponseError);
    const length = BROKEN_BODY_START.length;
    expect((error as Error).message).toBe(
      `Revox's answer to GET /call/call_client_1 is not JSON (invalid JSON at position ${length}, ${length} bytes)`,
    );
  });

  it('a redirect to another origin is not followed', async () => {
    const internal = await startFakeRevox();
    try {
      internal.put(restCall('call_FROM_INTERNAL', [{ id: 'att_from_internal' }], 0));
      revox.faults.push({ redirectTo: `${internal.baseUrl}/call/call_FROM_INTERNAL` });
      const error = await client()
        .retrieveCall('call_client_1')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RevoxResponseError);
      expect((error as Error).message).toBe(
        `Revox answered HTTP 307 to GET /call/call_client_1, a redirect to ${new URL(internal.baseUrl).origin}, another origin: ` +
          'not followed (check REVOX_BASE_URL)',
      );
      expect(internal.requests).toHaveLength(0);
    } finally {
      await internal.close();
    }
  });

  it('a redirect within the origin is followed, and the call must be the one asked for', async () => {
    revox.faults.push({ redirectTo: `${revox.baseUrl}/call/call_client_4` });
    expect((await client().retrieveCall('call_client_4')).id).toBe('call_client_4');
    revox.faults.push({ redirectTo: '/api/call/call_client_5' });
    await expect(client().retrieveCall('call_client_4')).rejects.toThrow(
      'Revox\'s answer to GET /call/call_client_4 is another call, not "call_client_4"',
    );
    expect(revox.requests.map((request) => request.path)).toEqual([
      '/call/call_client_4',
      '/call/call_client_4',
      '/call/call_client_4',
      '/call/call_client_5',
    ]);
  });
});
