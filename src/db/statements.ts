/**
 * `runStatement`: one SQL statement built with `Prisma.sql`, for the hot paths (a page of reads, storing a delivery).
 * On a PostgreSQL server it goes straight to the connection pool: Prisma's raw-query path costs ~0.2 ms of CPU per
 * call, a tenth of a small request's whole budget. On PGlite it goes through Prisma, which serialises the one
 * session that Prisma's transactions share. `openDatabase` registers each client's pool here.
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
  direct.onQuery?.(statement.text);
  const { rows } = await direct.pool.query(statement.text, statement.values);
  return rows as Row[];
}
