/**
 * Importing history from Revox's REST API (the local fake) through the webhook pipeline, into the real server's
 * database: paging, --since, resuming, idempotence, newer state kept, and secrets removed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSync, type SyncOptions } from '../../src/revox/sync.ts';
import { replayArchived } from '../../src/ingest/replay.ts';
import { orderDeliveries } from '../../support/deliveries.ts';
import { startTestServer, storedOrder, type TestServer } from '../../support/server.ts';
import { clientFor, restCall, startFakeRevox, type FakeRevox } from './fakeRevox.ts';

let revox: FakeRevox;
let server: TestServer;
beforeEach(async () => {
  revox = await startFakeRevox();
  server = await startTestServer();
});
afterEach(async () => {
  await server?.dispose();
  await revox?.close();
});

const client = () => clientFor(revox, { maxRetries: 2, baseDelayMs: 5 });

const sync = (options: Partial<SyncOptions> = {}) =>
  runSync(server.database.prisma, client(), {
    since: null,
    pageSize: 100,
    firstPage: 0,
    events: server.events,
    ...options,
  });

const START = Date.UTC(2026, 9, 31, 12);
/** `count` calls, one a minute going back from START, newest first in search. */
function history(count: number, prefix: string) {
  for (let i = 0; i < count; i += 1) {
    revox.put(restCall(`${prefix}_${i}`, [{ id: `${prefix}_att_${i}`, turns: 2 }], 0, { createdAt: new Date(START - i * 60_000) }));
  }
}

const searchedPages = () => revox.requests.filter((request) => request.path === '/call/search').map((request) => request.page);

/** What the database holds, with the last time anything was written. */
async function snapshot() {
  const prisma = server.database.prisma;
  const [orders, attempts, turns, lastWrite] = await Promise.all([
    prisma.callOrder.count(),
    prisma.callAttempt.count(),
    prisma.transcriptMessage.count(),
    prisma.$queryRaw<
      { at: Date }[]
    >`SELECT greatest((SELECT max(updated_at) FROM call_orders), (SELECT max(updated_at) FROM call_attempts)) AS at`,
  ]);
  return { orders, attempts, turns, lastWrite: lastWrite[0]!.at };
}

