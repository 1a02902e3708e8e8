/** What Revox may send, stored faithfully: payload variants, unknown values, secrets, large and unicode content. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestServer, storedOrder, type TestServer } from '../../support/server.ts';
import { deliveryMaker } from '../../support/deliveries.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

const delivery = deliveryMaker('payload');

async function store(d: any) {
  const response = await server.deliver(d);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return (await storedOrder(server, d.call.id))!;
}

describe('call_retry_config', () => {
  it.each([
    [
      'flat',
      {
        calling_window_start_time: '10:00',
        calling_window_end_time: '18:00',
        retry_delay_seconds: 7200,
        max_retry_attempts: 3,
        timezone: 'Europe/Paris',
      },
    ],
    [
      'calling_windows',
      {
        calling_windows: [{ calling_window_start_time: '9am', calling_window_end_time: '6pm', retry_delay_seconds: 3600 }],
        max_retry_attempts: 2,
        timezone: 'UTC',
      },
    ],
    [
      'newest',
      {
        calling_windows: [{ start: '17:00', end: '19:00', retry_delay_seconds: 600 }],
        max_retry_attempts: 5,
        timezone: 'UTC',
        allowed_days: ['monday', 'friday'],
        call_twice_in_a_row: true,
      },
    ],
    ['absent', null],
  ])('accepts the %s shape and keeps it as sent', async (_shape, config) => {
    const order = await store(delivery((d) => (d.call.call_retry_config = config)));
    expect(order.retryConfig).toEqual(config);
  });
});

describe('llm_model', () => {
  it.each([
    [{ type: 'dedicated-instance', name: 'gpt-4.1' }],
    [{ type: 'openrouter', openrouter_model_id: 'anthropic/claude-sonnet-4', openrouter_provider: 'anthropic' }],
    [{ type: 'realtime', provider: 'openai', realtime_model_id: 'gpt-realtime', realtime_voice_id: 'alloy' }],
    [{ type: 'quantum-llm', qubits: 7 }],
  ])('keeps the %o variant as sent', async (model) => {
    const order = await store(delivery((d) => (d.call.llm_model = model)));
    expect(order.llmModel).toEqual(model);
  });

  it('removes the api_key of a custom model from the records and the archive', async () => {
    const d = fixture('inbound-custom-llm-with-api-key');
    const secret = d.call.llm_model.api_key;
    const response = await server.deliver(d);
    expect(response.status).toBe(200);
    const order = (await storedOrder(server, d.call.id))!;
    expect(order.llmModel).toEqual({ type: 'custom', api_url: 'https://llm.internal.example.com/v1', model_name: 'support-agent-v3' });

    const archived = await server.database.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: response.body.deliveryId } });
    // Everything else is kept: the body without the key, re-serialised.
    const { api_key: _secret, ...modelWithoutKey } = d.call.llm_model;
    expect(archived.body).toBe(JSON.stringify({ ...d, call: { ...d.call, llm_model: modelWithoutKey } }));

    // No table holds the secret anywhere, in any column.
    for (const table of ['call_orders', 'call_attempts', 'transcript_messages', 'webhook_deliveries']) {
      const rows = await server.database.prisma.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT count(*) AS n FROM ${table} t WHERE t::text LIKE '%' || $1 || '%'`,
        secret,
      );
      expect(Number(rows[0]!.n), table).toBe(0);
    }
    expect(server.logs.join('\n')).not.toContain(secret);
  });

  it('removes an api_key written with unusual escapes, and from rejected deliveries too', async () => {
    const secret = 'sk-escaped-secret-1234';
    const d = delivery((x) => (x.call.llm_model = { type: 'custom', api_url: 'https://x.example', model_name: 'm', api_key: secret }));
    const escaped = JSON.stringify(d).replace(secret, secret.replace('s', '\\u0073'));
    const accepted = await server.deliver(null, { raw: escaped });
    expect(accepted.status).toBe(200);
    const rejected = await server.deliver(null, { raw: `{"call": {"llm_model": {"type": "custom", "api_key": "${secret}"` });
    expect(rejected.status).toBe(400);
    // A parser's error message would quote the text around the mistake, secret included.
    const quoted = await server.deliver(null, { raw: `{"call": {"llm_model": {"type": "custom", "api_key": '${secret}'}}}` });
    expect(quoted.status).toBe(400);
    expect(JSON.stringify(quoted.body)).not.toContain('sk-escape');
    const invalid = await server.deliver(
      delivery((x) => {
        x.call.llm_model = { type: 'custom', api_key: secret };
        delete x.call.id;
      }),
    );
    expect(invalid.status).toBe(422);
    for (const response of [accepted, rejected, quoted, invalid]) {
      const archived = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { requestId: response.body.requestId } });
      expect(archived.body ?? '').not.toContain('sk-escape');
      expect(archived.error ?? '').not.toContain('sk-escape');
    }
  });
});

describe('values this code does not know yet', () => {
  it('keeps unknown enum values and unknown fields instead of rejecting them', async () => {
    const order = await store(
      delivery((d) => {
        d.call.direction = 'sideways';
        d.call.status = 'teleporting';
        d.call.outcome = 'delighted';
        d.call.sentiment_score = 0.93;
        d.call.call_attempts[0].status = 'transferred';
        d.call.call_attempts[0].result = 'fax-machine';
        d.call.call_attempts[0].dial_error = 'carrier_on_fire';
        d.call.call_attempts[0].ended_by = 'cat';
        d.call.call_attempts[0].latency_ms = 420;
        d.call.call_attempts[0].transcript[0].emotion = 'calm';
        d.call_attempt = d.call.call_attempts[0];
        d.call.last_call_attempt = d.call.call_attempts[0];
      }),
    );
    expect(order).toMatchObject({ direction: 'sideways', status: 'teleporting', outcome: 'delighted', extra: { sentiment_score: 0.93 } });
    const [attempt] = order.attempts;
    expect(attempt).toMatchObject({
      status: 'transferred',
      result: 'fax-machine',
      dialError: 'carrier_on_fire',
      endedBy: 'cat',
      extra: { latency_ms: 420 },
    });
    expect(attempt!.transcript[0]!.extra).toEqual({ emotion: 'calm' });
  });
});

describe('timestamps', () => {
  it.each([
    ['ISO with Z', '2026-11-20T09:00:03Z', '2026-11-20T09:00:03.000Z'],
    ['ISO with offset', '2026-11-20T11:00:03.250+02:00', '2026-11-20T09:00:03.250Z'],
    ['ISO with compact offset', '2026-11-20T04:00:03-0500', '2026-11-20T09:00:03.000Z'],
    ['epoch seconds', 1763629203, '2025-11-20T09:00:03.000Z'],
    ['epoch milliseconds', 1763629203250, '2025-11-20T09:00:03.250Z'],
  ])('accepts %s', async (_name, value, iso) => {
    const order = await store(
      delivery((d) => {
        d.call.call_attempts[0].started_at = value;
        d.call_attempt = d.call.last_call_attempt = d.call.call_attempts[0];
      }),
    );
    expect(order.attempts[0]!.startedAt!.toISOString()).toBe(iso);
  });

  it('keeps null timestamps as null', async () => {
    const order = await store(
      delivery((d) => {
        Object.assign(d.call.call_attempts[0], { answered_at: null, ended_at: null, status: 'ongoing' });
        d.call_attempt = d.call.last_call_attempt = d.call.call_attempts[0];
      }),
    );
    expect(order.attempts[0]).toMatchObject({ answeredAt: null, endedAt: null });
  });
});

describe('attempt ids', () => {
  it('422 when a delivery claims an attempt that belongs to another order, and nothing changes', async () => {
    const first = delivery();
    await store(first);
    const thief = delivery((d) => {
      d.call.call_attempts[0].id = first.call.call_attempts[0].id;
      d.call_attempt = d.call.last_call_attempt = d.call.call_attempts[0];
    });
    const response = await server.deliver(thief);
    expect(response.status).toBe(422);
    expect(response.body.error.path).toBe('call.call_attempts[0].id');
    expect(response.body.error.message).toContain(first.call.id);
    expect(await storedOrder(server, thief.call.id)).toBeNull();
  });
});

describe('content', () => {
  it('stores unicode exactly: accents, CJK, emoji, RTL, and a NUL-free control character', async () => {
    const text = 'Ça marche 👍 — 你好 — مرحبا — \u2028 line separator — "quotes" \\ backslash';
    const order = await store(
      delivery((d) => (d.call_attempt.transcript[0].content = d.call.call_attempts[0].transcript[0].content = text)),
    );
    expect(order.attempts[0]!.transcript[0]!.content).toBe(text);
  });

  it('stores a 200-turn transcript in order, with tool turns', async () => {
    const d = delivery();
    const turns = Array.from({ length: 200 }, (_, i) =>
      i % 10 === 9
        ? { role: 'tool', content: `result ${i}`, tool_name: 'lookup', tool_arguments: { i }, tool_is_error: i % 20 === 19 }
        : { role: i % 2 === 0 ? 'assistant' : 'user', content: `turn ${i}: ${'lorem ipsum '.repeat(20)}` },
    );
    d.call.call_attempts[0].transcript = turns;
    d.call_attempt = d.call.last_call_attempt = d.call.call_attempts[0];
    const order = await store(d);
    const transcript = order.attempts[0]!.transcript;
    expect(transcript).toHaveLength(200);
    expect(transcript.map((t) => t.position)).toEqual([...Array(200).keys()]);
    expect(transcript[199]).toMatchObject({
      role: 'tool',
      content: 'result 199',
      toolName: 'lookup',
      toolArguments: { i: 199 },
      toolIsError: true,
    });
    expect(transcript[100]!.content).toBe(turns[100]!.content);
  });

  it('keeps a tool_arguments string as a string', async () => {
    const d = fixture('inbound-custom-llm-with-api-key');
    d.call.id = 'call_tool_string';
    for (const attempt of [d.call_attempt, d.call.last_call_attempt, ...d.call.call_attempts]) attempt.id = 'att_tool_string';
    expect((await server.deliver(d)).status).toBe(200);
    const order = (await storedOrder(server, 'call_tool_string'))!;
    expect(order.attempts[0]!.transcript[2]).toMatchObject({ toolArguments: '{"order_id":"7781"}', toolIsError: true });
  });
});

describe('values refused without being quoted or altered', () => {
  it('a phone number that is not E.164: 422 naming the field and its length, never the number', async () => {
    const d = delivery((x) => (x.call.to_phone_number = '0612345678'));
    const response = await server.deliver(d);
    expect(response.status).toBe(422);
    expect(response.body.error).toEqual({
      code: 'invalid_delivery',
      path: 'call.to_phone_number',
      message: 'call.to_phone_number: must be an E.164 phone number such as +14155550123, got 10 characters',
    });
    const archived = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { requestId: response.body.requestId } });
    expect(archived.error).not.toContain('0612345678');
    expect(server.logs.join('\n')).not.toContain('0612345678');
  });

  it.each(['1e400', '-1e400'])('a number beyond the double range (%s): 422 naming the field, archived as received', async (number) => {
    const raw = JSON.stringify(delivery((x) => (x.call.metadata = { score: 0 }))).replace('"score":0', `"score":${number}`);
    const response = await server.deliver(null, { raw });
    expect(response.status).toBe(422);
    expect(response.body.error).toEqual({
      code: 'invalid_delivery',
      path: 'call.metadata.score',
      message: `call.metadata.score: must be a number from -${Number.MAX_VALUE} to ${Number.MAX_VALUE}`,
    });
    const archived = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { requestId: response.body.requestId } });
    expect(archived).toMatchObject({ outcome: 'rejected', httpStatus: 422, body: raw });
    expect(await storedOrder(server, JSON.parse(raw.replace(number, '0')).call.id)).toBeNull();
  });
});
