/**
 * GraphQL over HTTP conformance: graphql-http's audit suite run against the real server, once with the API open
 * and once with API tokens configured (every audit request then carries a valid token). Every audit has to pass,
 * SHOULD and MAY included, as in Yoga's own audit test: the server passes them all, and a change that breaks one
 * must be seen.
 */
import { serverAudits, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.ts';

const setups = [
  { title: 'with the API open (no API tokens)', apiTokens: [] as string[], token: undefined },
  { title: 'with API tokens configured, sending a valid token', apiTokens: ['audit-token'], token: 'audit-token' },
];

describe.each(setups)('GraphQL over HTTP audits $title', ({ apiTokens, token }) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ apiTokens });
  });
  afterAll(() => server?.dispose());

  /** Every audit request, with the Authorization header added when a token is in play. */
  const fetchWithToken: typeof fetch = (input, init) => {
    if (token === undefined) return fetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };

  const audits = serverAudits({ url: () => `${server.url}/graphql`, fetchFn: fetchWithToken });

  for (const audit of audits) {
    it(audit.name, async () => {
      const result = await audit.fn();
      expect(result.status, failure(result)).toBe('ok');
    });
  }
});

function failure(result: AuditResult): string {
  return result.status === 'ok' ? '' : `${result.id}: ${result.reason}`;
}
