/** The cost model on the real schema: what each field and list counts. */
import { getIntrospectionQuery, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';
import {
  AGGREGATE_STATEMENT_COST,
  ASSUMED_LIST_SIZE,
  ASSUMED_TRANSCRIPT_TURNS,
  DEFAULT_PAGE_SIZE,
  MAX_IDENTIFIER_LENGTH,
  MAX_NODE_IDS,
  MAX_PAGE_SIZE,
  MAX_SEARCH_TEXT_LENGTH,
  measureOperation,
  NODE_LOOKUP_COST,
  OPERATION_LIMITS,
} from '../../src/limits/index.ts';
import { MAX_SERIES_BUCKETS } from '../../src/read/stats.ts';

const MODEL = { defaultPageSize: DEFAULT_PAGE_SIZE, maxPageSize: MAX_PAGE_SIZE, assumedListSize: ASSUMED_LIST_SIZE };
const measure = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  measureOperation(schema, parse(query), operationName, variables, MODEL);
const cost = (query: string, variables?: Record<string, unknown>, operationName?: string) => measure(query, variables, operationName)?.cost;

describe('measureOperation', () => {
  it('counts every field once outside lists', () => {
    // callOrder, revoxId, lastAttempt, status.
    expect(cost('{ callOrder(revoxId: "x") { revoxId lastAttempt { status } } }')).toBe(4);
  });

  it('counts what a connection holds once per item: first, last, the smaller of both, or the default page size', () => {
    // callOrders, totalCount, nodes, and per node: revoxId.
    expect(cost('{ callOrders(first: 7) { totalCount nodes { revoxId } } }')).toBe(3 + 7);
    expect(cost('{ callOrders(last: 9) { nodes { revoxId } } }')).toBe(2 + 9);
    expect(cost('{ callOrders(first: 50, last: 4) { nodes { revoxId } } }')).toBe(2 + 4);
    expect(cost('{ callOrders { nodes { revoxId } } }')).toBe(2 + DEFAULT_PAGE_SIZE);
    // edges, and per edge: cursor, node, revoxId.
    expect(cost('{ callOrders(first: 5) { edges { cursor node { revoxId } } } }')).toBe(2 + 5 * 3);
  });

  it('multiplies nested lists', () => {
    const perAttempt = 1 + 1 + ASSUMED_TRANSCRIPT_TURNS; // revoxId, transcript, content per turn
    expect(cost('{ callOrders(first: 10) { nodes { attempts(first: 3) { nodes { revoxId transcript { content } } } } } }')).toBe(
      2 + 10 * (2 + 3 * perAttempt),
    );
    expect(
      cost(
        '{ callOrders(first: 100) { nodes { attempts(first: 100) { nodes { callOrder { attempts(first: 100) { nodes { revoxId } } } } } } } }',
      ),
    ).toBe(2 + 100 * (2 + 100 * (1 + 2 + 100)));
  });

  it('takes page sizes from variables, with their defaults', () => {
    const query = 'query($n: Int = 30) { callOrders(first: $n) { nodes { revoxId } } }';
    expect(cost(query)).toBe(2 + 30);
    expect(cost(query, { n: 60 })).toBe(2 + 60);
  });

  it('finds a page size out of range on any connection, whatever is selected under it', () => {
    expect(measure('{ callOrders(first: 1000) { totalCount } }')?.inputError?.message).toBe('first must be between 0 and 100, got 1000');
    expect(
      measure('query($n: Int) { callOrders(first: 1) { nodes { attempts(last: $n) { totalCount } } } }', { n: -1 })?.inputError?.message,
    ).toBe('last must be between 0 and 100, got -1');
    expect(measure(`{ callOrders(first: ${MAX_PAGE_SIZE}, last: 0) { totalCount } }`)?.inputError).toBeUndefined();
  });

  it('does not let a negative page size lower the cost of the rest of the operation', () => {
    const expensive = 'b: callOrders(first: 100) { nodes { attempts(first: 100) { nodes { revoxId } } } }';
    expect(cost(`{ a: callOrders(first: -1000000) { nodes { revoxId } } ${expensive} }`)).toBe(2 + cost(`{ ${expensive} }`)!);
  });

  it('counts a fragment each time it is spread, like the same selection written out', () => {
    const inline =
      '{ a: callAttempts(first: 10) { nodes { transcript { content } } } b: callOrders(first: 10) { nodes { lastAttempt { transcript { content } } } } }';
    const spread = `fragment T on CallAttempt { transcript { content } }
      { a: callAttempts(first: 10) { nodes { ...T } } b: callOrders(first: 10) { nodes { lastAttempt { ...T } } } }`;
    expect(cost(spread)).toBe(cost(inline));
    expect(cost('{ callOrders(first: 10) { ... on CallOrderConnection { nodes { revoxId } } } }')).toBe(2 + 10);
  });

  it('costs nested fragments once per use without computing them once per use', () => {
    // Each fragment spreads the previous one under two aliases: the cost doubles per level.
    const levels = 40;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === 0
        ? 'fragment F0 on CallOrder { revoxId }'
        : `fragment F${i} on CallOrder { a: lastAttempt { callOrder { ...F${i - 1} } } b: lastAttempt { callOrder { ...F${i - 1} } } }`,
    );
    expect(cost(`${fragments.join('\n')} { callOrder(revoxId: "x") { ...F${levels - 1} } }`)).toBeGreaterThan(2 ** levels);
  });

  it('counts nodes(ids:) once per id, and a lookup per id', () => {
    const ids = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `id${i}`));
    expect(cost(`{ nodes(ids: ${ids(3)}) { id } }`)).toBe(1 + 3 + 3 * NODE_LOOKUP_COST);
    expect(cost('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ['a', 'b', 'c', 'd'] })).toBe(1 + 4 + 4 * NODE_LOOKUP_COST);
    expect(cost('{ a: node(id: "x") { id } b: node(id: "y") { id } }')).toBe(2 * (2 + NODE_LOOKUP_COST));
  });

  it('counts the statement of each callStats and each series, so that 20 aliased series are refused', () => {
    expect(cost('{ callStats { attempts } }')).toBe(2 + AGGREGATE_STATEMENT_COST);
    expect(cost('{ callStats { series(bucket: DAY) { attempts } } }')).toBe(
      2 + AGGREGATE_STATEMENT_COST + MAX_SERIES_BUCKETS + AGGREGATE_STATEMENT_COST,
    );
    const series = Array.from({ length: 20 }, (_, i) => `s${i}: series(bucket: HOUR, timeZone: "Europe/Paris") { start }`).join(' ');
    expect(cost(`{ callStats { ${series} } }`)).toBeGreaterThan(OPERATION_LIMITS.maxCost);
  });

  it('counts a transcript search like an aggregate, so that 20 aliased searches are refused', () => {
    expect(cost('{ callAttempts(filter: { transcriptContains: "bonjour" }) { totalCount } }')).toBe(2 + AGGREGATE_STATEMENT_COST);
    expect(cost('{ callAttempts(filter: { phoneNumber: "+33612345678" }) { totalCount } }')).toBe(2);
    const searches = Array.from(
      { length: 20 },
      (_, i) => `s${i}: callAttempts(first: 0, filter: { transcriptContains: "%_" }) { totalCount }`,
    );
    expect(cost(`{ ${searches.join(' ')} }`)).toBeGreaterThan(OPERATION_LIMITS.maxCost);
  });

  it('refuses a nodes(ids:) with more ids than a page holds', () => {
    const ids = Array.from({ length: 15_000 }, (_, i) => `id${i}`);
    expect(measure('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids })?.inputError?.message).toBe(
      `ids may hold at most ${MAX_NODE_IDS} items, got 15000`,
    );
    expect(measure('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ids.slice(0, MAX_NODE_IDS) })?.inputError).toBeUndefined();
  });

  it('refuses a text argument longer than its limit, naming the argument and the limit, in variables or inline', () => {
    const search = '%_'.repeat(200_000);
    const searchQuery = 'query($text: String) { callAttempts(filter: { transcriptContains: $text }) { totalCount } }';
    expect(measure(searchQuery, { text: search })?.inputError?.message).toBe(
      `filter.transcriptContains may hold at most ${MAX_SEARCH_TEXT_LENGTH} characters, got 400000`,
    );
    expect(measure(searchQuery, { text: 'x'.repeat(MAX_SEARCH_TEXT_LENGTH) })?.inputError).toBeUndefined();
    const long = 'x'.repeat(MAX_IDENTIFIER_LENGTH + 1);
    for (const [query, name] of [
      [
        `{ callStats(filter: { transcriptContains: "${'a'.repeat(MAX_SEARCH_TEXT_LENGTH + 1)}" }) { attempts } }`,
        'filter.transcriptContains',
      ],
      [`{ callAttempts(filter: { phoneNumber: "${long}" }) { totalCount } }`, 'filter.phoneNumber'],
      [`{ callOrders(filter: { phoneNumber: "${long}" }) { totalCount } }`, 'filter.phoneNumber'],
      [`{ callOrder(revoxId: "${long}") { id } }`, 'revoxId'],
      [`{ callAttempt(revoxId: "${long}") { id } }`, 'revoxId'],
      [`{ callStats { series(bucket: DAY, timeZone: "${long}") { start } } }`, 'timeZone'],
    ] as const) {
      expect(measure(query)?.inputError?.message.startsWith(`${name} may hold at most `), query).toBe(true);
    }
  });

  it('measures the operation asked for by name', () => {
    const document = 'query Small { callStats { attempts } } query Large { callOrders(first: 100) { nodes { revoxId } } }';
    expect(cost(document, undefined, 'Small')).toBe(2 + AGGREGATE_STATEMENT_COST);
    expect(cost(document, undefined, 'Large')).toBe(2 + 100);
    expect(cost(document, undefined, 'Missing')).toBeUndefined();
  });

  it('counts introspection, whose lists are assumed to hold the default list size, and lets the full introspection through', () => {
    expect(cost('{ __schema { types { name } } }')).toBe(2 + ASSUMED_LIST_SIZE);
    expect(cost(getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }))).toBeLessThan(
      OPERATION_LIMITS.maxCost,
    );
    let nested = 'name';
    for (let i = 0; i < 6; i++) nested = `fields { type { ofType { ${nested} } } }`;
    expect(cost(`{ __type(name: "CallOrder") { ${nested} } }`)).toBeGreaterThan(OPERATION_LIMITS.maxCost);
  });
});