describe('npm run sync: importing history', () => {
  it('imports 1,000 calls over 10 pages, keeps what only REST has in extra; a second run changes nothing', async () => {
    history(1_000, 'bulk');
    const first = await sync();
    expect(first).toMatchObject({
      status: 'completed',
      resumed: false,
      seen: 1_000,
      stored: 1_000,
      unchanged: 0,
      failed: 0,
      lastError: null,
    });
    expect(searchedPages()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const imported = await snapshot();
    expect(imported).toMatchObject({ orders: 1_000, attempts: 1_000, turns: 2_000 });
    expect(await server.database.prisma.webhookDelivery.count({ where: { source: 'sync', outcome: 'accepted' } })).toBe(1_000);

    const order = (await storedOrder(server, 'bulk_7'))!;
    expect(order.extra).toMatchObject({
      contact: { first_name: 'Ada' },
      campaign: { id: 'camp_1', name: 'Autumn' },
      assignee: null,
      first_sentence_delay_ms: 400,
    });
    expect(order.extra).toMatchObject({ assistant: { id: 'asst_1', name: 'Qualifier' } });
    expect(order.attempts[0]!.handledByAi).toBe(true);
    expect(order.attempts[0]!.extra).toMatchObject({ assistants_used: ['node_greeting', 'node_qualify'], handled_by_user: null });

    const api = await server.graphql(
      '{ callOrders(first: 1) { totalCount nodes { revoxId } } syncStatus { lastSync { status seen stored unchanged failed since lastError } } }',
    );
    expect(api.body.data.callOrders).toEqual({ totalCount: 1_000, nodes: [{ revoxId: 'bulk_0' }] });
    expect(api.body.data.syncStatus.lastSync).toEqual({
      status: 'COMPLETED',
      seen: 1_000,
      stored: 1_000,
      unchanged: 0,
      failed: 0,
      since: null,
      lastError: null,
    });

    const again = await sync();
    expect(again).toMatchObject({ status: 'completed', resumed: false, seen: 1_000, stored: 0, unchanged: 1_000, failed: 0 });
    expect(await snapshot()).toEqual(imported);
  });

  it('stops at the first page older than --since, and imports nothing older', async () => {
    history(300, 'recent');
    // Call 123 was created 123 minutes before START: it is on page 2 of 50-call pages.
    const summary = await sync({ since: new Date(START - 123 * 60_000), pageSize: 50 });
    expect(summary).toMatchObject({ status: 'completed', seen: 124, stored: 124, failed: 0 });
    expect(searchedPages()).toEqual([0, 1, 2]);
    expect(await storedOrder(server, 'recent_123')).not.toBeNull();
    expect(await storedOrder(server, 'recent_124')).toBeNull();
  });

  it('an interrupted import resumes where it stopped', async () => {
    history(250, 'resume');
    const interrupt = new AbortController();
    const interrupted = await sync({ pageSize: 50, signal: interrupt.signal, onProgress: () => interrupt.abort() });
    expect(interrupted).toMatchObject({ status: 'interrupted', seen: 50, stored: 50 });

    revox.lasting = { status: 500, only: 'search', page: 2 };
    const failed = await sync({ pageSize: 50 });
    expect(failed).toMatchObject({ status: 'failed', resumed: true, seen: 100, stored: 100 });
    expect(failed.lastError).toBe('Revox did not answer POST /call/search after 3 tries (last: HTTP 500)');
    const status = await server.graphql('{ syncStatus { lastSync { status lastError } } }');
    expect(status.body.data.syncStatus.lastSync).toEqual({ status: 'FAILED', lastError: failed.lastError });

    revox.lasting = null;
    revox.requests.length = 0;
    const resumed = await sync({ pageSize: 50 });
    expect(resumed).toMatchObject({ status: 'completed', resumed: true, seen: 250, stored: 250, unchanged: 0, failed: 0 });
    expect(searchedPages()).toEqual([2, 3, 4]);
    expect(await server.database.prisma.callOrder.count()).toBe(250);
    // One run, resumed twice.
    expect(await server.database.prisma.revoxSyncRun.count({ where: { kind: 'sync' } })).toBe(1);
  });

  it('never overwrites a newer state the webhook stored; stores a newer state Revox has', async () => {
    const attempts = [
      { id: 'newer_a0', result: 'voicemail' },
      { id: 'newer_a1', result: 'human' },
    ];
    for (const delivery of orderDeliveries('call_newer_by_webhook', attempts)) expect((await server.deliver(delivery)).status).toBe(200);
    const before = await storedOrder(server, 'call_newer_by_webhook');
    expect(before!.isCompleted).toBe(true);
    // Revox's REST copy is older here (one attempt), as a stale read or a cache would be.
    revox.put(restCall('call_newer_by_webhook', attempts, 0));
    // And the webhook missed the completion of this one.
    const missed = [
      { id: 'missed_a0', result: 'voicemail' },
      { id: 'missed_a1', result: 'human' },
    ];
    expect((await server.deliver(orderDeliveries('call_newer_in_revox', missed)[0])).status).toBe(200);
    revox.put(restCall('call_newer_in_revox', missed, 1));

    expect(await sync()).toMatchObject({ status: 'completed', seen: 2, failed: 0 });
    // The order and its last attempt are as the webhook left them. (The first attempt, equal in version, may take
    // the REST copy's extra fields: equal versions are decided by their content hash, whatever arrives first.)
    const { attempts: attemptsAfter, ...orderAfter } = (await storedOrder(server, 'call_newer_by_webhook'))!;
    const { attempts: attemptsBefore, ...orderBefore } = before!;
    expect(orderAfter).toEqual(orderBefore);
    expect(attemptsAfter[1]).toEqual(attemptsBefore[1]);
    expect(attemptsAfter.map((a) => [a.revoxId, a.status, a.result])).toEqual(attemptsBefore.map((a) => [a.revoxId, a.status, a.result]));
    const healed = (await storedOrder(server, 'call_newer_in_revox'))!;
    expect(healed.isCompleted).toBe(true);
    expect(healed.attempts.map((attempt) => [attempt.revoxId, attempt.result])).toEqual([
      ['missed_a0', 'voicemail'],
      ['missed_a1', 'human'],
    ]);
  });

  it('names the calls it could not store, stores the rest, and counts them as failed', async () => {
    history(3, 'mixed');
    const broken = restCall('mixed_broken', [{ id: 'mixed_broken_att' }], 0, { createdAt: new Date(START - 10 * 60_000) });
    broken.to_phone_number = '0612345678';
    revox.put(broken);
    const summary = await sync();
    expect(summary).toMatchObject({ status: 'completed', seen: 4, stored: 3, failed: 1 });
    expect(summary.failures).toEqual([
      {
        revoxId: 'mixed_broken',
        error: 'invalid_delivery: call.to_phone_number: must be an E.164 phone number such as +14155550123, got 10 characters',
      },
    ]);
    const archived = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { callRevoxId: 'mixed_broken' } });
    expect(archived).toMatchObject({ source: 'sync', outcome: 'rejected', httpStatus: 422 });
    // A replay goes through the same pipeline and keeps saying where the delivery came from.
    expect(await replayArchived(server.database.prisma, 'not-accepted')).toMatchObject({ replayed: 1, stillRejected: 1 });
    const replayed = await server.database.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: archived.id } });
    expect(replayed).toMatchObject({ source: 'sync', outcome: 'rejected' });
    expect(replayed.replayedAt).toBeInstanceOf(Date);
  });
});

