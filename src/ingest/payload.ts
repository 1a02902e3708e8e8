/**
 * Turns a Revox "call completed" delivery into the records Callboard stores.
 *
 * Strict about what storage and the API rely on (ids, E.164 phone numbers, timestamps that parse, the types of
 * known fields); lenient about the rest: unknown fields are kept in each record's `extra`, and enum-like values
 * (status, result, direction, ...) are kept as sent, known or not. It reads a delivery whose secrets are removed
 * (`WithoutSecrets`), so no record can hold one.
 */
import { FieldReader, unknownFields } from './fieldReader.ts';
import { isJsonObject, type Json, type JsonObject } from './json.ts';
import { PayloadError } from './payloadError.ts';
import type { WithoutSecrets } from './thirdPartySecrets.ts';
import { attemptVersionKey, MAX_CALLS_COUNT, orderVersionKey } from './versionKeys.ts';

/**
 * Most attempts one delivery may carry. Revox retries an order a handful of times; the limit keeps one delivery
 * from publishing an unbounded burst of events (one per finished attempt) or holding the order's lock for long.
 */
export const MAX_ATTEMPTS_PER_DELIVERY = 1_000;

/**
 * The records a delivery becomes, what store.ts hands to storeDelivery.sql: their types are what the parsers below
 * return, so a new field is written once, where it is read.
 */
export type OrderRecord = ReturnType<typeof parseOrder>;
export type AttemptRecord = ReturnType<typeof parseAttempt>;
export type TranscriptRecord = ReturnType<typeof parseTranscript>[number];

export interface Delivery {
  order: OrderRecord;
  /** Every attempt the delivery mentions, once each (its newest version), most recent first as Revox sent them. */
  attempts: AttemptRecord[];
}

export function parseDelivery({ value: body }: WithoutSecrets): Delivery {
  if (!isJsonObject(body)) throw new PayloadError('$', 'expected a JSON object with a "call" object');
  const call = body.call;
  if (!isJsonObject(call)) throw new PayloadError('call', call === undefined ? 'is required' : 'must be an object');

  const attempts = new Map<string, AttemptRecord>();
  const keepNewest = (attempt: AttemptRecord) => {
    const seen = attempts.get(attempt.revoxId);
    if (!seen || attempt.versionKey > seen.versionKey) attempts.set(attempt.revoxId, attempt);
  };
  const listed = call.call_attempts;
  if (listed !== undefined && listed !== null) {
    if (!Array.isArray(listed)) throw new PayloadError('call.call_attempts', 'must be an array');
    if (listed.length > MAX_ATTEMPTS_PER_DELIVERY) {
      throw new PayloadError('call.call_attempts', `must hold at most ${MAX_ATTEMPTS_PER_DELIVERY} attempts, got ${listed.length}`);
    }
    listed.forEach((attempt, index) => {
      keepNewest(parseAttempt(attempt, `call.call_attempts[${index}]`));
    });
  }
  for (const [value, path] of [
    [call.last_call_attempt, 'call.last_call_attempt'],
    [body.call_attempt, 'call_attempt'],
  ] as const) {
    if (value !== undefined && value !== null) keepNewest(parseAttempt(value, path));
  }

  return { order: parseOrder(call, attempts.size), attempts: [...attempts.values()] };
}

const ORDER_FIELDS = new Set([
  'id',
  'from_phone_number',
  'to_phone_number',
  'direction',
  'is_completed',
  'is_cancelled',
  'calls_count',
  'next_call_at',
  'scheduled_at',
  'created_at',
  'status',
  'outcome',
  'metadata',
  'call_retry_config',
  'llm_model',
  // Stored as attempts, not as part of the order.
  'call_attempts',
  'last_call_attempt',
]);

function parseOrder(call: JsonObject, attemptCount: number) {
  const field = new FieldReader(call, 'call');
  const record = {
    revoxId: field.id('id'),
    fromPhoneNumber: field.phoneNumber('from_phone_number'),
    toPhoneNumber: field.phoneNumber('to_phone_number'),
    direction: field.requiredString('direction'),
    isCompleted: field.boolean('is_completed') ?? false,
    isCancelled: field.boolean('is_cancelled'),
    callsCount: field.count('calls_count', MAX_CALLS_COUNT) ?? attemptCount,
    nextCallAt: field.timestamp('next_call_at'),
    scheduledAt: field.timestamp('scheduled_at'),
    createdAt: field.requiredTimestamp('created_at'),
    status: field.string('status'),
    outcome: field.string('outcome'),
    metadata: field.object('metadata'),
    retryConfig: field.object('call_retry_config'),
    llmModel: field.object('llm_model'),
    extra: unknownFields(call, ORDER_FIELDS),
  };
  if (record.llmModel && record.llmModel.type !== undefined && typeof record.llmModel.type !== 'string') {
    throw new PayloadError('call.llm_model.type', 'must be a string');
  }
  return { ...record, versionKey: orderVersionKey(record, attemptCount) };
}

const ATTEMPT_FIELDS = new Set([
  'id',
  'phone_number',
  'status',
  'result',
  'dial_error',
  'ended_by',
  'end_reason',
  'recording_url',
  'started_at',
  'answered_at',
  'ended_at',
  'transcript',
  'structured_output',
  'handled_by_ai',
  'handled_by_human',
]);

function parseAttempt(value: Json, path: string) {
  if (!isJsonObject(value)) throw new PayloadError(path, 'must be an object');
  const field = new FieldReader(value, path);
  const record = {
    revoxId: field.id('id'),
    phoneNumber: field.phoneNumber('phone_number'),
    status: field.requiredString('status'),
    result: field.string('result'),
    dialError: field.string('dial_error'),
    endedBy: field.string('ended_by'),
    endReason: field.string('end_reason'),
    recordingUrl: field.string('recording_url'),
    startedAt: field.timestamp('started_at'),
    answeredAt: field.timestamp('answered_at'),
    endedAt: field.timestamp('ended_at'),
    structuredOutput: field.object('structured_output'),
    handledByAi: field.boolean('handled_by_ai'),
    handledByHuman: field.boolean('handled_by_human'),
    extra: unknownFields(value, ATTEMPT_FIELDS),
    transcript: parseTranscript(value.transcript, `${path}.transcript`),
  };
  // `path`: where the delivery carried the attempt, e.g. `call.call_attempts[0]`, for error messages.
  return { ...record, path, versionKey: attemptVersionKey(record) };
}

const TURN_FIELDS = new Set(['role', 'content', 'tool_name', 'tool_arguments', 'tool_is_error']);

function parseTranscript(value: Json | undefined, path: string) {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PayloadError(path, 'must be an array of turns or null');
  return value.map((turn, position) => {
    const turnPath = `${path}[${position}]`;
    if (!isJsonObject(turn)) throw new PayloadError(turnPath, 'must be an object');
    const field = new FieldReader(turn, turnPath);
    return {
      position,
      role: field.requiredString('role'),
      // A tool call can come without text; an empty string keeps the column simple to query.
      content: field.string('content') ?? '',
      toolName: field.string('tool_name'),
      toolArguments: turn.tool_arguments ?? null,
      toolIsError: field.boolean('tool_is_error'),
      extra: unknownFields(turn, TURN_FIELDS),
    };
  });
}
