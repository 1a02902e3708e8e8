/**
 * Which attempts an export reads, from the `filter` (a CallAttemptFilter as JSON) and `orderBy` (a CallAttemptOrderBy
 * name) the HTTP route and the command take. The filter is coerced by graphql-js against the schema's own input type,
 * bounded by the same `maxLength`s and converted by the same function as GraphQL's, so that it means exactly what it
 * means there; a mistake is an error naming the field, before anything is read.
 */
import { coerceInputValue, isInputObjectType } from 'graphql';
import { schema } from '../graphql/schema.ts';
import {
  ATTEMPT_ORDERS,
  callAttemptFilter,
  type CallAttemptFilterInput,
  type CallAttemptOrderBy,
  contentConditionOf,
} from '../graphql/types/callAttempt.ts';
import { firstTooLong } from '../limits/index.ts';
import type { CallAttemptFilter, CallAttemptOrder } from '../read/callAttempt.ts';

type OrderName = typeof CallAttemptOrderBy.$inferType;

const DEFAULT_ORDER: OrderName = 'ENDED_AT_DESC';

export interface ExportQuery {
  filter: CallAttemptFilter | undefined;
  order: CallAttemptOrder;
  /** The filter argument that reads content (`filter.transcriptContains`), which needs `transcripts:read`. */
  contentCondition: string | undefined;
}

/** A `filter` or `orderBy` that cannot be used; the message names it. */
export class ExportQueryError extends Error {
  override name = 'ExportQueryError';
}

/** Errors listed in one message, at most this many (a filter can hold a mistake in every value of a long list). */
const MAX_ERRORS_LISTED = 5;
/** Parser messages quote the text they failed on: a line of it is enough. */
const MAX_QUOTED_LENGTH = 200;

const filterType = schema.getType('CallAttemptFilter');
if (!isInputObjectType(filterType)) throw new Error('The schema has no CallAttemptFilter input type');
const FILTER_TYPE = filterType;

export function parseExportQuery({ filter, orderBy }: { filter?: string | undefined; orderBy?: string | undefined }): ExportQuery {
  const input = filter === undefined ? null : parseFilter(filter);
  return {
    filter: callAttemptFilter(input),
    order: ATTEMPT_ORDERS[parseOrder(orderBy)],
    contentCondition: contentConditionOf(input),
  };
}

function parseFilter(text: string): CallAttemptFilterInput | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ExportQueryError(`filter is not valid JSON: ${(error as Error).message.slice(0, MAX_QUOTED_LENGTH)}`);
  }
  // As in GraphQL, a null filter is no filter.
  if (json === null) return null;
  if (typeof json !== 'object' || Array.isArray(json)) {
    throw new ExportQueryError(`filter must be a JSON object (a CallAttemptFilter), got ${Array.isArray(json) ? 'an array' : typeof json}`);
  }
  const errors: string[] = [];
  // Without suggestions, as GraphQL answers.
  const input = coerceInputValue(
    json,
    FILTER_TYPE,
    (path, _value, error) => errors.push(`${pathName(['filter', ...path])}: ${error.message.slice(0, MAX_QUOTED_LENGTH)}`),
    true,
  ) as CallAttemptFilterInput;
  if (errors.length > 0) {
    const more = errors.length > MAX_ERRORS_LISTED ? ` (and ${errors.length - MAX_ERRORS_LISTED} more)` : '';
    throw new ExportQueryError(`${errors.slice(0, MAX_ERRORS_LISTED).join('; ')}${more}`);
  }
  const tooLong = firstTooLong(Object.values(FILTER_TYPE.getFields()), input, 'filter.');
  if (tooLong) throw new ExportQueryError(tooLong);
  return input;
}

function parseOrder(name: string | undefined): OrderName {
  if (name === undefined) return DEFAULT_ORDER;
  if (Object.hasOwn(ATTEMPT_ORDERS, name)) return name as OrderName;
  throw new ExportQueryError(
    `orderBy must be one of ${Object.keys(ATTEMPT_ORDERS).join(', ')} (a CallAttemptOrderBy), got "${name.slice(0, MAX_QUOTED_LENGTH)}"`,
  );
}

/** `filter.result[0]`, as GraphQL names a value in an input. */
function pathName(path: readonly (string | number)[]): string {
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? key : `.${key}`)).join('');
}