describe('secrets in what only REST carries', () => {
  it('no secret inside assistant reaches the database, the archive or any GraphQL answer; the rest is kept', async () => {
    const secrets = [
      'sk-assistant-llm-0123456789',
      'sk-tool-bearer-0123456789',
      'cb-webhook-token-0123456789',
      'sk-custom-llm-0123456789',
      'pw-calendly-0123456789',
    ];
    const call = restCall('call_with_assistant', [{ id: 'att_with_assistant' }], 0, {
      assistant: {
        id: 'asst_secret',
        name: 'Closer',
        llm_model: { type: 'custom', api_url: 'https://llm.example.com', api_key: secrets[0] },
        tools: [{ name: 'crm', headers: { Authorization: `Bearer ${secrets[1]}`, 'X-Trace': 'kept' } }],
        webhook_url: `https://callboard.example.com/webhooks/revox?token=${secrets[2]}&keep=1`,
        calendly: { connection: { password: secrets[4], user: 'sales' } },
      },
    });
    call.llm_model = { type: 'custom', api_url: 'https://llm.example.com', model_name: 'closer', api_key: secrets[3] };
    revox.put(call);
    expect(await sync()).toMatchObject({ status: 'completed', stored: 1, failed: 0 });

    const order = (await storedOrder(server, 'call_with_assistant'))!;
    expect((order.extra as any).assistant).toEqual({
      id: 'asst_secret',
      name: 'Closer',
      llm_model: { type: 'custom', api_url: 'https://llm.example.com' },
      tools: [{ name: 'crm', headers: { 'X-Trace': 'kept' } }],
      webhook_url: 'https://callboard.example.com/webhooks/revox?keep=1',
      calendly: { connection: { user: 'sales' } },
    });
    const api = await server.graphql(`{
      callOrders(first: 10) { nodes { revoxId metadata llmModel { ... on CustomLlm { raw } } retryConfig { raw }
        attempts(first: 10) { nodes { structuredOutput transcript { content toolArguments } } } } }
      syncStatus { lastSync { lastError } } }`);
    expect(api.body.errors).toBeUndefined();
    for (const secret of secrets) {
      expect(JSON.stringify(api.body)).not.toContain(secret);
      for (const table of ['call_orders', 'call_attempts', 'transcript_messages', 'webhook_deliveries', 'revox_sync_runs']) {
        const rows = await server.database.prisma.$queryRawUnsafe<{ n: bigint }[]>(
          `SELECT count(*) AS n FROM ${table} t WHERE t::text LIKE '%' || $1 || '%'`,
          secret,
        );
        expect(Number(rows[0]!.n), `${secret} in ${table}`).toBe(0);
      }
    }
  });
});
