/**
 * npm run bench:ingest [-- --deliveries 200 --turns 200]
 *
 * How long storing a webhook delivery takes, end to end (HTTP, validation, one transaction, commit), against a
 * baseline measured in the same run on the same kind of database: the same rows (order, attempt, transcript)
 * inserted by hand-written SQL in one transaction, with no HTTP and no validation. The ratio is what Callboard's
 * work on top of the bare inserts costs. PGlite by default; a PostgreSQL server with DATABASE_URL (each side gets
 * a fresh database there).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createTestDatabase } from '../support/database.ts';
import { orderDelivery } from '../support/deliveries.ts';
import { startTestServer } from '../support/server.ts';
import { applyMigrations } from '../src/db/migrations.ts';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PGLITE_EXTENSIONS } from '../src/db/pgliteExtensions.ts';

const { values } = parseArgs({ options: { deliveries: { type: 'string', default: '100' }, turns: { type: 'string', default: '200' } } });
const deliveries = Number(values.deliveries);
const turns = Number(values.turns);

type Exec = (sql: string, params: unknown[]) => Promise<unknown>;
type Transaction = (run: (exec: Exec) => Promise<void>) => Promise<void>;

/** The bare inserts one delivery needs, in one transaction. */
async function insertBaseline(transaction: Transaction, delivery: ReturnType<typeof orderDelivery>) {
  const { call } = delivery;
  const attempt = delivery.call_attempt!;
  await transaction(async (exec) => {
    const orderId = randomUUID();
    await exec(
      `INSERT INTO call_orders (id, revox_id, from_phone_number, to_phone_number, direction, is_completed, calls_count, created_at, version_key, updated_at, metadata)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'v',now(),$9)`,
      [
        orderId,
        call.id,
        call.from_phone_number,
        call.to_phone_number,
        call.direction,
        call.is_completed,
        call.calls_count,
        call.created_at,
        JSON.stringify(call.metadata),
      ],
    );
    const attemptId = randomUUID();
    await exec(
      `INSERT INTO call_attempts (id, revox_id, call_order_id, phone_number, status, result, started_at, ended_at, version_key, updated_at, structured_output)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,'v',now(),$9)`,
      [
        attemptId,
        attempt.id,
        orderId,
        attempt.phone_number,
        attempt.status,
        attempt.result,
        attempt.started_at,
        attempt.ended_at,
        JSON.stringify(attempt.structured_output),
      ],
    );
    const rows = attempt.transcript.map((turn, position) => [randomUUID(), attemptId, position, turn.role, turn.content]);
    const placeholders = rows.map((_, i) => `($${i * 5 + 1},$${i * 5 + 2},$${i * 5 + 3},$${i * 5 + 4},$${i * 5 + 5})`).join(',');
    await exec(`INSERT INTO transcript_messages (id, call_attempt_id, position, role, content) VALUES ${placeholders}`, rows.flat());
  });
}

async function baselineDatabase(): Promise<{ transaction: Transaction; close(): Promise<void> }> {
  const database = await createTestDatabase();
  if (database.databaseUrl) {
    await applyMigrations(new PrismaPg({ connectionString: database.databaseUrl }));
    const pool = new pg.Pool({ connectionString: database.databaseUrl });
    return {
      async transaction(run) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await run((sql, params) => client.query(sql, params));
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      },
      close: async () => {
        await pool.end();
        await database.dispose();
      },
    };
  }
  const pglite = await PGlite.create(`${database.dataDir}/pgdata`, {
    extensions: PGLITE_EXTENSIONS,
    startParams: PGlite.defaultStartParams.filter((param) => param !== '-F'),
  });
  await applyMigrations(new PrismaPGlite(pglite));
  return {
    transaction: (run) => pglite.transaction((tx) => run((sql, params) => tx.query(sql, params))),
    close: async () => {
      await pglite.close();
      await database.dispose();
    },
  };
}

function summarise(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { median: at(0.5), p99: at(0.99) };
}

/** Per-delivery times of `count` runs, after a short warm-up. */
async function measure(count: number, run: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < 5; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return samples;
}

// PostgreSQL inside PGlite runs with fsync on (commits reach the operating system before the answer), but PGlite's
// Node filesystem does not pass fsync on to the OS (see src/db/database.ts): say so rather than claim durability.
const backend = process.env.DATABASE_URL
  ? 'PostgreSQL (DATABASE_URL)'
  : "PGlite (embedded, file-backed; PostgreSQL's fsync on, but PGlite does not pass it on to the OS)";
console.log(`Storing ${deliveries} deliveries with ${turns}-turn transcripts on ${backend}, one at a time.`);

const server = await startTestServer();
const baseline = await baselineDatabase();
let sequence = 0;
const nextDelivery = () => orderDelivery(`bench_${sequence}`, [{ id: `bench_${sequence++}_a0`, turns }], 0);

// Alternate the two sides in rounds, so machine noise hits both alike.
const ROUNDS = 4;
const callboard: number[] = [];
const sql: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  callboard.push(
    ...(await measure(deliveries / ROUNDS, async () => {
      const response = await server.deliver(nextDelivery());
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
    })),
  );
  sql.push(...(await measure(deliveries / ROUNDS, () => insertBaseline(baseline.transaction, nextDelivery()))));
}
const a = summarise(callboard);
const b = summarise(sql);
console.table([
  { side: 'Callboard webhook (HTTP, validate, store, archive)', 'median ms': a.median.toFixed(1), 'p99 ms': a.p99.toFixed(1) },
  { side: 'baseline: bare INSERTs, one transaction', 'median ms': b.median.toFixed(1), 'p99 ms': b.p99.toFixed(1) },
  { side: 'ratio Callboard / baseline', 'median ms': (a.median / b.median).toFixed(2), 'p99 ms': (a.p99 / b.p99).toFixed(2) },
]);
await server.dispose();
await baseline.close();
