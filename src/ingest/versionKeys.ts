/**
 * Version keys: which of two versions of the same order or attempt is the newer. Deliveries arrive late, twice or
 * concurrently; the stored record is replaced only by a version with a greater key, so the end state is the same
 * whatever the order of arrival. Keys are strings compared as such, hence the zero-padding.
 */
import { contentHash, type Json } from './json.ts';
import { attemptProgress } from './statuses.ts';

/**
 * Largest `calls_count`: an order's version key carries it zero-padded to 6 digits (see orderVersionKey), which sorts
 * only up to this, and stored keys keep that format.
 */
export const MAX_CALLS_COUNT = 999_999;

/**
 * Later deliveries for an order carry more attempts and, last, completion: that order wins, whatever the arrival
 * order. The content hash breaks ties deterministically, so the end state never depends on arrival order.
 */
export function orderVersionKey(
  record: { isCompleted: boolean; isCancelled: boolean | null; callsCount: number },
  attemptCount: number,
): string {
  const finished = record.isCompleted || record.isCancelled === true;
  return [finished ? 1 : 0, pad(Math.max(record.callsCount, attemptCount), 6), fingerprint(record)].join(':');
}

/**
 * An attempt's status never moves backwards; among versions of equal status, the one that ended later and then the
 * longer transcript wins.
 */
export function attemptVersionKey(record: { status: string; endedAt: Date | null; transcript: readonly unknown[] }): string {
  return [
    attemptProgress(record.status),
    pad(record.endedAt?.getTime() ?? 0, 15),
    pad(record.transcript.length, 6),
    fingerprint(record),
  ].join(':');
}

/** A short hash of a parsed record (dates as ISO strings): the deterministic tie-break between two versions. */
function fingerprint(record: object): string {
  return contentHash(JSON.parse(JSON.stringify(record)) as Json).slice(0, 16);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
