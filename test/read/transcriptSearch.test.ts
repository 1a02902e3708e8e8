/**
 * Full-text search over transcripts against the real server and database: web-search syntax, accents, relevance
 * paging, highlights with UTF-16 offsets, scopes, hostile queries, and an index that every writer of a turn keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import { createTestDatabase } from '../../support/database.ts';
import { deliveryMaker } from '../../support/deliveries.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';
import { serversPerTest } from '../helpers/serversPerTest.ts';

let server: TestServer;
let callsKey: string;
const FULL_ACCESS = 'full-access-token-0123456789';
/** The shared server has keys, so every request carries a token. */
const gql = (query: string, variables?: Record<string, unknown>, token = FULL_ACCESS) => server.graphql(query, variables, token);
const make = deliveryMaker('fts');

/** Delivers one order whose only attempt has these turns; returns the attempt's Revox id. */
async function attemptSaying(target: TestServer, ...turns: string[]): Promise<string> {
  const delivery = make((d) => {
    d.call.last_call_attempt.transcript = turns.map((content, n) => ({ role: n % 2 ? 'user' : 'assistant', content }));
  });
  expect((await target.deliver(delivery)).status).toBe(200);
  return delivery.call_attempt.id;
}

let cancelled: string;
let emoji: string;
let longTurn: string;
const RANKED: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ apiTokens: [FULL_ACCESS] });
  callsKey = (await createKeyStore(server.database.prisma).create({ name: 'dashboard', scopes: ['calls:read'] })).key;
  for (const name of ['outbound-attempt-1-voicemail', 'outbound-attempt-2-human-completed'] as const) {
    expect((await server.deliver(fixture(name))).status).toBe(200);
  }
  cancelled = await attemptSaying(server, 'Bonjour.', 'Votre rendez-vous de jeudi est annulé, désolé.');
  emoji = await attemptSaying(server, '😀👍🏽 Il a dit : e\u0301te\u0301 à שלום עולם puis 🎉 Ça va.');
  longTurn = await attemptSaying(
    server,
    `${'Blabla sans intérêt. '.repeat(30)}Le mot caché est zanzibar, puis ${'encore du texte. '.repeat(30)}`,
  );
  // Twelve attempts that say "lorem" 1 to 12 times: relevance orders them by how often.
  for (let times = 1; times <= 12; times += 1) {
    RANKED.unshift(await attemptSaying(server, `${'lorem ipsum '.repeat(times)}dolor`, 'fin'));
  }
}, 120_000);
afterAll(() => server?.dispose());

async function search(filter: Record<string, unknown>, extra = '', token?: string) {
  const { body } = await gql(
    `query($filter: CallAttemptFilter) { callAttempts(first: 50, filter: $filter) { totalCount nodes { revoxId ${extra} } } }`,
    { filter },
    token,
  );
  return body;
}

async function found(query: string): Promise<string[]> {
  const body = await search({ transcriptMatches: query });
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return body.data.callAttempts.nodes.map((node: { revoxId: string }) => node.revoxId).sort();
}

const voicemail = () => fixture('outbound-attempt-1-voicemail').call_attempt.id as string;
const human = () => fixture('outbound-attempt-2-human-completed').call_attempt.id as string;

