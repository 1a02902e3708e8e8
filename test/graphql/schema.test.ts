import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../../src/graphql/printSchema.ts';

describe('schema.graphql', () => {
  it('is the printed schema (run `npm run schema` after changing a type)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed === printedSchema(), 'schema.graphql is stale: run `npm run schema` and commit the result').toBe(true);
  });

  it('has the root fields and types the contract names', () => {
    const schema = printedSchema();
    for (const line of [
      'node(id: ID!): Node',
      'callOrder(revoxId: String!): CallOrder',
      'callOrders(after: String, before: String, filter: CallOrderFilter, first: Int, last: Int, orderBy: CallOrderOrderBy = CREATED_AT_DESC): CallOrderConnection!',
      'callAttempt(revoxId: String!): CallAttempt',
      'callAttempts(after: String, before: String, filter: CallAttemptFilter, first: Int, last: Int, orderBy: CallAttemptOrderBy = ENDED_AT_DESC): CallAttemptConnection!',
      'callStats(filter: CallAttemptFilter): CallStats!',
    ]) {
      expect(schema).toContain(line);
    }
  });
});
