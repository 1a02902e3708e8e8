/**
 * `runStatement`: one SQL statement built with `Prisma.sql`, for the hot paths (a page of reads, storing a delivery).
 * On a PostgreSQL server it goes straight to the connection pool: Prisma's raw-query path costs ~0.2 ms of CPU per
 * call, a tenth of a small request's whole budget, and it is prepared once per connection (`preparedName`). On
 * PGlite it goes through Prisma, which serialises the one session that Prisma's transactions share. `openDatabase`
 * registers each client's pool here: the pool that sends an API request's statements to the pool of API reads.
 */
import type { Pool } from 'pg';
import type { Prisma, PrismaClient } from './generated/prisma/client.ts';

interface DirectRoute {
  pool: Pool;
  onQuery?: (sql: string) => void;
}

const directRoutes = new WeakMap<PrismaClient, DirectRoute>();

export function routeStatementsToPool(prisma: PrismaClient, route: DirectRoute): void {
  directRoutes.set(prisma, route);
}

export async function runStatement<Row>(prisma: PrismaClient, statement: Prisma.Sql): Promise<Row[]> {
  const direct = directRoutes.get(prisma);
  if (!direct) return prisma.$queryRaw<Row[]>(statement);
  const { text, values } = statement;
  direct.onQuery?.(text);
  const name = preparedName(text);
  try {
    return (await direct.pool.query({ name, text, values })).rows as Row[];
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (name === undefined || (code !== DUPLICATE_PREPARED_STATEMENT && code !== UNKNOWN_PREPARED_STATEMENT)) throw error;
    // A session that is not the connection's own (a transaction pooler, PGlite's socket server) already holds the
    // name, or lost it. Both are refused before anything runs: run it unnamed, from now on.
    unnamed(text);
    return (await direct.pool.query(text, values)).rows as Row[];
  }
}

/** SQLSTATEs of a name PostgreSQL holds already (42P05) or does not hold (26000), both refused before execution. */
const DUPLICATE_PREPARED_STATEMENT = '42P05';
const UNKNOWN_PREPARED_STATEMENT = '26000';

/** How many distinct statements are prepared; each connection keeps them all, so the number is bounded. */
export const MAX_PREPARED_STATEMENTS = 64;
const preparedNames = new Map<string, string | undefined>();

/**
 * The name a statement is prepared under on each pool connection, so PostgreSQL parses it once per connection and
 * may reuse its plan. The hot statements are few (one per shape of selection), but a selection is the client's
 * choice: past MAX_PREPARED_STATEMENTS distinct texts, a new one runs unnamed, parsed each time as before.
 */
export function preparedName(text: string): string | undefined {
  if (preparedNames.has(text)) return preparedNames.get(text);
  if (preparedNames.size >= MAX_PREPARED_STATEMENTS) return undefined;
  const name = `callboard_${preparedNames.size}`;
  preparedNames.set(text, name);
  return name;
}

function unnamed(text: string): void {
  preparedNames.set(text, undefined);
}