describe('transcriptMatches', () => {
  it('finds "rendez-vous -annulé" in the French fixtures, without the cancelled appointment', async () => {
    expect(await found('rendez-vous -annulé')).toEqual([voicemail(), human()].sort());
    expect(await found('rendez-vous')).toEqual([voicemail(), human(), cancelled].sort());
  });

  it('is case- and accent-insensitive, and reads "rendez vous" as the words of rendez-vous', async () => {
    expect(await found('ETES')).toEqual([voicemail()]);
    expect(await found('rendez vous annule')).toEqual([cancelled]);
    expect(await found('ete')).toEqual([emoji]);
  });

  it('wants every word, in any turns, and knows phrases and OR', async () => {
    // "messagerie" is in the voicemail's first turn, "rappellerai" in its second.
    expect(await found('messagerie rappellerai')).toEqual([voicemail()]);
    expect(await found('messagerie vendredi')).toEqual([]);
    expect(await found('messagerie OR vendredi')).toEqual([voicemail(), human()].sort());
    expect(await found('"plus tard"')).toEqual([voicemail()]);
    expect(await found('"tard plus"')).toEqual([]);
  });

  it('counts in callStats and totalCount alike', async () => {
    const { body } = await gql(
      '{ callStats(filter: { transcriptMatches: "lorem dolor" }) { attempts } callAttempts(filter: { transcriptMatches: "lorem" }) { totalCount } }',
    );
    expect(body.data).toEqual({ callStats: { attempts: 12 }, callAttempts: { totalCount: 12 } });
  });

  it.each([['""'], [''], ['   '], ['-'], ['"" - !']])('refuses %j, which has no word to search for', async (query) => {
    const body = await search({ transcriptMatches: query });
    expect(body.errors[0].message).toMatch(/has no word to search for/);
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it.each([['OR'], ["rendez-vous :* & | ! \\ ( ) <-> ' ;--"], ['"rendez-vous'], ['rendez-vous"'], ['-"rendez vous"']])(
    'answers %j without an error or a stall',
    async (query) => {
      const body = await search({ transcriptMatches: query });
      expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    },
  );

  it('refuses a 10,000-character query, naming the bound', async () => {
    const body = await search({ transcriptMatches: 'rendez '.repeat(1_430) });
    expect(body.data ?? null).toBeNull();
    expect(JSON.stringify(body.errors)).toContain('200');
  });

  it('needs transcripts:read, and a refusal names the argument', async () => {
    const body = await search({ transcriptMatches: 'rendez-vous' }, '', callsKey);
    expect(body.errors[0].message).toBe('filter.transcriptMatches needs transcripts:read, which this API key lacks');
  });
});

describe('RELEVANCE', () => {
  const PAGE = `query($first: Int, $after: String, $last: Int, $before: String) {
    callAttempts(first: $first, after: $after, last: $last, before: $before, orderBy: RELEVANCE, filter: { transcriptMatches: "lorem" }) {
      nodes { revoxId } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

  it('puts the best match first and holds across pages, forwards and backwards', async () => {
    const whole = (await gql(PAGE, { first: 50 })).body.data.callAttempts.nodes.map((n: any) => n.revoxId);
    expect(whole).toEqual(RANKED);
    const forward: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await gql(PAGE, { first: 5, after })).body.data.callAttempts;
      forward.push(...page.nodes.map((n: any) => n.revoxId));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(forward).toEqual(RANKED);
    const backward: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page: any = (await gql(PAGE, { last: 5, before })).body.data.callAttempts;
      backward.unshift(...page.nodes.map((n: any) => n.revoxId));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(backward).toEqual(RANKED);
  });

  it('breaks ties by end time, newest first', async () => {
    const { body } = await gql(
      '{ callAttempts(first: 50, orderBy: RELEVANCE, filter: { transcriptMatches: "fin" }) { nodes { revoxId } } }',
    );
    // Each of the twelve says "fin" once, and all ended at the same time: the last stored comes first.
    expect(body.data.callAttempts.nodes.map((n: any) => n.revoxId)).toEqual(RANKED);
  });

  it('is an error without transcriptMatches', async () => {
    const { body } = await gql('{ callAttempts(orderBy: RELEVANCE) { nodes { revoxId } } }');
    expect(body.errors[0].message).toMatch(/RELEVANCE .* filter\.transcriptMatches/);
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe('transcriptHighlights', () => {
  const highlights = async (revoxId: string, query: string, first = 3) => {
    const { body } = await gql(
      'query($id: String!, $q: String!, $first: Int) { callAttempt(revoxId: $id) { transcriptHighlights(query: $q, first: $first) { position role snippet matches { start end } } } }',
      { id: revoxId, q: query, first },
    );
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    return body.data.callAttempt.transcriptHighlights as {
      position: number;
      role: string;
      snippet: string;
      matches: { start: number; end: number }[];
    }[];
  };
  const marked = (h: { snippet: string; matches: { start: number; end: number }[] }) =>
    h.matches.map((m) => h.snippet.slice(m.start, m.end));

  it('marks the searched words of the matching turns, not the excluded ones', async () => {
    const [turn, ...rest] = await highlights(cancelled, 'rendez-vous jeudi -annulé');
    expect(rest).toEqual([]);
    expect(turn).toMatchObject({ position: 1, role: 'USER', snippet: 'Votre rendez-vous de jeudi est annulé, désolé.' });
    expect(marked(turn!)).toEqual(['rendez-vous', 'jeudi']);
    // Searched as two words, the compound's parts are what was searched for.
    const [asWords] = await highlights(cancelled, 'rendez vous');
    expect(marked(asWords!)).toEqual(['rendez', 'vous']);
  });

  it('gives UTF-16 offsets through emoji, combining accents and right-to-left text', async () => {
    const [turn] = await highlights(emoji, 'ete שלום va');
    expect(marked(turn!)).toEqual(['e\u0301te\u0301', 'שלום', 'va']);
  });

  it('cuts a long turn to a window around the first match, marking the cut ends', async () => {
    const [turn] = await highlights(longTurn, 'zanzibar');
    expect(turn!.snippet.length).toBeLessThanOrEqual(240);
    expect(turn!.snippet.startsWith('…')).toBe(true);
    expect(turn!.snippet.endsWith('…')).toBe(true);
    expect(marked(turn!)).toEqual(['zanzibar']);
  });

  it('ranks the turns holding the most searched words first, and stops at first', async () => {
    const list = await highlights(voicemail(), 'bonjour messagerie camille', 2);
    expect(list.map((h) => h.position)).toEqual([0, 1]);
    expect(await highlights(voicemail(), 'bonjour', 1)).toHaveLength(1);
    const { body } = await gql(
      `{ callAttempt(revoxId: "${voicemail()}") { transcriptHighlights(query: "bonjour", first: 21) { position } } }`,
    );
    expect(body.errors[0].message).toMatch(/between 0 and 20/);
  });

  it('is plain text: markup in a turn comes back as it was said', async () => {
    const id = await attemptSaying(server, 'Tapez <b>rendez-vous</b> & "oui"');
    const [turn] = await highlights(id, 'rendez-vous oui');
    expect(turn!.snippet).toBe('Tapez <b>rendez-vous</b> & "oui"');
    expect(marked(turn!)).toEqual(['rendez-vous', 'oui']);
  });

  it('reads the highlights of a whole page in one statement', async () => {
    const statements: string[] = [];
    const { serverWith } = serversPerTest();
    const counted = await serverWith({}, undefined, { onQuery: (sql) => statements.push(sql) });
    for (let n = 0; n < 4; n += 1) await attemptSaying(counted, `lorem ${n}`);
    statements.length = 0;
    const { body } = await counted.graphql(
      '{ callAttempts(first: 20, orderBy: RELEVANCE, filter: { transcriptMatches: "lorem" }) { nodes { transcriptHighlights(query: "lorem") { snippet } } } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.callAttempts.nodes.map((n: any) => n.transcriptHighlights[0].snippet).sort()).toEqual([
      'lorem 0',
      'lorem 1',
      'lorem 2',
      'lorem 3',
    ]);
    expect(statements.filter((sql) => sql.includes('ts_parse'))).toHaveLength(1);
  });

  it('needs transcripts:read', async () => {
    const { body } = await gql(
      `{ callAttempt(revoxId: "${voicemail()}") { transcriptHighlights(query: "bonjour") { snippet } } }`,
      undefined,
      callsKey,
    );
    expect(body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('the search index', () => {
  const { serverWith, cleanups } = serversPerTest();
  const matches = async (target: TestServer, query: string) =>
    (await target.graphql('query($q: String) { callAttempts(filter: { transcriptMatches: $q }) { totalCount } }', { q: query })).body.data
      .callAttempts.totalCount;

  it('follows every writer of a turn: an update, an erasure, a retention purge', async () => {
    const target = await serverWith({ retentionDays: 30 });
    const said = (content: string, phoneNumber: string) =>
      make((d) => {
        d.call.last_call_attempt.transcript = [{ role: 'user', content }];
        d.call.last_call_attempt.phone_number = phoneNumber;
        d.call.to_phone_number = phoneNumber;
      });
    for (const delivery of [
      said('zanzibar un', '+14155550123'),
      said('zanzibar deux', '+33612345678'),
      said('zanzibar trois', '+4930123456'),
    ]) {
      expect((await target.deliver(delivery)).status).toBe(200);
    }
    expect(await matches(target, 'zanzibar')).toBe(3);

    await target.database.prisma.$executeRaw`UPDATE transcript_messages SET content = 'autre chose' WHERE content = 'zanzibar un'`;
    expect(await matches(target, 'zanzibar')).toBe(2);
    expect(await matches(target, 'autre chose')).toBe(1);

    const erased = await target.graphql('mutation { eraseCalls(phoneNumber: "+33612345678") { callAttempts } }');
    expect(erased.body.data.eraseCalls.callAttempts).toBe(1);
    expect(await matches(target, 'zanzibar')).toBe(1);

    await target.database.prisma.$executeRaw`UPDATE call_attempts SET ended_at = now() - interval '45 days'`;
    await target.purgeExpired();
    expect(await matches(target, 'zanzibar OR autre')).toBe(0);
  });

  it('stores a transcript too long for a tsvector, and indexes its beginning', async () => {
    const target = await serverWith();
    const words = Array.from({ length: 120_000 }, (_, n) => `w${n.toString(36)}`).join(' ');
    await attemptSaying(target, `premier ${words}`);
    expect(await matches(target, 'premier')).toBe(1);
  });

  it('is read through the GIN index', async () => {
    const target = await serverWith();
    await attemptSaying(target, 'lorem');
    const plan = await target.database.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SET LOCAL enable_seqscan = off`;
      return tx.$queryRaw<{ 'QUERY PLAN': string }[]>`EXPLAIN SELECT id FROM call_attempts a
        WHERE a.transcript_search @@ websearch_to_tsquery(callboard_search_config(), unaccent('lorem'))`;
    });
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('call_attempts_transcript_search_idx');
  });

  it('stems with TRANSCRIPT_SEARCH_LANGUAGE, re-indexing what is stored when it changes', async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.dispose());
    const simple = await startTestServer({}, database);
    await attemptSaying(simple, 'She was calling about the deliveries');
    expect(await matches(simple, 'call delivery')).toBe(0);
    await simple.stop();
    const english = await serverWith({ transcriptSearchLanguage: 'english' }, database);
    expect(await matches(english, 'call delivery')).toBe(1);
    expect(english.logs.some((line) => line.includes('"event":"search.language_changed"'))).toBe(true);
  });

  it('refuses to start with a language the database does not have, naming those it has', async () => {
    await expect(serverWith({ transcriptSearchLanguage: 'klingon' })).rejects.toThrow(
      /TRANSCRIPT_SEARCH_LANGUAGE=klingon is not a text search configuration of this database; it has .*english/,
    );
  });

  it('gives the same page the Prisma way (a selection one statement cannot read)', async () => {
    const viaPrisma = await serverWith({}, undefined, { oneStatementReads: false });
    const ranked: string[] = [];
    for (let times = 1; times <= 4; times += 1) ranked.unshift(await attemptSaying(viaPrisma, 'lorem '.repeat(times)));
    const page = (after: string | null) =>
      viaPrisma.graphql(
        'query($after: String) { callAttempts(first: 3, after: $after, orderBy: RELEVANCE, filter: { transcriptMatches: "lorem" }) { totalCount nodes { revoxId } pageInfo { endCursor } } }',
        { after },
      );
    const first = (await page(null)).body.data.callAttempts;
    const second = (await page(first.pageInfo.endCursor)).body.data.callAttempts;
    expect(first.totalCount).toBe(4);
    expect([...first.nodes, ...second.nodes].map((n: any) => n.revoxId)).toEqual(ranked);
  });
});
