/**
 * The records a Revox delivery becomes: what store.ts writes, one per order, attempt and transcript turn; and which
 * of their statuses are final, for whoever needs to know (storing, statistics, reconciliation).
 */
import type { Json, JsonObject } from './json.ts';

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

/** Attempt statuses after which Revox does nothing more with the attempt: storing one fires callCompleted. */
export const FINISHED_ATTEMPT_STATUSES: ReadonlySet<string> = new Set(['completed', 'error']);
/** Order statuses after which Revox does nothing more for the order, whatever `is_completed` says. */
export const FINISHED_ORDER_STATUSES: ReadonlySet<string> = new Set(['completed', 'cancelled', 'errored']);
