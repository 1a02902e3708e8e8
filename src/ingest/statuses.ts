/** What Revox's statuses mean to Callboard: when an attempt or an order is finished, and how far an attempt has got. */

/** Attempt statuses after which Revox does nothing more with the attempt: storing one fires callCompleted. */
export const FINISHED_ATTEMPT_STATUSES: ReadonlySet<string> = new Set(['completed', 'error']);
/** Order statuses after which Revox does nothing more for the order, whatever `is_completed` says. */
export const FINISHED_ORDER_STATUSES: ReadonlySet<string> = new Set(['completed', 'cancelled', 'errored']);

/** How far an attempt has progressed, for its version key; an unknown status ranks with `ongoing`. */
export function attemptProgress(status: string): number {
  if (FINISHED_ATTEMPT_STATUSES.has(status)) return FINISHED_RANK;
  return UNFINISHED_RANKS[status] ?? UNKNOWN_RANK;
}

const UNFINISHED_RANKS: Readonly<Record<string, number>> = { queued: 1, ringing: 2, ongoing: 3 };
const UNKNOWN_RANK = 3;
const FINISHED_RANK = 4;
