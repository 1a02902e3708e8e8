/**
 * The benchmark data set: deterministic (a seeded generator for orders and attempts, arithmetic on row numbers
 * for transcript turns), loaded with a handful of set-based statements through `pg`, not row by row.
 * At scale 1: 20,000 call orders, ~50,000 attempts, transcripts of 10-200 turns (~2.6M messages).
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { applyMigrations } from '../../src/db/migrations.ts';
import { random } from '../../support/random.ts';

const PHONE_NUMBERS = ['+33612345678', '+14155550123', '+442079460000', '+4930123456', '+34911234567', '+390612345678'];
const RESULTS = ['human', 'human', 'voicemail', 'IVR', 'human', 'fax-machine'] as const;
export const BASE = Date.parse('2026-09-01T00:00:00Z');
/** The word the search scenario looks for; it occurs in about one transcript turn in 60. */
export const SEARCH_WORD = 'appointment';

/** What each call is about: one adjective and one noun per attempt, so that a pair occurs in about one attempt in 200. */
const ADJECTIVES = ['blue', 'broken', 'annual', 'urgent', 'missing', 'second', 'express', 'frozen', 'premium', 'local'];
const NOUNS = [
  'kettle',
  'parcel',
  'ladder',
  'subscription',
  'prescription',
  'mattress',
  'boiler',
  'ticket',
  'voucher',
  'scooter',
  'contract',
  'refund',
  'helmet',
  'battery',
  'warranty',
  'bicycle',
  'cooker',
  'printer',
  'passport',
  'lease',
];
const sqlList = (words: string[]) => words.map((word) => `'${word}'`).join(', ');
const FTS_ADJECTIVES = sqlList(ADJECTIVES);
const FTS_NOUNS = sqlList(NOUNS);
/** The fts scenario's search: two words that occur together in about one attempt in 200 (and in one turn). */
export const FTS_QUERY = `${ADJECTIVES[3]} ${NOUNS[4]}`;

