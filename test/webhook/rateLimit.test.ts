/** Wrong webhook tokens are limited per client address; the right token from elsewhere is never held up. */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientKey, FAILED_TOKEN_LIMITS, FailedTokenLimiter } from '../../src/webhook/rateLimit.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { startTestServer, WEBHOOK_SECRET, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

/** POSTs a delivery from the loopback address `from` (Linux routes all of 127.0.0.0/8 to the loopback). */
function deliverFrom(from: string, token: string, body: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: any }> {
  const url = new URL(`${server.url}/webhooks/revox?token=${encodeURIComponent(token)}`);
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: JSON.parse(text) }));
    });
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

describe('wrong webhook tokens', () => {
  it(`after ${FAILED_TOKEN_LIMITS.maxFailures} from one address, 429 without checking the token until the window passes`, async () => {
    const archived = () => server.database.prisma.webhookDelivery.count();
    const rowsBefore = await archived();
    let sequence = 0;
    const valid = () => orderDelivery(`call_limited_${++sequence}`, [{ id: `att_limited_${sequence}` }], 0);

    // Successes in between never count.
    for (let i = 0; i < FAILED_TOKEN_LIMITS.maxFailures; i++) {
      expect((await deliverFrom('127.0.0.1', 'wrong-token', valid())).status).toBe(401);
      if (i % 5 === 0) expect((await deliverFrom('127.0.0.1', WEBHOOK_SECRET, valid())).status).toBe(200);
    }
    const successes = Math.ceil(FAILED_TOKEN_LIMITS.maxFailures / 5);

    for (const token of ['wrong-token', WEBHOOK_SECRET]) {
      const limited = await deliverFrom('127.0.0.1', token, valid());
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('too_many_failed_tokens');
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(FAILED_TOKEN_LIMITS.windowMs / 1000);
    }

    // Another address is not held up by this one.
    expect((await deliverFrom('127.0.0.2', WEBHOOK_SECRET, valid())).status).toBe(200);
    // Only the deliveries with the right token, not refused, were archived.
    expect(await archived()).toBe(rowsBefore + successes + 1);
    expect(server.logs.join('\n')).not.toContain('wrong-token');
  });
});

describe('FailedTokenLimiter', () => {
  const limits = { maxFailures: 3, windowMs: 60_000, maxClients: 100 };

  it('lets a client try again once its window has passed', () => {
    const limiter = new FailedTokenLimiter(limits);
    for (let i = 0; i < 3; i++) limiter.recordFailure('192.0.2.1', 1_000 + i);
    expect(limiter.retryAfterSeconds('192.0.2.1', 2_000)).toBe(59);
    expect(limiter.retryAfterSeconds('192.0.2.1', 60_999)).toBe(1);
    expect(limiter.retryAfterSeconds('192.0.2.1', 61_000)).toBe(0);
    limiter.recordFailure('192.0.2.1', 61_000);
    expect(limiter.retryAfterSeconds('192.0.2.1', 61_001)).toBe(0);
  });

  it('tracks at most maxClients addresses, dropping expired windows first, then the oldest', () => {
    const limiter = new FailedTokenLimiter(limits);
    for (let i = 0; i < 100; i++) limiter.recordFailure(`198.51.100.${i}`, 0);
    for (let i = 0; i < 3; i++) limiter.recordFailure('203.0.113.7', 30_000);
    expect(limiter.size).toBe(100);
    for (let i = 0; i < 1_000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`, 70_000 + i);
    expect(limiter.size).toBe(100);
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped address as IPv4', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
  });
});
