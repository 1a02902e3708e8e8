/**
 * Conditions on an attempt's structured output (`filter.output`), and its values counted (`byOutput`).
 *
 * A path walks object keys only (`->` with a text key, which never steps into an array), so the value at a path is
 * SQL NULL where a key is missing, a step is no object, or the attempt has no structured output. That SQL NULL and a
 * JSON null are one case throughout: `equals: null` and `exists: false` match both, and `byOutput` counts both under
 * `value: null`, so that filtering by a counted value finds as many attempts as it counts.
 *
 * `equals` and `in` compare whole JSON values exactly (jsonb equality: `true` is not `"true"`, `1` is `1.0`). Their
 * prefilter is containment (`@>`), which the GIN index on `structured_output` answers; containment alone would let an
 * array hold more items than asked for, hence the exact comparison after it. Every key and value is a parameter.
 */
import { Prisma } from '../db/generated/prisma/client.ts';
import {
  MAX_OUTPUT_CONDITIONS,
  MAX_OUTPUT_IN_VALUES,
  MAX_OUTPUT_KEY_LENGTH,
  MAX_OUTPUT_PATH_KEYS,
  MAX_OUTPUT_VALUE_BYTES,
  MAX_SEARCH_TEXT_LENGTH,
  OPERATION_LIMITS,
} from '../limits/limits.ts';
import { column, escapeLike, type SqlOnlyCondition } from './filter.ts';
import { ReadRequestError } from './readRequestError.ts';

type Bound = 'gt' | 'gte' | 'lt' | 'lte';

/** One condition as a request gives it: a path, and exactly one operator (null means "not given", but for `equals`). */
export interface OutputConditionInput {
  path: readonly string[];
  /** A JSON value; an explicit null matches a JSON null or a missing path. */
  equals?: unknown;
  in?: readonly unknown[] | null;
  exists?: boolean | null;
  gt?: number | null;
  gte?: number | null;
  lt?: number | null;
  lte?: number | null;
  contains?: string | null;
}

/** A checked condition: its path and its one operator. */
export type OutputCondition = { path: string[] } & (
  | { operator: 'equals'; value: unknown }
  | { operator: 'in'; values: unknown[] }
  | { operator: 'exists'; value: boolean }
  | { operator: Bound; value: number }
  | { operator: 'contains'; value: string }
);

const OPERATORS = ['equals', 'in', 'exists', 'gt', 'gte', 'lt', 'lte', 'contains'] as const;

const COMPARISONS: Record<Bound, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** `a, b and c` */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

const count = (n: number) => n.toLocaleString('en-US');

/** PostgreSQL's text and jsonb cannot hold U+0000: a key or text holding it is refused rather than failing the read. */
const NUL = '\u0000';

function nulRefused(name: string): ReadRequestError {
  return new ReadRequestError(`${name}: may not contain the character U+0000, which no stored value holds.`);
}

/** A path within the bounds; `name` is the argument, as an error names it. */
export function checkedPath(path: readonly string[], name: string): string[] {
  if (path.length > MAX_OUTPUT_PATH_KEYS) {
    throw new ReadRequestError(`${name}: a path may have at most ${MAX_OUTPUT_PATH_KEYS} keys, got ${count(path.length)}.`);
  }
  path.forEach((key, index) => {
    if (key.length > MAX_OUTPUT_KEY_LENGTH) {
      throw new ReadRequestError(
        `${name}[${index}]: a key may have at most ${MAX_OUTPUT_KEY_LENGTH} characters, got ${count(key.length)}.`,
      );
    }
    if (key.includes(NUL)) throw nulRefused(`${name}[${index}]`);
  });
  return [...path];
}

/** A JSON operand within its bound, measured as the UTF-8 JSON text that is sent to the database. */
function checkedValue(value: unknown, name: string): unknown {
  let bytes: number;
  let holdsNul = false;
  try {
    const text = JSON.stringify(value, (key, item) => {
      if (key.includes(NUL) || (typeof item === 'string' && item.includes(NUL))) holdsNul = true;
      return item;
    });
    bytes = Buffer.byteLength(text);
  } catch {
    // Nested too deep to serialise: far over the bound anyway.
    bytes = Number.POSITIVE_INFINITY;
  }
  if (bytes > MAX_OUTPUT_VALUE_BYTES) {
    const got = Number.isFinite(bytes) ? `got ${count(bytes)}` : 'got a value nested too deep to measure';
    throw new ReadRequestError(`${name}: a JSON value may be at most ${count(MAX_OUTPUT_VALUE_BYTES)} bytes as JSON text, ${got}.`);
  }
  if (holdsNul) throw nulRefused(name);
  return value;
}

function checkedCondition(input: OutputConditionInput, name: string): OutputCondition {
  const path = checkedPath(input.path, `${name}.path`);
  // An explicit `equals: null` is a condition; any other operator given as null is not given.
  const given = OPERATORS.filter((operator) => (operator === 'equals' ? input.equals !== undefined : input[operator] != null));
  const [operator] = given;
  if (given.length !== 1 || operator === undefined) {
    throw new ReadRequestError(
      `${name}: give exactly one operator (${OPERATORS.join(', ')}), got ${given.length ? listed(given) : 'none'}.`,
    );
  }
  const operand = `${name}.${operator}`;
  switch (operator) {
    case 'equals':
      return { path, operator, value: checkedValue(input.equals, operand) };
    case 'in': {
      const values = input.in ?? [];
      if (values.length > MAX_OUTPUT_IN_VALUES) {
        throw new ReadRequestError(`${operand}: at most ${MAX_OUTPUT_IN_VALUES} values, got ${count(values.length)}.`);
      }
      return { path, operator, values: values.map((value, index) => checkedValue(value, `${operand}[${index}]`)) };
    }
    case 'exists':
      return { path, operator, value: input.exists === true };
    case 'contains': {
      const text = input.contains ?? '';
      if (text.length > MAX_SEARCH_TEXT_LENGTH) {
        throw new ReadRequestError(`${operand}: at most ${MAX_SEARCH_TEXT_LENGTH} characters, got ${count(text.length)}.`);
      }
      if (text.includes(NUL)) throw nulRefused(operand);
      return { path, operator, value: text };
    }
    default:
      return { path, operator, value: input[operator] ?? 0 };
  }
}

