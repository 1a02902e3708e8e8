/**
 * A stored delivery read back, through GraphQL and row by row, field for field: every field Revox sent comes back
 * equal, in its column (or in `extra`, when there is no column for it) and in the GraphQL field of its name. What to
 * expect is derived from the deliveries themselves by the naming rules below, so a fixture can change without a
 * snapshot to re-record, and a field lost or changed on the way fails. callboard_store_delivery must store exactly
 * this.
 */
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isListType,
  isObjectType,
  isUnionType,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.ts';
import { contentHash, type Json } from '../../src/ingest/json.ts';
import { fixture, startTestServer, storedOrder, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

/** A delivery with every field Callboard knows, unknown fields at every level and JSON of every shape. */
function everyFieldDelivery() {
  const delivery = fixture('outbound-attempt-2-human-completed');
  const { call } = delivery;
  call.id = 'call_every_field';
  call.is_cancelled = null;
  call.scheduled_at = '2026-11-20T10:00:00.123+01:00';
  call.next_call_at = '2026-11-21T10:00:00Z';
  call.llm_model = { type: 'openrouter', openrouter_model_id: 'x/y', openrouter_provider: 'p', temperature: 0.2 };
  call.campaign_label = { nested: [1, 'two', null, true, { deep: [] }] };
  for (const attempt of call.call_attempts) {
    attempt.id = `${attempt.id}_every`;
    attempt.dial_error = attempt.result === 'human' ? null : 'busy';
    attempt.end_reason ??= 'silence';
    attempt.handled_by_human = null;
    attempt.sip_code = 200;
    attempt.transcript?.push(
      { role: 'tool', content: '', tool_name: 'echo', tool_arguments: 'a string', tool_is_error: null, latency_ms: 12 },
      { role: 'tool', tool_name: 'count', tool_arguments: [1, 2.5, -3e-7], confidence: null },
      { role: 'system', content: 'émoji 📞 and "quotes" and \\ backslash', tool_arguments: 42 },
    );
  }
  call.last_call_attempt = call.call_attempts[0];
  delivery.call_attempt = call.call_attempts[0];
  return delivery;
}

const ORDER_FIELDS = `revoxId fromPhoneNumber toPhoneNumber direction directionRaw isCompleted isCancelled callsCount nextCallAt
  scheduledAt createdAt status statusRaw outcome outcomeRaw metadata
  retryConfig { allowedDays callTwiceInARow callingWindows { start end retryDelaySeconds } maxRetryAttempts raw timezone }
  llmModel { __typename
    ... on CustomLlm { apiUrl modelName raw type }
    ... on DedicatedInstanceLlm { name raw type }
    ... on OpenRouterLlm { openrouterModelId openrouterProvider raw type }
    ... on OtherLlm { raw type }
    ... on RealtimeLlm { provider raw realtimeModelId realtimeVoiceId type } }`;
const ATTEMPT_FIELDS = `revoxId phoneNumber status statusRaw result resultRaw dialError dialErrorRaw endedBy endedByRaw endReason
  recordingUrl startedAt answeredAt endedAt durationSeconds structuredOutput handledByAi handledByHuman
  transcript { position role roleRaw content toolName toolArguments toolIsError }`;
const ORDER_QUERY = `query($revoxId: String!) { callOrder(revoxId: $revoxId) { ${ORDER_FIELDS}
  lastAttempt { revoxId } attempts(first: 10) { nodes { ${ATTEMPT_FIELDS} callOrder { revoxId } } } } }`;

type Sent = Record<string, any>;

/** Fields Callboard names otherwise than the camelCase of Revox's name, in its columns and its GraphQL fields alike. */
const RENAMED: Record<string, string> = { id: 'revoxId', call_retry_config: 'retryConfig', last_call_attempt: 'lastAttempt' };
const nameOf = (key: string) => RENAMED[key] ?? key.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
const sentKeyOf = (name: string) =>
  Object.keys(RENAMED).find((key) => RENAMED[key] === name) ?? name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** The delivery as Callboard keeps it: the custom model's `api_key` is a third party's secret, removed on receipt. */
function kept(delivery: Sent): Sent {
  const copy = structuredClone(delivery);
  delete copy.call.llm_model?.api_key;
  return copy;
}

/** Every attempt a delivery carries, once each. */
function attemptsOf(delivery: Sent): Sent[] {
  const byId = new Map<string, Sent>();
  for (const attempt of [...(delivery.call.call_attempts ?? []), delivery.call.last_call_attempt, delivery.call_attempt]) {
    if (attempt && !byId.has(attempt.id)) byId.set(attempt.id, attempt);
  }
  return [...byId.values()];
}

/**
 * The row `sent` becomes: each field in the column of its name (a timestamp as its instant), or in `extra` when the
 * row has no such column; a column nothing was sent for is null, but for a turn's content (empty) and the version key.
 */
function expectedRow(row: Sent, sent: Sent): Sent {
  const expected: Sent = { extra: {} };
  for (const [key, value] of Object.entries(sent)) {
    const column = nameOf(key);
    if (column === 'extra' || !Object.hasOwn(row, column)) expected.extra[key] = value;
    else expected[column] = row[column] instanceof Date && value !== null ? new Date(value) : value;
  }
  for (const column of Object.keys(row)) {
    expected[column] ??= column === 'versionKey' ? expect.any(String) : column === 'content' ? '' : null;
  }
  return expected;
}

/** The rows of the order `delivery` leaves, as storedOrder reads them (attempts by Revox id, turns in order). */
function expectedRows(stored: Sent, delivery: Sent): Sent {
  const { attempts, ...order } = stored;
  const { call_attempts, last_call_attempt, ...call } = delivery.call;
  const sentAttempts = attemptsOf(delivery).sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    ...expectedRow(order, call),
    attempts: sentAttempts.map(({ transcript = [], ...attempt }) => {
      const { transcript: turns = [], ...row } = attempts.find((candidate: Sent) => candidate.revoxId === attempt.id) ?? {};
      return {
        ...expectedRow(row, attempt),
        transcript: transcript.map((turn: Sent, position: number) => ({ ...expectedRow(turns[position] ?? {}, turn), position })),
      };
    }),
  };
}

