/**
 * The pieces every read filter is made of. Each condition is written once with both of its forms side by side:
 * the Prisma `where` for the long tail, and the SQL for the one-statement reads and the statistics. Keeping the two
 * in one place is what makes them select the same rows.
 */
import { Prisma } from '../db/generated/prisma/client.ts';

/** Which stored raw values an enum filter matches: the known values asked for and, with `other`, any value not in `allKnown`. */
export interface RawValueSelection {
  known: string[];
  /** Also match every value that is not in `allKnown`. */
  other: boolean;
  allKnown: string[];
}

/** One condition of a filter, as Prisma and as SQL. */
export interface Condition<Where> {
  prisma: Where;
  sql: Prisma.Sql;
}

/**
 * A condition Prisma cannot say (full-text search, JSON comparisons): a filter holding one is read in SQL only, for
 * its pages and its counts alike.
 */
export interface SqlOnlyCondition {
  prisma?: undefined;
  sql: Prisma.Sql;
}

/** The conditions as one Prisma `where`; null when one of them exists in SQL only. */
export function prismaWhere<Where>(conditions: Condition<Where>[]): { AND: Where[] };
export function prismaWhere<Where>(conditions: (Condition<Where> | SqlOnlyCondition)[]): { AND: Where[] } | null;
export function prismaWhere<Where>(conditions: (Condition<Where> | SqlOnlyCondition)[]): { AND: Where[] } | null {
  const wheres = conditions.map((condition) => condition.prisma);
  return wheres.every((where) => where !== undefined) ? { AND: wheres } : null;
}

export function sqlWhere(conditions: { sql: Prisma.Sql }[]): Prisma.Sql {
  return conditions.length
    ? Prisma.join(
        conditions.map((condition) => condition.sql),
        ' AND ',
      )
    : Prisma.sql`TRUE`;
}

/** A column of a table alias; both come from this module's constants, never from a request. */
export function column(alias: string, name: string): Prisma.Sql {
  return Prisma.raw(`${alias}.${name}`);
}

/** `field` holds one of the selected raw values (a null never matches, in either form). */
export function rawValueCondition<Where>(field: string, sqlColumn: Prisma.Sql, selection: RawValueSelection): Condition<Where> {
  const { known, other, allKnown } = selection;
  const inKnown = known.length ? Prisma.sql`${sqlColumn} IN (${Prisma.join(known)})` : Prisma.sql`FALSE`;
  return {
    prisma: { OR: [{ [field]: { in: known } }, ...(other ? [{ [field]: { notIn: allKnown } }] : [])] } as Where,
    sql: other ? Prisma.sql`(${inKnown} OR ${sqlColumn} NOT IN (${Prisma.join(allKnown)}))` : inKnown,
  };
}

/** Text for a LIKE pattern that matches itself literally (backslash is PostgreSQL's default escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
