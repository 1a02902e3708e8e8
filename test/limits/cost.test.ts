/** The cost model on the real schema: what each field and list counts. */
import { getIntrospectionQuery, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';
import {
  ASSUMED_LIST_SIZE,
  ASSUMED_TRANSCRIPT_TURNS,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  measureOperation,
  OPERATION_LIMITS,
} from '../../src/limits/index.ts';

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
    expect(measure('{ callOrders(first: 1000) { totalCount } }')?.pageSizeError?.message).toBe('first must be between 0 and 100, got 1000');
    expect(
      measure('query($n: Int) { callOrders(first: 1) { nodes { attempts(last: $n) { totalCount } } } }', { n: -1 })?.pageSizeError?.message,
    ).toBe('last must be between 0 and 100, got -1');
    expect(measure(`{ callOrders(first: ${MAX_PAGE_SIZE}, last: 0) { totalCount } }`)?.pageSizeError).toBeUndefined();
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

  it('counts nodes(ids:) once per id', () => {
    const ids = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `id${i}`));
    expect(cost(`{ nodes(ids: ${ids(3)}) { id } }`)).toBe(1 + 3);
    expect(cost('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: ['a', 'b', 'c', 'd'] })).toBe(1 + 4);
  });

  it('measures the operation asked for by name', () => {
    const document = 'query Small { callStats { attempts } } query Large { callOrders(first: 100) { nodes { revoxId } } }';
    expect(cost(document, undefined, 'Small')).toBe(2);
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
