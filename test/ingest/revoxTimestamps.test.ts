import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/ingest/revoxTimestamps.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

describe('parseTimestamp', () => {
  it.each([
    ['2024-01-01T12:00:00Z', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01T12:00:00.123456Z', '2024-01-01T12:00:00.123Z'],
    ['2024-01-01T14:00:00+02:00', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01T07:00:00-0500', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01T13:00+01', '2024-01-01T12:00:00.000Z'],
    ['2024-01-01 12:00:00Z', '2024-01-01T12:00:00.000Z'],
    [1704110400, '2024-01-01T12:00:00.000Z'],
    [1704110400.5, '2024-01-01T12:00:00.500Z'],
    [1704110400123, '2024-01-01T12:00:00.123Z'],
  ])('reads %s', (input, iso) => {
    expect((parseTimestamp(input) as Date).toISOString()).toBe(iso);
  });

  it.each([
    ['2024-01-01T12:00:00', /UTC offset/],
    ['2024-01-01', /UTC offset/],
    ['yesterday', /ISO-8601/],
    ['<unknown>', /ISO-8601/],
    ['2024-02-30T12:00:00Z', /not a valid date-time/],
    ['2024-13-01T12:00:00Z', /not a valid date-time/],
    [-5, /epoch/],
    [Number.NaN, /epoch/],
    [true, /ISO-8601 date-time string, an epoch number/],
    [{}, /ISO-8601 date-time string, an epoch number/],
  ])('rejects %s with a reason', (input, reason) => {
    expect(parseTimestamp(input)).toMatch(reason);
  });
});

describe('the GraphQL DateTime input reads date-times as the webhook does', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.dispose());

  const createdAfter = (value: string) =>
    server.graphql('query ($after: DateTime!) { callOrders(filter: { createdAfter: $after }) { totalCount } }', { after: value });

  it.each([
    ['an impossible date', '2026-02-30T00:00:00Z', /impossible date/],
    ['a 13th month', '2026-13-01T00:00:00Z', /impossible date/],
    ['a time without an offset', '2026-02-01T00:00:00', /UTC offset/],
  ])('refuses %s with a clear error', async (_name, value, reason) => {
    const response = await createdAfter(value);
    expect(response.body.data ?? null).toBeNull();
    expect(response.body.errors[0].message).toMatch(reason);
    // The same value in a literal goes through the other parsing path.
    const literal = await server.graphql(`{ callOrders(filter: { createdAfter: ${JSON.stringify(value)} }) { totalCount } }`);
    expect(literal.body.errors[0].message).toMatch(reason);
  });

  it('accepts the offsets the webhook accepts', async () => {
    for (const value of ['2026-02-28T00:00:00Z', '2026-02-28T01:00:00+01:00', '2026-02-28T01:00:00+0100', '2024-02-29 00:00:00Z']) {
      const response = await createdAfter(value);
      expect(response.body.errors, value).toBeUndefined();
      expect(response.body.data.callOrders.totalCount, value).toBe(0);
    }
  });
});
