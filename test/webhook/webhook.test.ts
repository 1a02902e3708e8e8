/** POST /webhooks/revox against the real server and database: every row of the contract's webhook table. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderDelivery } from '../../support/deliveries.ts';
import { fixture, startTestServer, storedOrder, WEBHOOK_SECRET, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ maxBodyBytes: 5 * 1024 * 1024 });
});
afterAll(() => server?.dispose());

const archiveCount = () => server.database.prisma.webhookDelivery.count();

describe('a valid delivery', () => {
  it('is stored in full and answered 200 with duplicate: false', async () => {
    const delivery = fixture('outbound-attempt-2-human-completed');
    const response = await server.deliver(delivery);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'accepted', duplicate: false, callRevoxId: delivery.call.id, attempts: { created: 2 } });
    expect(response.headers.get('x-request-id')).toBeTruthy();

    const order = await storedOrder(server, delivery.call.id);
    expect(order).toMatchObject({
      fromPhoneNumber: '+33187654321',
      toPhoneNumber: '+33612345678',
      direction: 'outbound',
      isCompleted: true,
      callsCount: 2,
      status: 'completed',
      outcome: 'completed',
      metadata: { patient_id: 'P-48213', campaign: 'reminders-week-48' },
      llmModel: delivery.call.llm_model,
      retryConfig: delivery.call.call_retry_config,
    });
    expect(order!.createdAt.toISOString()).toBe('2026-11-20T08:59:58.000Z');
    const human = order!.attempts.find((a) => a.revoxId === 'att_01JD8ZK2B4C6D8E0F2G4H6J8K0')!;
    // +02:00 offsets are stored as the same instant in UTC.
    expect(human.startedAt!.toISOString()).toBe('2026-11-20T09:00:03.000Z');
    expect(human).toMatchObject({ status: 'completed', result: 'human', endedBy: 'agent', endReason: 'tool_end_call', handledByAi: true });
    expect(human.transcript.map((t) => t.role)).toEqual(['assistant', 'user', 'tool', 'assistant', 'user', 'assistant']);
    expect(human.transcript[2]).toMatchObject({
      toolName: 'find_slots',
      toolArguments: { day: '2026-11-27', part: 'morning' },
      toolIsError: false,
    });
    expect(human.transcript[0]!.content).toContain('Saint-Éloi');
    expect(human.structuredOutput).toEqual(delivery.call_attempt.structured_output);
  });

  it('accepts the token as an Authorization: Bearer header', async () => {
    const response = await server.deliver(fixture('outbound-attempt-1-voicemail'), {
      token: null,
      headers: { authorization: `Bearer ${WEBHOOK_SECRET}` },
    });
    expect(response.status).toBe(200);
  });

  it('answers duplicate: true for the same delivery again, and changes nothing', async () => {
    const delivery = fixture('inbound-custom-llm-with-api-key');
    expect((await server.deliver(delivery)).body.duplicate).toBe(false);
    const before = await storedOrder(server, delivery.call.id);
    const updatedAt = await server.database.prisma.callOrder.findUnique({
      where: { revoxId: delivery.call.id },
      select: { updatedAt: true },
    });

    // Same content, different formatting and key order: still the same delivery.
    const again = await server.deliver(null, {
      raw: JSON.stringify({ call_attempt: delivery.call_attempt, call: delivery.call }, null, 2),
    });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'accepted', duplicate: true, attempts: { created: 0, updated: 0 } });
    expect(await storedOrder(server, delivery.call.id)).toEqual(before);
    expect(
      await server.database.prisma.callOrder.findUnique({ where: { revoxId: delivery.call.id }, select: { updatedAt: true } }),
    ).toEqual(updatedAt);
  });
});

describe('rejected deliveries', () => {
  it('401 for a missing or wrong token, and nothing is stored or archived', async () => {
    const before = await archiveCount();
    const delivery = fixture('outbound-attempt-1-voicemail');
    delivery.call.id = 'call_unauthorised';
    for (const options of [
      { token: null },
      { token: 'wrong-token' },
      { token: `${WEBHOOK_SECRET}x` },
      { token: null, headers: { authorization: 'Bearer nope' } },
    ]) {
      const response = await server.deliver(delivery, options);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('unauthorized');
    }
    expect(await archiveCount()).toBe(before);
    expect(await server.database.prisma.callOrder.findUnique({ where: { revoxId: 'call_unauthorised' } })).toBeNull();
  });

  it('400 for a body that is not JSON, archived as rejected', async () => {
    const response = await server.deliver(null, { raw: '{"call": {"id": ' });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('malformed_body');
    expect(response.body.error.message).toMatch(/not JSON/);
    const archived = await server.database.prisma.webhookDelivery.findFirst({ where: { requestId: response.body.requestId } });
    expect(archived).toMatchObject({ outcome: 'rejected', httpStatus: 400, body: '{"call": {"id": ' });
  });

  it('400 for a body that is not UTF-8', async () => {
    const response = await server.deliver(null, { raw: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    expect(response.status).toBe(400);
    expect(response.body.error.message).toMatch(/UTF-8/);
  });

  it('415 for a body that is not application/json', async () => {
    const response = await server.deliver(fixture('outbound-attempt-1-voicemail'), { headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(415);
    expect(response.body.error).toMatchObject({ code: 'unsupported_media_type' });
    expect(response.body.error.message).toContain('text/plain');
  });

  it('accepts application/json with a charset', async () => {
    const response = await server.deliver(fixture('outbound-attempt-1-voicemail'), {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(response.status).toBe(200);
  });

  it.each([
    ['call', (d: any) => delete d.call, 'call'],
    ['call.id missing', (d: any) => delete d.call.id, 'call.id'],
    ['call.id empty', (d: any) => (d.call.id = ' '), 'call.id'],
    ['bad attempt timestamp', (d: any) => (d.call.call_attempts[0].started_at = 'yesterday'), 'call.call_attempts[0].started_at'],
    ['timestamp without offset', (d: any) => (d.call_attempt.ended_at = '2026-11-20T11:00:03'), 'call_attempt.ended_at'],
    ['impossible date', (d: any) => (d.call.created_at = '2026-13-45T00:00:00Z'), 'call.created_at'],
    ['phone number', (d: any) => (d.call.to_phone_number = '0612345678'), 'call.to_phone_number'],
    ['attempt phone number', (d: any) => (d.call.last_call_attempt.phone_number = 12), 'call.last_call_attempt.phone_number'],
    ['transcript turn', (d: any) => (d.call.call_attempts[1].transcript[0] = 'hello'), 'call.call_attempts[1].transcript[0]'],
    ['transcript role', (d: any) => delete d.call_attempt.transcript[1].role, 'call_attempt.transcript[1].role'],
    ['is_completed type', (d: any) => (d.call.is_completed = 'yes'), 'call.is_completed'],
    ['call_attempts type', (d: any) => (d.call.call_attempts = {}), 'call.call_attempts'],
  ])('422 naming the field: %s', async (_name, corrupt, path) => {
    const delivery = fixture('outbound-attempt-2-human-completed');
    corrupt(delivery);
    const response = await server.deliver(delivery);
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({ code: 'invalid_delivery', path });
    expect(response.body.error.message).toContain(path);
    const archived = await server.database.prisma.webhookDelivery.findFirst({ where: { requestId: response.body.requestId } });
    expect(archived).toMatchObject({ outcome: 'rejected', httpStatus: 422 });
    expect(archived!.error).toContain(path);
  });

  it('422 for JSON that is not an object', async () => {
    const response = await server.deliver([]);
    expect(response.status).toBe(422);
    expect(response.body.error.path).toBe('$');
  });

  it('a rejected delivery never changes what was stored before', async () => {
    const delivery: any = orderDelivery('call_keep_me', [{ id: 'keep_a0' }, { id: 'keep_a1' }], 0);
    expect((await server.deliver(delivery)).status).toBe(200);
    const before = await storedOrder(server, 'call_keep_me');
    delivery.call.is_completed = false;
    delivery.call.call_attempts[0].ended_at = 'not a time';
    expect((await server.deliver(delivery)).status).toBe(422);
    expect(await storedOrder(server, 'call_keep_me')).toEqual(before);
  });

  it('413 for a body over the limit, without reading it all', async () => {
    const small = await startTestServer({ maxBodyBytes: 64 * 1024 });
    try {
      const delivery = fixture('outbound-attempt-1-voicemail');
      delivery.call.metadata = { padding: 'x'.repeat(70 * 1024) };
      const response = await small.deliver(delivery);
      expect(response.status).toBe(413);
      expect(response.body.error.code).toBe('body_too_large');
      const archived = await small.database.prisma.webhookDelivery.findFirst({ where: { requestId: response.body.requestId } });
      expect(archived).toMatchObject({ outcome: 'rejected', httpStatus: 413, body: null });

      // A chunked body with no Content-Length is cut off as it streams.
      const streamed = await fetch(`${small.url}/webhooks/revox?token=${WEBHOOK_SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 100; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(1024)));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
    } finally {
      await small.dispose();
    }
  });

  it('accepts a body just under the 5 MiB default', async () => {
    const delivery: any = orderDelivery('call_big', [{ id: 'big_a0' }], 0);
    delivery.call.metadata = { padding: 'x'.repeat(5 * 1024 * 1024 - JSON.stringify(delivery).length - 200) };
    const response = await server.deliver(delivery);
    expect(response.status).toBe(200);
    delivery.call.metadata.padding += 'x'.repeat(400);
    expect((await server.deliver(delivery)).status).toBe(413);
  });

  it('405 for a method other than POST', async () => {
    const response = await fetch(`${server.url}/webhooks/revox?token=${WEBHOOK_SECRET}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('health', () => {
  it('/health and /ready answer 200 while the database is up', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });
});
