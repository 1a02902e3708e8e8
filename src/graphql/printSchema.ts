import { printSchema } from 'graphql';
import { schema } from './schema.ts';

export const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

/** The schema as committed in schema.graphql (types sorted, so diffs stay small). */
export function printedSchema(): string {
  return `${printSchema(schema)}\n`;
}
