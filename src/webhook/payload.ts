/**
 * Turns a Revox "call completed" delivery into the records Callboard stores.
 *
 * Strict about what storage and the API rely on (ids, E.164 phone numbers, timestamps that parse, the types of
 * known fields); lenient about the rest: unknown fields are kept in each record's `extra`, and enum-like values
 * (status, result, direction, ...) are kept as sent, known or not. It reads a delivery whose secrets are removed
 * (`WithoutSecrets`), so no record can hold one.
 */
import { contentHash, isJsonObject, type Json, type JsonObject } from './json.ts';
import type { WithoutSecrets } from './secrets.ts';
import { parseTimestamp } from './timestamps.ts';

export interface OrderRecord {
  revoxId: string;
  fromPhoneNumber: string;
  toPhoneNumber: string;
  direction: string;
  isCompleted: boolean;
  isCancelled: boolean | null;
  callsCount: number;
  nextCallAt: Date | null;
  scheduledAt: Date | null;
  createdAt: Date;
  status: string | null;
  outcome: string | null;
  metadata: JsonObject | null;
  retryConfig: JsonObject | null;
  llmModel: JsonObject | null;
  extra: JsonObject;
  versionKey: string;
}

export interface TranscriptRecord {
  position: number;
  role: string;
  content: string;
  toolName: string | null;
  toolArguments: Json | null;
  toolIsError: boolean | null;
  extra: JsonObject;
}

export interface AttemptRecord {
  /** Where the delivery carried this attempt, e.g. `call.call_attempts[0]`, for error messages. */
  path: string;
  revoxId: string;
  phoneNumber: string;
  status: string;
  result: string | null;
  dialError: string | null;
  endedBy: string | null;
  endReason: string | null;
  recordingUrl: string | null;
  startedAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  structuredOutput: JsonObject | null;
  handledByAi: boolean | null;
  handledByHuman: boolean | null;
  extra: JsonObject;
  transcript: TranscriptRecord[];
  versionKey: string;
}

export interface Delivery {
  order: OrderRecord;
  /** Every attempt the delivery mentions, once each (its newest version), most recent first as Revox sent them. */
  attempts: AttemptRecord[];
}

/** A delivery that is JSON but not usable; `path` names the field, e.g. `call.call_attempts[0].started_at`. */
export class PayloadError extends Error {
  override name = 'PayloadError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

export const FINISHED_ATTEMPT_STATUSES: ReadonlySet<string> = new Set(['completed', 'error']);

/** How far an attempt has progressed; an unknown status ranks with `ongoing`, below the finished ones. */
const ATTEMPT_STATUS_RANK: Readonly<Record<string, number>> = { queued: 1, ringing: 2, ongoing: 3, completed: 4, error: 4 };
const UNKNOWN_STATUS_RANK = 3;

const E164 = /^\+[1-9]\d{1,14}$/;

/**
 * Most attempts one delivery may carry. Revox retries an order a handful of times; the limit keeps one delivery
 * from publishing an unbounded burst of events (one per finished attempt) or holding the order's lock for long.
 */
export const MAX_ATTEMPTS_PER_DELIVERY = 1_000;

/**
 * Largest `calls_count`: an order's version key carries it zero-padded to 6 digits (see parseOrder), which sorts
 * only up to this, and stored keys keep that format.
 */
export const MAX_CALLS_COUNT = 999_999;

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
    listed.forEach((attempt, index) => keepNewest(parseAttempt(attempt, `call.call_attempts[${index}]`)));
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

function parseOrder(call: JsonObject, attemptCount: number): OrderRecord {
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
  const finished = record.isCompleted || record.isCancelled === true;
  // Later deliveries for an order carry more attempts and, last, completion: that order wins, whatever the arrival
  // order. The content hash breaks ties deterministically, so the end state never depends on arrival order.
  const versionKey = [
    finished ? 1 : 0,
    pad(Math.max(record.callsCount, attemptCount), 6),
    fingerprint(record),
  ].join(':');
  return { ...record, versionKey };
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

function parseAttempt(value: Json, path: string): AttemptRecord {
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
  // An attempt's status never moves backwards; among versions of equal status, the one that ended later and
  // then the longer transcript wins.
  const versionKey = [
    ATTEMPT_STATUS_RANK[record.status] ?? UNKNOWN_STATUS_RANK,
    pad(record.endedAt?.getTime() ?? 0, 15),
    pad(record.transcript.length, 6),
    fingerprint(record),
  ].join(':');
  return { ...record, path, versionKey };
}

const TURN_FIELDS = new Set(['role', 'content', 'tool_name', 'tool_arguments', 'tool_is_error']);

function parseTranscript(value: Json | undefined, path: string): TranscriptRecord[] {
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

function unknownFields(object: JsonObject, known: ReadonlySet<string>): JsonObject {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !known.has(key)));
}

/** A short hash of a parsed record (dates as ISO strings): the deterministic tie-break between two versions. */
function fingerprint(record: object): string {
  return contentHash(JSON.parse(JSON.stringify(record)) as Json).slice(0, 16);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** Reads typed fields of one JSON object, naming the full path of any field that is wrong. */
class FieldReader {
  constructor(
    private readonly source: JsonObject,
    private readonly path: string,
  ) {}

  private fail(key: string, problem: string): never {
    throw new PayloadError(`${this.path}.${key}`, problem);
  }

  id(key: string): string {
    const value = this.source[key];
    if (typeof value !== 'string' || value.trim() === '') {
      this.fail(key, value === undefined ? 'is required' : 'must be a non-empty string');
    }
    if (value.length > 255) this.fail(key, 'must be at most 255 characters');
    return value;
  }

  phoneNumber(key: string): string {
    const value = this.source[key];
    if (typeof value !== 'string') this.fail(key, value === undefined ? 'is required' : 'must be a string');
    if (!E164.test(value)) this.fail(key, `must be an E.164 phone number such as +14155550123, got "${value.slice(0, 32)}"`);
    return value;
  }

  requiredString(key: string): string {
    const value = this.string(key);
    if (value === null || value === '') this.fail(key, 'is required');
    return value;
  }

  string(key: string): string | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') this.fail(key, 'must be a string or null');
    return value;
  }

  boolean(key: string): boolean | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'boolean') this.fail(key, 'must be true, false or null');
    return value;
  }

  count(key: string, max: number): number | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
      this.fail(key, `must be a whole number from 0 to ${max}`);
    }
    return value;
  }

  object(key: string): JsonObject | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    if (!isJsonObject(value)) this.fail(key, 'must be an object or null');
    return value;
  }

  timestamp(key: string): Date | null {
    const value = this.source[key];
    if (value === undefined || value === null) return null;
    const parsed = parseTimestamp(value);
    if (typeof parsed === 'string') this.fail(key, parsed);
    return parsed;
  }

  requiredTimestamp(key: string): Date {
    const value = this.timestamp(key);
    if (value === null) this.fail(key, 'is required');
    return value;
  }
}
