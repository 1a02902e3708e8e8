/**
 * A refusal names what needs the missing scope: the field (`CallAttempt.transcript`), or the argument when only the
 * argument does (`filter.transcriptContains`), so that nobody reads that the whole field is out of reach.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
let callsKey: string;

beforeAll(async () => {
  server = await startTestServer({ apiTokens: ['full-access-token-0123456789'] });
  callsKey = (await createKeyStore(server.database.prisma).create({ name: 'dashboard', scopes: ['calls:read'] })).key;
  expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);
});
afterAll(() => server?.dispose());

describe('a calls:read key', () => {
  it.each([
    ['callAttempts', '{ callAttempts(filter: { transcriptContains: "a" }) { totalCount } }'],
    ['callStats', '{ callStats(filter: { transcriptContains: "a" }) { attempts } }'],
  ])('searching transcripts in %s is refused for the argument, not the field', async (field, query) => {
    const { body } = await server.graphql(query, undefined, callsKey);
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      {
        message: 'filter.transcriptContains needs transcripts:read, which this API key lacks',
        locations: expect.any(Array),
        path: [field],
        extensions: { code: 'FORBIDDEN', missingScope: 'transcripts:read' },
      },
    ]);
  });

  it('may use the same fields with the rest of the filter', async () => {
    const { body } = await server.graphql(
      '{ callAttempts(filter: { result: [HUMAN] }) { totalCount } callStats(filter: { result: [HUMAN] }) { attempts } }',
      undefined,
      callsKey,
    );
    expect(body).toEqual({ data: { callAttempts: { totalCount: 1 }, callStats: { attempts: 1 } } });
  });

  it('reading a transcript is refused for the field', async () => {
    const { body } = await server.graphql('{ callAttempts { nodes { transcript { content } } } }', undefined, callsKey);
    expect(body.errors[0]).toMatchObject({
      message: 'CallAttempt.transcript needs transcripts:read, which this API key lacks',
      path: ['callAttempts', 'nodes', 0, 'transcript'],
      extensions: { code: 'FORBIDDEN', missingScope: 'transcripts:read' },
    });
  });
});