/** Where a GraphQL field takes its value from, when not from the sent field of its name. */
const SOURCES: Record<string, (sent: Sent, index: number) => unknown> = {
  // Revox lists attempts most recent first, as the connection does.
  'CallOrder.attempts': (call) => ({ nodes: call.call_attempts.map((attempt: Sent) => ({ ...attempt, call_order: { id: call.id } })) }),
  'CallAttempt.durationSeconds': ({ answered_at, ended_at }) =>
    answered_at && ended_at ? (new Date(ended_at).getTime() - new Date(answered_at).getTime()) / 1000 : null,
  // The oldest shape has a single window, in fields of the config itself.
  'CallRetryConfig.callingWindows': (config) =>
    config.calling_windows ?? [
      { start: config.calling_window_start_time, end: config.calling_window_end_time, retry_delay_seconds: config.retry_delay_seconds },
    ],
  'TranscriptMessage.position': (_turn, index) => index,
  'TranscriptMessage.content': (turn) => turn.content ?? '',
};

/** The member of the LlmModel union for each `type` Revox sends; any other is OtherLlm. */
const LLM_MODELS: Record<string, string> = {
  'dedicated-instance': 'DedicatedInstanceLlm',
  openrouter: 'OpenRouterLlm',
  custom: 'CustomLlm',
  realtime: 'RealtimeLlm',
};

/**
 * The answer to the fields `answer` holds of an object of type `typeName` made from `sent`: a `...Raw` field is the
 * value as sent, `raw` the whole object, an enum the member of the same name (or OTHER), a DateTime the instant in
 * UTC, an object or a list made of the sent ones in the same way; a field nothing was sent for is null.
 */
function expectedAnswer(typeName: string, sent: Sent, answer: Sent, index = 0): Sent {
  const fields = (schema.getType(typeName) as GraphQLObjectType).getFields();
  return Object.fromEntries(
    Object.keys(answer).map((field) => {
      if (field === '__typename') return [field, typeName];
      if (field === 'raw') return [field, sent];
      if (field.endsWith('Raw')) return [field, sent[sentKeyOf(field.slice(0, -3))] ?? null];
      const source = SOURCES[`${typeName}.${field}`];
      const value = source ? source(sent, index) : sent[sentKeyOf(field)];
      return [field, expectedValue(fields[field]!.type, value, answer[field])];
    }),
  );
}

function expectedValue(type: GraphQLOutputType, value: any, answer: any, index = 0): unknown {
  if (value === undefined || value === null) return null;
  const nullable = getNullableType(type);
  if (isListType(nullable)) return value.map((item: unknown, i: number) => expectedValue(nullable.ofType, item, answer?.[i], i));
  const named = getNamedType(type);
  if (isEnumType(named)) {
    const member = value.toUpperCase().replaceAll('-', '_');
    return named.getValue(member) ? member : 'OTHER';
  }
  if (named.name === 'DateTime') return new Date(value).toISOString();
  if (isUnionType(named)) return expectedAnswer(LLM_MODELS[value.type] ?? 'OtherLlm', value, answer ?? {});
  if (isObjectType(named)) return expectedAnswer(named.name, value, answer ?? {}, index);
  return value;
}

describe('a stored delivery read back', () => {
  const deliveries = () => [
    fixture('outbound-attempt-1-voicemail'),
    fixture('outbound-attempt-2-human-completed'),
    fixture('inbound-custom-llm-with-api-key'),
    everyFieldDelivery(),
  ];

  it('holds every field it carried, through GraphQL and in its rows', async () => {
    for (const delivery of deliveries()) {
      const response = await server.deliver(delivery);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
    }
    // An order holds what the last delivery for it says.
    const latest = new Map(deliveries().map((delivery) => [delivery.call.id as string, kept(delivery)]));
    for (const [revoxId, delivery] of latest) {
      const { body } = await server.graphql(ORDER_QUERY, { revoxId });
      expect(body.errors).toBeUndefined();
      expect(body.data.callOrder, `GraphQL ${revoxId}`).toEqual(expectedAnswer('CallOrder', delivery.call, body.data.callOrder));
      const stored = (await storedOrder(server, revoxId)) as Sent;
      expect(stored, `rows ${revoxId}`).toEqual(expectedRows(stored, delivery));
    }
  });

  it('keeps the archived body and what became of it', async () => {
    const rows = await server.database.prisma.webhookDelivery.findMany({
      where: { callRevoxId: { in: deliveries().map((delivery) => delivery.call.id) } },
      orderBy: { receivedAt: 'asc' },
      omit: { id: true, receivedAt: true, requestId: true, replayedAt: true },
    });
    const expected = deliveries().map((delivery) => {
      const bytes = Buffer.byteLength(JSON.stringify(delivery));
      const body = kept(delivery);
      return {
        source: 'webhook',
        callRevoxId: delivery.call.id,
        headers: { 'content-length': String(bytes), 'content-type': 'application/json', 'user-agent': 'node' },
        bodyBytes: BigInt(bytes),
        body,
        contentHash: contentHash(body as Json),
        httpStatus: 200,
        outcome: 'accepted',
        error: null,
      };
    });
    expect(rows.map((row) => ({ ...row, body: JSON.parse(row.body!) }))).toEqual(expected);
  });
});
