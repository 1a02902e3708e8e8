/**
 * What one exported row holds: the columns, in their order, and their values as GraphQL gives them (enums through
 * GraphQL's own mapping of raw values, OTHER for a value this version does not know; times as Dates, written in
 * ISO-8601 UTC by the formats). The content columns need `transcripts:read`, as their GraphQL fields do.
 */
import { CallAttemptStatus, CallDirection, CallResult, TranscriptRole } from '../graphql/types/enums.ts';
import { durationSeconds } from '../read/callAttempt.ts';
import type { RowShape } from '../read/onePage.ts';

const CALL_COLUMNS = [
  'revoxId',
  'callOrderRevoxId',
  'phoneNumber',
  'direction',
  'status',
  'result',
  'startedAt',
  'answeredAt',
  'endedAt',
  'durationSeconds',
] as const;
const CONTENT_COLUMNS = ['recordingUrl', 'structuredOutput', 'transcript'] as const;

export type Column = (typeof CALL_COLUMNS)[number] | (typeof CONTENT_COLUMNS)[number];

export interface Turn {
  role: string;
  content: string;
}

/** One attempt as exported; the content columns are there only for `transcripts:read`. Keys in column order. */
export interface ExportRow {
  revoxId: string;
  callOrderRevoxId: string;
  phoneNumber: string;
  direction: string;
  status: string;
  result: string | null;
  startedAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  durationSeconds: number | null;
  recordingUrl?: string | null;
  /** Any JSON value, as stored. */
  structuredOutput?: unknown;
  transcript?: Turn[];
}

export function columnsFor(withContent: boolean): readonly Column[] {
  return withContent ? [...CALL_COLUMNS, ...CONTENT_COLUMNS] : CALL_COLUMNS;
}

/** An attempt as the page read gives it, with the fields and relations of `rowShape`. */
export interface AttemptRow {
  id: string;
  revoxId: string;
  phoneNumber: string;
  status: string;
  result: string | null;
  startedAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  recordingUrl?: string | null;
  structuredOutput?: unknown;
  callOrder: { revoxId: string; direction: string };
  transcript?: { role: string; content: string }[];
}

/** What a batch reads: the columns asked for and nothing more (no transcript without `transcripts:read`). */
export function rowShape(withContent: boolean): RowShape {
  const callFields = ['revoxId', 'phoneNumber', 'status', 'result', 'startedAt', 'answeredAt', 'endedAt'];
  const callOrder: RowShape = { fields: ['revoxId', 'direction'], relations: {} };
  if (!withContent) return { fields: callFields, relations: { callOrder } };
  return {
    fields: [...callFields, 'recordingUrl', 'structuredOutput'],
    relations: { callOrder, transcript: { fields: ['role', 'content'], relations: {} } },
  };
}

export function exportRow(attempt: AttemptRow, withContent: boolean): ExportRow {
  const row: ExportRow = {
    revoxId: attempt.revoxId,
    callOrderRevoxId: attempt.callOrder.revoxId,
    phoneNumber: attempt.phoneNumber,
    direction: CallDirection.fromRaw(attempt.callOrder.direction),
    status: CallAttemptStatus.fromRaw(attempt.status),
    result: attempt.result === null ? null : CallResult.fromRaw(attempt.result),
    startedAt: attempt.startedAt,
    answeredAt: attempt.answeredAt,
    endedAt: attempt.endedAt,
    durationSeconds: durationSeconds(attempt),
  };
  if (!withContent) return row;
  return {
    ...row,
    recordingUrl: attempt.recordingUrl ?? null,
    structuredOutput: attempt.structuredOutput ?? null,
    transcript: (attempt.transcript ?? []).map(({ role, content }) => ({ role: TranscriptRole.fromRaw(role), content })),
  };
}
