/** Looks for what must not be left anywhere once the server has done its work: a secret, an erased number. */
import { expect } from 'vitest';
import type { RunningServer } from '../../src/server.ts';
import type { TestServer } from '../../support/server.ts';

/** No row of the tables that hold calls mentions `secret` in any column, and no log line does. */
export async function expectNowhere(server: TestServer, secret: string): Promise<void> {
  for (const table of ['call_orders', 'call_attempts', 'transcript_messages', 'webhook_deliveries']) {
    const rows = await server.database.prisma.$queryRawUnsafe<{ n: bigint }[]>(
      `SELECT count(*) AS n FROM ${table} t WHERE t::text LIKE '%' || $1 || '%'`,
      secret,
    );
    expect(Number(rows[0]!.n), `${secret} in ${table}`).toBe(0);
  }
  expect(server.logs.join('\n')).not.toContain(secret);
}

/**
 * Every `table.column` of text or JSON whose value meets `condition`, an SQL condition on the column's text (`$1`
 * is `value`): where a test looks for what must not be left anywhere.
 */
export async function columnsWhere(server: RunningServer, condition: (columnText: string) => string, value: unknown): Promise<string[]> {
  const prisma = server.database.prisma;
  const columns = await prisma.$queryRaw<{ table_name: string; column_name: string }[]>`
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND data_type IN ('text', 'jsonb', 'json', 'character varying', 'ARRAY')`;
  const found: string[] = [];
  for (const { table_name, column_name } of columns) {
    const [row] = await prisma.$queryRawUnsafe<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM "${table_name}" WHERE ${condition(`"${column_name}"::text`)}`,
      value,
    );
    if (row!.count > 0) found.push(`${table_name}.${column_name}`);
  }
  return found;
}
