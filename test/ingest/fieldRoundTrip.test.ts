/**
 * A stored delivery read back, through GraphQL and row by row, field for field. The snapshot was recorded with the
 * multi-statement store that preceded callboard_store_delivery: the function must store exactly what it stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    for (const revoxId of [...new Set(deliveries().map((delivery) => delivery.call.id as string))]) {
      const { body } = await server.graphql(ORDER_QUERY, { revoxId });
      expect(body.errors).toBeUndefined();
      expect(body.data.callOrder).toMatchSnapshot(`GraphQL ${revoxId}`);
      expect(await storedOrder(server, revoxId)).toMatchSnapshot(`rows ${revoxId}`);
    }
  });

  it('keeps the archived body and what became of it', async () => {
    const rows = await server.database.prisma.webhookDelivery.findMany({
      where: { callRevoxId: { in: deliveries().map((delivery) => delivery.call.id) } },
      orderBy: { receivedAt: 'asc' },
      omit: { id: true, receivedAt: true, requestId: true, replayedAt: true },
    });
    expect(rows.map((row) => ({ ...row, body: JSON.parse(row.body!) }))).toMatchSnapshot();
  });
});