/** Deterministic UUID-shaped ids: kind (1 hex digit) + sequence. */
export const uuid = (kind: number, n: number) => {
  const hex = kind.toString(16) + n.toString(16).padStart(31, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

export interface DataSetSummary {
  orders: number;
  attempts: number;
  messages: number;
  loadSeconds: number;
}

export async function loadDataSet(databaseUrl: string, scale: number, log: (line: string) => void): Promise<DataSetSummary> {
  const started = performance.now();
  await applyMigrations(new PrismaPg({ connectionString: databaseUrl }));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const orderCount = Math.max(20, Math.round(20_000 * scale));
    const rng = random(42);
    const orders: unknown[][] = [[], [], [], [], [], [], [], []];
    const attempts: unknown[][] = [[], [], [], [], [], [], [], [], [], [], []];
    let attemptSeq = 0;
    for (let i = 0; i < orderCount; i++) {
      // Orders every ~4 minutes; a third share their creation time with the previous one (ties in the keyset).
      const created = BASE + (i - (i % 3 === 2 ? 1 : 0)) * 240_000;
      const phone = rng.pick(PHONE_NUMBERS);
      const count = 1 + Math.floor(rng.next() * 4); // 1-4, mean 2.5
      const completed = rng.next() < 0.8;
      const orderId = uuid(1, i);
      orders[0]!.push(orderId);
      orders[1]!.push(`bench_order_${i}`);
      orders[2]!.push(phone);
      orders[3]!.push(rng.next() < 0.85 ? 'outbound' : 'inbound');
      orders[4]!.push(completed);
      orders[5]!.push(count);
      orders[6]!.push(new Date(created).toISOString());
      orders[7]!.push(completed ? 'completed' : 'scheduled');
      for (let a = 0; a < count; a++) {
        const startedAt = created + 60_000 + a * 3_600_000;
        const last = a === count - 1;
        const status = last && !completed ? 'error' : 'completed';
        const result = status === 'completed' ? rng.pick(RESULTS) : null;
        const answered = result === 'human' || result === 'IVR';
        // 10-200 turns, skewed to short calls (mean ~52).
        const turns = 10 + Math.floor(190 * rng.next() ** 3.5);
        attempts[0]!.push(uuid(2, attemptSeq));
        attempts[1]!.push(`bench_attempt_${i}_${a}`);
        attempts[2]!.push(orderId);
        attempts[3]!.push(phone);
        attempts[4]!.push(status);
        attempts[5]!.push(result);
        attempts[6]!.push(new Date(startedAt).toISOString());
        attempts[7]!.push(answered ? new Date(startedAt + 5_000).toISOString() : null);
        attempts[8]!.push(new Date(startedAt + 10_000 + Math.floor(rng.next() * 300_000)).toISOString());
        attempts[9]!.push(turns);
        attempts[10]!.push(attemptSeq);
        attemptSeq++;
      }
    }

    await client.query('DROP INDEX IF EXISTS transcript_messages_content_idx');
    await client.query('DROP INDEX IF EXISTS call_attempts_transcript_search_idx');
    // The search vectors are computed once, after the load, rather than by the triggers at each batch.
    await client.query('ALTER TABLE transcript_messages DISABLE TRIGGER USER');
    await client.query(
      `INSERT INTO call_orders (id, revox_id, from_phone_number, to_phone_number, direction, is_completed, calls_count,
         created_at, status, version_key, updated_at, metadata, llm_model)
       SELECT id, revox_id, '+33187654321', phone, direction, completed, calls, created, status, 'seed', now(),
         jsonb_build_object('campaign', 'bench'), '{"type":"dedicated-instance","name":"gpt-4.1"}'::jsonb
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::int[], $7::timestamptz[], $8::text[])
         AS t(id, revox_id, phone, direction, completed, calls, created, status)`,
      orders,
    );
    log(`  ${orderCount} call orders`);
    const BATCH = 10_000;
    for (let from = 0; from < attemptSeq; from += BATCH) {
      const slice = attempts.map((column) => column.slice(from, from + BATCH));
      await client.query(
        `INSERT INTO call_attempts (id, revox_id, call_order_id, phone_number, status, result, started_at, answered_at,
           ended_at, version_key, updated_at, recording_url, ended_by, structured_output)
         SELECT id, revox_id, order_id, phone, status, result, started, answered, ended, 'seed', now(),
           'https://recordings.example.com/' || revox_id || '.mp3', 'assistant',
           -- What an assistant extracts from a call a human answered (other attempts have none): about 60% confirm
           -- an appointment within two weeks of the call; a sentiment; a score from 0 to 10 with one decimal.
           CASE WHEN result = 'human' THEN jsonb_build_object(
             'appointment', jsonb_build_object(
               'confirmed', (seq * 7) % 10 < 6,
               'date', to_char(started AT TIME ZONE 'UTC' + (1 + seq % 14) * interval '1 day', 'YYYY-MM-DD')),
             'sentiment', (ARRAY['positive', 'neutral', 'negative'])[1 + (seq * 13) % 3],
             'score', round(((seq * 37) % 101) / 10.0, 1))
           END
         FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
           $8::timestamptz[], $9::timestamptz[]) WITH ORDINALITY AS t(id, revox_id, order_id, phone, status, result, started, answered, ended, seq)`,
        slice.slice(0, 9),
      );
      // Transcript turns: generated in PostgreSQL from the attempt's sequence number and turn count.
      await client.query(
        `INSERT INTO transcript_messages (id, call_attempt_id, position, role, content)
         SELECT ('3' || lpad(to_hex(t.seq), 15, '0') || lpad(to_hex(p), 16, '0'))::uuid, t.id, p,
           CASE WHEN p % 2 = 0 THEN 'assistant' ELSE 'user' END,
           CASE WHEN p % 2 = 0
             THEN (ARRAY['Hello, this is Clara from the clinic, calling about your ${SEARCH_WORD} next week.',
                         'Could you confirm the delivery address we have on file for you?',
                         'I can offer Tuesday at ten or Thursday at three, which suits you better?',
                         'Thank you, I have noted that. Is there anything else I can help with today?',
                         'Let me check the invoice number for you, one moment please.',
                         'Perfect, you will receive a confirmation by text message shortly.'])[1 + (t.seq * 7 + p * 13) % 6]
             ELSE (ARRAY['Yes, speaking. Who is this?', 'Sorry, can you repeat that please?',
                         'Thursday works better for me, in the afternoon if possible.',
                         'No, that is all, thanks for calling.', 'I think the invoice was already paid last month.',
                         'Can you call me back later this evening?', 'Sure, the address is 12 rue de la Paix.',
                         'I would like to move my ${SEARCH_WORD} if that is possible.', 'Okay.', 'Hmm, let me think.'])[1 + (t.seq * 11 + p * 7) % 10]
                  || ' (' || t.seq || '.' || p || ')'
                  -- What the call is about, in the first answer: each pair of words in about one attempt in 200.
                  || CASE WHEN p = 1 THEN ' It is about the ' || (ARRAY[${FTS_ADJECTIVES}])[1 + t.seq % 10] || ' '
                       || (ARRAY[${FTS_NOUNS}])[1 + (t.seq / 10) % 20] || '.' ELSE '' END
           END
         FROM unnest($1::uuid[], $2::int[], $3::int[]) AS t(id, turns, seq), generate_series(0, t.turns - 1) AS p`,
        [slice[0], slice[9], slice[10]],
      );
      log(`  attempts and transcripts ${Math.min(from + BATCH, attemptSeq)}/${attemptSeq}`);
    }
    log('  building the trigram index on transcripts');
    await client.query('CREATE INDEX "transcript_messages_content_idx" ON "transcript_messages" USING GIN ("content" gin_trgm_ops)');
    log('  building the full-text index on transcripts');
    await client.query('ALTER TABLE transcript_messages ENABLE TRIGGER USER');
    await client.query('UPDATE call_attempts a SET transcript_search = callboard_transcript_vector(a.id)');
    await client.query('CREATE INDEX "call_attempts_transcript_search_idx" ON "call_attempts" USING GIN ("transcript_search")');
    await client.query('VACUUM ANALYZE');
    const messages = Number((await client.query('SELECT count(*) FROM transcript_messages')).rows[0].count);
    return { orders: orderCount, attempts: attemptSeq, messages, loadSeconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
