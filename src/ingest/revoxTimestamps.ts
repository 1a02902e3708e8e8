/**
 * Revox leaves its timestamp type undeclared. Seen: ISO-8601 strings with `Z` or an offset, and epoch numbers.
 * Returns the instant, or a message saying why the value is not a timestamp.
 */
import { parseIsoDateTime } from '../isoDateTime.ts';

/** Epoch values below this are seconds (it is the year 5138 in seconds, 1973 in milliseconds). */
const SECONDS_LIMIT = 1e11;

export function parseTimestamp(value: unknown): Date | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return 'must be an ISO-8601 date-time or epoch seconds/milliseconds';
    return checked(new Date(value < SECONDS_LIMIT ? value * 1000 : value));
  }
  if (typeof value === 'string') {
    const parsed = parseIsoDateTime(value);
    return typeof parsed === 'string' ? parsed : checked(parsed);
  }
  return 'must be an ISO-8601 date-time string, an epoch number, or null';
}

function checked(date: Date): Date | string {
  const time = date.getTime();
  // PostgreSQL timestamptz holds years 4713 BC to 294276 AD; Revox's calls happen in this era.
  if (Number.isNaN(time) || date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) {
    return 'is not a valid date-time (out of range or impossible date)';
  }
  return date;
}
