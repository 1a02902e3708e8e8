import { GraphQLError, Kind } from 'graphql';
import { parseIsoDateTime } from '../../isoDateTime.ts';
import { builder } from '../builder.ts';

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO-8601 string in UTC (e.g. 2026-11-20T09:00:03.000Z). Input accepts any offset.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.scalarType('JSON', {
  description: 'Free-form JSON, as Revox sent it.',
  serialize: (value) => value,
  parseValue: (value) => value,
});

/** The webhook's ISO-8601 reader, so both accept and reject the same date-times; input must be a string. */
function parseDateTime(value: unknown): Date {
  const parsed = typeof value === 'string' ? parseIsoDateTime(value) : 'must be a string such as 2026-11-20T09:00:00Z';
  if (typeof parsed === 'string') throw new GraphQLError(`DateTime ${parsed}`);
  return parsed;
}

/** A stored JSON column as an object, or null when it holds anything else. */
export function jsonObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
