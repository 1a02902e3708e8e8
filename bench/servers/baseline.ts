/**
 * The plain-`pg` baseline, run as its own process like Callboard: an HTTP server with
 * - POST /webhooks/revox: the rows Callboard stores for a new delivery (archive entry, order, attempt, transcript),
 *   inserted with plain pg in one transaction, no validation;
 * - GET /page?first=50, GET /search?q=...&result=human&first=20, GET /fts?q=...&first=20 and
 *   GET /output?path=...&equals=...&groupBy=...: one SQL statement each, building the JSON in PostgreSQL, returned as is;
 * - GET /export?content=0|1: every attempt as CSV, PostgreSQL's COPY streamed through pg.
 * Prints {"event":"server.listening","url":...} like Callboard. Env: DATABASE_URL, PORT (0).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import { exportCopySql, FTS_SQL, OUTPUT_SQL, PAGE_SQL, SEARCH_SQL } from '../lib/sql.ts';
import { serveUntilTerminated } from './serve.ts';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body: string) {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

async function storeDelivery(raw: string, headers: Record<string, unknown>): Promise<string> {
  const { call, call_attempt: attempt } = JSON.parse(raw);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const orderId = randomUUID();
    await client.query(
      `INSERT INTO call_orders (id, revox_id, from_phone_number, to_phone_number, direction, is_completed, is_cancelled, calls_count,
         next_call_at, created_at, status, metadata, retry_config, llm_model, version_key, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,'v',now())`,
      [
        orderId,
        call.id,
        call.from_phone_number,
        call.to_phone_number,
        call.direction,
        call.is_completed,
        call.is_cancelled,
        call.calls_count,
        call.next_call_at,
        call.created_at,
        call.status,
        JSON.stringify(call.metadata),
        JSON.stringify(call.call_retry_config),
        JSON.stringify(call.llm_model),
      ],
    );
    const attemptId = randomUUID();
    await client.query(
      `INSERT INTO call_attempts (id, revox_id, call_order_id, phone_number, status, result, recording_url, started_at, answered_at,
         ended_at, structured_output, version_key, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'v',now())`,
      [
        attemptId,
        attempt.id,
        orderId,
        attempt.phone_number,
        attempt.status,
        attempt.result,
        attempt.recording_url,
        attempt.started_at,
        attempt.answered_at,
        attempt.ended_at,
        JSON.stringify(attempt.structured_output),
      ],
    );
    const turns = attempt.transcript as { role: string; content: string }[];
    if (turns.length > 0) {
      const values: unknown[] = [];
      const rows = turns.map((turn, position) => {
        values.push(randomUUID(), attemptId, position, turn.role, turn.content);
        const at = position * 5;
        return `($${at + 1},$${at + 2},$${at + 3},$${at + 4},$${at + 5})`;
      });
      await client.query(`INSERT INTO transcript_messages (id, call_attempt_id, position, role, content) VALUES ${rows.join(',')}`, values);
    }
    await client.query(
      `INSERT INTO webhook_deliveries (id, request_id, body, body_bytes, headers, call_revox_id, outcome, http_status)
       VALUES ($1,$2,$3,$4,$5,$6,'accepted',200)`,
      [randomUUID(), randomUUID(), raw, Buffer.byteLength(raw), JSON.stringify(headers), call.id],
    );
    await client.query('COMMIT');
    return orderId;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

const server = createServer(async (request, response) => {
  try {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'POST' && url.pathname === '/webhooks/revox') {
      const raw = await readBody(request);
      const orderId = await storeDelivery(raw, { 'content-type': request.headers['content-type'] });
      return send(response, 200, JSON.stringify({ status: 'accepted', duplicate: false, callRevoxId: orderId }));
    }
    if (url.pathname === '/page') {
      const result = await pool.query(PAGE_SQL, [Number(url.searchParams.get('first') ?? 50)]);
      return send(response, 200, result.rows[0].body);
    }
    if (url.pathname === '/search') {
      const pattern = `%${(url.searchParams.get('q') ?? '').replace(/[\\%_]/g, '\\$&')}%`;
      const results = url.searchParams.getAll('result');
      const result = await pool.query(SEARCH_SQL, [pattern, results, Number(url.searchParams.get('first') ?? 20)]);
      return send(response, 200, result.rows[0].body);
    }
    if (url.pathname === '/fts') {
      const result = await pool.query(FTS_SQL, [url.searchParams.get('q') ?? '', Number(url.searchParams.get('first') ?? 20)]);
      return send(response, 200, result.rows[0].body);
    }
    if (url.pathname === '/output') {
      const parameter = (name: string) => JSON.parse(url.searchParams.get(name) ?? 'null');
      const path: string[] = parameter('path');
      const containment = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), parameter('equals'));
      const result = await pool.query(OUTPUT_SQL, [JSON.stringify(containment), parameter('groupBy')]);
      return send(response, 200, result.rows[0].body);
    }
    if (url.pathname === '/export') {
      const client = await pool.connect();
      try {
        response.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' });
        await pipeline(client.query(copyTo(exportCopySql(url.searchParams.get('content') === '1'))), response);
      } finally {
        client.release();
      }
      return;
    }
    if (url.pathname === '/health') return send(response, 200, '{"status":"ok"}');
    send(response, 404, '{"error":"not found"}');
  } catch (error) {
    process.stderr.write(`baseline: ${(error as Error).stack}\n`);
    send(response, 500, '{"error":"failed"}');
  }
});
serveUntilTerminated(server, () => pool.end());
