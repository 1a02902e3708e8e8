/**
 * The pieces read filters are made of (src/read/filter.ts): the Prisma `where` and the SQL each gives for given
 * inputs, and which values the SQL selects when PostgreSQL (an in-memory PGlite) runs it. The differential test
 * (test/read/onePage.test.ts) checks whole filters, both forms against each other, through the server.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/db/generated/prisma/client.ts';
import { column, escapeLike, prismaWhere, rawValueCondition, sqlWhere, type Condition } from '../../src/read/filter.ts';

const ALL_KNOWN = ['human', 'voicemail', 'IVR'];
const STORED = ['human', 'voicemail', 'IVR', 'fax-machine', 'ios-screening-filter', null];

let database: PGlite;
beforeAll(async () => {
  database = await PGlite.create();
});
afterAll(() => database?.close());

/** The stored values of STORED (as `a.result`) that `condition` selects, in STORED's order. */
async function selected(condition: Prisma.Sql): Promise<(string | null)[]> {
  const rows = Prisma.join(
    STORED.map((value, index) => Prisma.sql`(${index}::int, ${value}::text)`),
    ', ',
  );
  const query = Prisma.sql`SELECT a.result FROM (VALUES ${rows}) AS a(position, result) WHERE ${condition} ORDER BY a.position`;
  const { rows: found } = await database.query<{ result: string | null }>(query.text, query.values);
  return found.map((row) => row.result);
}

const result = column('a', 'result');
const selection = (known: string[], other: boolean) => ({ known, other, allKnown: ALL_KNOWN });

describe('column', () => {
  it('is the alias and the column name, as SQL text with no parameter', () => {
    const sql = column('a', 'ended_at');
    expect(sql.text).toBe('a.ended_at');
    expect(sql.values).toEqual([]);
  });
});

describe('rawValueCondition', () => {
  it('matches the known values asked for', async () => {
    const condition = rawValueCondition('result', result, selection(['human', 'IVR'], false));
    expect(condition.prisma).toEqual({ OR: [{ result: { in: ['human', 'IVR'] } }] });
    expect(condition.sql.text).toBe('a.result IN ($1,$2)');
    expect(condition.sql.values).toEqual(['human', 'IVR']);
    expect(await selected(condition.sql)).toEqual(['human', 'IVR']);
  });

  it('with `other`, also matches every value that is not known', async () => {
    const condition = rawValueCondition('result', result, selection(['voicemail'], true));
    expect(condition.prisma).toEqual({ OR: [{ result: { in: ['voicemail'] } }, { result: { notIn: ALL_KNOWN } }] });
    expect(condition.sql.values).toEqual(['voicemail', ...ALL_KNOWN]);
    expect(await selected(condition.sql)).toEqual(['voicemail', 'fax-machine', 'ios-screening-filter']);
  });

  it('with `other` alone, matches only the values that are not known', async () => {
    const condition = rawValueCondition('result', result, selection([], true));
    expect(condition.prisma).toEqual({ OR: [{ result: { in: [] } }, { result: { notIn: ALL_KNOWN } }] });
    expect(condition.sql.text).toBe('(FALSE OR a.result NOT IN ($1,$2,$3))');
    expect(await selected(condition.sql)).toEqual(['fax-machine', 'ios-screening-filter']);
  });

  it('matches nothing when nothing is asked for', async () => {
    const condition = rawValueCondition('result', result, selection([], false));
    expect(condition.prisma).toEqual({ OR: [{ result: { in: [] } }] });
    expect(condition.sql.text).toBe('FALSE');
    expect(await selected(condition.sql)).toEqual([]);
  });

  it('never matches a null, whatever is asked for', async () => {
    const everything = rawValueCondition('result', result, selection(ALL_KNOWN, true));
    expect(await selected(everything.sql)).toEqual(STORED.filter((value) => value !== null));
  });
});

describe('prismaWhere and sqlWhere', () => {
  const human = rawValueCondition<object>('result', result, selection(['human'], false));
  const endedAfter: Condition<object> = {
    prisma: { endedAt: { gte: new Date('2026-01-01T00:00:00Z') } },
    sql: Prisma.sql`${column('a', 'ended_at')} >= ${'2026-01-01'}`,
  };

  it('need every condition to hold, in the order given, with the parameters in that order', () => {
    expect(prismaWhere([human, endedAfter])).toEqual({ AND: [human.prisma, endedAfter.prisma] });
    const sql = sqlWhere([human, endedAfter]);
    expect(sql.text).toBe('a.result IN ($1) AND a.ended_at >= $2');
    expect(sql.values).toEqual(['human', '2026-01-01']);
  });

  it('hold for every row when there is no condition', async () => {
    expect(prismaWhere([])).toEqual({ AND: [] });
    expect(sqlWhere([]).text).toBe('TRUE');
    expect(await selected(sqlWhere([]))).toEqual(STORED);
  });

  it('select the rows every condition selects', async () => {
    const known = rawValueCondition('result', result, selection(['human', 'voicemail'], false));
    const notHuman: Condition<object> = { prisma: {}, sql: Prisma.sql`${result} <> ${'human'}` };
    expect(await selected(sqlWhere([known, notHuman]))).toEqual(['voicemail']);
  });
});

describe('escapeLike', () => {
  it('escapes the LIKE wildcards and the escape character, and nothing else', () => {
    expect(escapeLike('50% off')).toBe('50\\% off');
    expect(escapeLike('a_b')).toBe('a\\_b');
    expect(escapeLike('back\\slash')).toBe('back\\\\slash');
    expect(escapeLike('%_\\%')).toBe('\\%\\_\\\\\\%');
    expect(escapeLike('Rendez-vous [à] 10h*')).toBe('Rendez-vous [à] 10h*');
    expect(escapeLike('')).toBe('');
  });

  it('makes a pattern that PostgreSQL matches literally', async () => {
    const texts = ['about 50% off', 'about 50 off', 'about 500 off', 'code a_b', 'code axb', 'back\\slash', 'backslash', 'Back\\Slash'];
    const matching = async (text: string) => {
      const { rows } = await database.query<{ text: string }>(
        `SELECT t AS text FROM unnest($1::text[]) WITH ORDINALITY AS u(t, n) WHERE t ILIKE '%' || $2::text || '%' ORDER BY n`,
        [texts, escapeLike(text)],
      );
      return rows.map((row) => row.text);
    };
    expect(await matching('50% off')).toEqual(['about 50% off']);
    expect(await matching('a_b')).toEqual(['code a_b']);
    expect(await matching('back\\slash')).toEqual(['back\\slash', 'Back\\Slash']);
    expect(await matching('')).toEqual(texts);
  });
});
