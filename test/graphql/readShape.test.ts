/**
 * The shape of rows a connection's selection reads (src/graphql/readShape.ts), on the real schema: which model
 * fields each GraphQL field reads, through edges, fragments and relations, and which selections get no shape (and
 * are read the Prisma way). The differential test (test/read/onePage.test.ts) checks that both ways give the same rows.
 */
import { execute, GraphQLObjectType, GraphQLSchema, parse, validate, type GraphQLResolveInfo } from 'graphql';
import { describe, expect, it } from 'vitest';
import { connectionShape } from '../../src/graphql/readShape.ts';
import { schema } from '../../src/graphql/schema.ts';
import type { ModelName, RowShape } from '../../src/read/onePage.ts';

/**
 * The real schema, but with root fields that hand back the resolve info they get instead of reading anything: the
 * types below the root (and the extensions readShape reads on them) are the real ones.
 */
const captured: GraphQLResolveInfo[] = [];
const capturing = (() => {
  const { query, types, ...config } = schema.toConfig();
  const queryConfig = query!.toConfig();
  const fields = Object.fromEntries(
    Object.entries(queryConfig.fields).map(([name, field]) => [
      name,
      { ...field, resolve: (_root: unknown, _args: unknown, _context: unknown, info: GraphQLResolveInfo) => void captured.push(info) },
    ]),
  );
  return new GraphQLSchema({
    ...config,
    types: types.filter((type) => type !== query),
    query: new GraphQLObjectType({ ...queryConfig, fields }),
  });
})();

/** The shape `connectionShape` gives the root field of `source`, a query valid against the real schema. */
function shapeOf(source: string, model: ModelName): RowShape | null {
  const document = parse(source);
  expect(validate(schema, document)).toEqual([]);
  captured.length = 0;
  void execute({ schema: capturing, document });
  expect(captured).toHaveLength(1);
  return connectionShape(captured[0]!, model);
}

const shape = (fields: string[], relations: RowShape['relations'] = {}): RowShape => ({ fields, relations });

describe('connectionShape', () => {
  it('reads the model fields that exposed fields show, in the order asked', () => {
    expect(shapeOf('{ callOrders { nodes { revoxId createdAt toPhoneNumber } } }', 'CallOrder')).toEqual(
      shape(['revoxId', 'createdAt', 'toPhoneNumber']),
    );
  });

  it('reads the id for the global id of a node', () => {
    expect(shapeOf('{ callOrders { nodes { id } } }', 'CallOrder')).toEqual(shape(['id']));
  });

  it('reads what a computed field says it reads, each model field once', () => {
    expect(shapeOf('{ callAttempts { nodes { durationSeconds endedAt status statusRaw } } }', 'CallAttempt')).toEqual(
      shape(['answeredAt', 'endedAt', 'status']),
    );
  });

  it('finds the nodes under edges, and ignores cursors, page info, counts and __typename', () => {
    const source = `{ callOrders {
      __typename totalCount pageInfo { hasNextPage endCursor }
      edges { __typename cursor node { __typename revoxId } }
    } }`;
    expect(shapeOf(source, 'CallOrder')).toEqual(shape(['revoxId']));
  });

  it('merges nodes and edges, and every selection of the same connection', () => {
    const source = `{
      callOrders { nodes { revoxId } edges { node { createdAt } } }
      callOrders { nodes { direction } }
    }`;
    expect(shapeOf(source, 'CallOrder')).toEqual(shape(['revoxId', 'createdAt', 'direction']));
  });

  it('reads a connection that asks for no node field as an empty shape', () => {
    expect(shapeOf('{ callOrders { totalCount pageInfo { hasNextPage } } }', 'CallOrder')).toEqual(shape([]));
  });

  it('reads through named and inline fragments, at every level', () => {
    const source = `
      query { callOrders { ...Page } }
      fragment Page on CallOrderConnection { nodes { ...Order ... on CallOrder { isCompleted } } }
      fragment Order on CallOrder { revoxId lastAttempt { ... on CallAttempt { resultRaw } } }`;
    expect(shapeOf(source, 'CallOrder')).toEqual(shape(['revoxId', 'isCompleted'], { lastAttempt: shape(['result']) }));
  });

  it('reads a field under @skip or @include anyway: directives are not evaluated', () => {
    expect(shapeOf('{ callOrders { nodes { revoxId @skip(if: true) createdAt @include(if: false) } } }', 'CallOrder')).toEqual(
      shape(['revoxId', 'createdAt']),
    );
  });

  it('follows the relations the one statement knows, nested, merging each relation asked twice', () => {
    const source = `{ callOrders { nodes {
      revoxId
      lastAttempt { revoxId transcript { role content } }
      lastAttempt { endedAt }
    } } }`;
    expect(shapeOf(source, 'CallOrder')).toEqual(
      shape(['revoxId'], { lastAttempt: shape(['revoxId', 'endedAt'], { transcript: shape(['role', 'content']) }) }),
    );
  });

  it('follows an attempt back to its order', () => {
    expect(shapeOf('{ callAttempts { nodes { revoxId callOrder { revoxId lastAttempt { id } } } } }', 'CallAttempt')).toEqual(
      shape(['revoxId'], { callOrder: shape(['revoxId'], { lastAttempt: shape(['id']) }) }),
    );
  });

  it('reads a relation asked for with only __typename as an empty shape of its own', () => {
    expect(shapeOf('{ callOrders { nodes { lastAttempt { __typename } } } }', 'CallOrder')).toEqual(shape([], { lastAttempt: shape([]) }));
  });

  it('gives no shape when a field says nothing of what it reads', () => {
    expect(shapeOf('{ callOrders { nodes { revoxId attempts { totalCount } } } }', 'CallOrder')).toBeNull();
  });

  it('gives no shape when such a field is deep in a relation', () => {
    expect(shapeOf('{ callAttempts { nodes { callOrder { attempts { totalCount } } } } }', 'CallAttempt')).toBeNull();
  });

  it('gives no shape when the nodes are not of the model asked for', () => {
    expect(shapeOf('{ callOrders { nodes { revoxId isCompleted } } }', 'CallAttempt')).toBeNull();
  });
});