/** The request's conditions, checked against the bounds of src/limits/limits.ts; an error names the one at fault. */
export function outputConditions(inputs: readonly OutputConditionInput[]): OutputCondition[] {
  if (inputs.length > MAX_OUTPUT_CONDITIONS) {
    throw new ReadRequestError(`filter.output: at most ${MAX_OUTPUT_CONDITIONS} conditions, got ${count(inputs.length)}.`);
  }
  return inputs.map((input, index) => checkedCondition(input, `filter.output[${index}]`));
}

/** The JSON value at `path` in the structured output of the attempt under `alias`; SQL NULL where there is none. */
export function outputValueAt(alias: string, path: readonly string[]): Prisma.Sql {
  return path.reduce<Prisma.Sql>((json, key) => Prisma.sql`(${json} -> ${key}::text)`, column(alias, 'structured_output'));
}

/** The value's JSON text, as a jsonb parameter. */
function jsonParameter(value: unknown): Prisma.Sql {
  return Prisma.sql`${JSON.stringify(value)}::jsonb`;
}

/** Structured output holding `value` at `path` (with arrays: at least its items), which the GIN index answers. */
function holds(alias: string, path: readonly string[], value: unknown): Prisma.Sql {
  const containment = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
  return Prisma.sql`${column(alias, 'structured_output')} @> ${jsonParameter(containment)}`;
}

function nullOrMissing(value: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`(${value} IS NULL OR ${value} = 'null'::jsonb)`;
}

/** The condition on `call_attempts` under `alias`. */
export function outputConditionSql(alias: string, condition: OutputCondition): SqlOnlyCondition {
  const { path } = condition;
  const value = outputValueAt(alias, path);
  switch (condition.operator) {
    case 'equals':
      if (condition.value === null) return { sql: nullOrMissing(value) };
      return { sql: Prisma.sql`(${holds(alias, path, condition.value)} AND ${value} = ${jsonParameter(condition.value)})` };
    case 'in': {
      const { values } = condition;
      if (!values.length) return { sql: Prisma.sql`FALSE` };
      const prefilter = Prisma.join(
        values.map((item) => holds(alias, path, item)),
        ' OR ',
      );
      return { sql: Prisma.sql`((${prefilter}) AND ${value} IN (${Prisma.join(values.map(jsonParameter))}))` };
    }
    case 'exists':
      return { sql: condition.value ? Prisma.sql`NOT ${nullOrMissing(value)}` : nullOrMissing(value) };
    case 'contains':
      return {
        sql: Prisma.sql`(jsonb_typeof(${value}) = 'string' AND (${value} #>> '{}') ILIKE ${`%${escapeLike(condition.value)}%`})`,
      };
    default: {
      // The cast runs on numbers only, so a string at the path never raises a cast error.
      const number = Prisma.sql`CASE WHEN jsonb_typeof(${value}) = 'number' THEN (${value})::numeric END`;
      return { sql: Prisma.sql`${number} ${Prisma.raw(COMPARISONS[condition.operator])} ${condition.value}::numeric` };
    }
  }
}

/**
 * Per group (`bucket`, an expression on `call_attempts a`) of the attempts matching `where`, the `first` most
 * frequent values at `path` with their counts, as rows `(bucket, counts, too_large)` where `counts` is a JSON list of
 * `{value, count}`: most frequent first, ties by the value's JSON text in byte order (whatever the database's
 * collation), a missing path or JSON null as `null` (last among its ties).
 *
 * Values may be whole objects, so what the statement returns is bounded by what an answer may hold: the values past
 * that many bytes of JSON text (all groups together) are left out, and `too_large` says so.
 */
export function outputValueCountsSql(where: Prisma.Sql, bucket: Prisma.Sql, path: readonly string[], first: number): Prisma.Sql {
  return Prisma.sql`
    WITH counted AS (
      SELECT ${bucket} AS bucket, NULLIF(${outputValueAt('a', path)}, 'null'::jsonb) AS value, count(*)::int AS count
      FROM call_attempts a
      WHERE ${where}
      GROUP BY 1, 2
    ),
    ranked AS (
      SELECT bucket, value, count, row_number() OVER (PARTITION BY bucket ORDER BY count DESC, value::text COLLATE "C") AS rank
      FROM counted
    ),
    listed AS (
      SELECT bucket, value, count, rank,
             sum(coalesce(octet_length(value::text), 0)) OVER (ORDER BY bucket, rank) AS bytes_through
      FROM ranked
      WHERE rank <= ${first}
    )
    SELECT bucket, json_agg(json_build_object('value', value, 'count', count) ORDER BY rank) AS counts,
           bool_or(bytes_through > ${OPERATION_LIMITS.maxResponseBytes}) AS too_large
    FROM listed
    -- The first value past the bound is kept, to tell that there was one.
    WHERE bytes_through - coalesce(octet_length(value::text), 0) <= ${OPERATION_LIMITS.maxResponseBytes}
    GROUP BY bucket`;
}
