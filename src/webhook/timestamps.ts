/**
 * Revox leaves its timestamp type undeclared. Seen: ISO-8601 strings with `Z` or an offset, and epoch numbers.
 * Returns the instant, or a message saying why the value is not a timestamp.
 */

// Date and time with a required offset: a time without one is ambiguous, and guessing would shift calls by hours.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$/;

/** Epoch values below this are seconds (it is the year 5138 in seconds, 1973 in milliseconds). */
const SECONDS_LIMIT = 1e11;

export function parseTimestamp(value: unknown): Date | string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return 'must be an ISO-8601 date-time or epoch seconds/milliseconds';
    return checked(new Date(value < SECONDS_LIMIT ? value * 1000 : value));
  }
  if (typeof value === 'string') {
    if (!ISO_8601.test(value)) {
      return `must be an ISO-8601 date-time with a UTC offset (e.g. 2024-01-01T12:00:00Z), got "${value.slice(0, 40)}"`;
    }
    if (!isCalendarDate(value)) return 'is not a valid date-time (impossible date)';
    // Date.parse accepts only `±hh:mm` offsets; normalise `±hhmm` and `±hh`.
    const normalised = value.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/([+-]\d{2})$/, '$1:00');
    return checked(new Date(normalised));
  }
  return 'must be an ISO-8601 date-time string, an epoch number, or null';
}

/** Date rolls 2024-02-30 over to March 1st; a delivery with such a date is wrong, not early March. */
function isCalendarDate(iso: string): boolean {
  const [year, month, day] = iso.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function checked(date: Date): Date | string {
  const time = date.getTime();
  // PostgreSQL timestamptz holds years 4713 BC to 294276 AD; Revox's calls happen in this era.
  if (Number.isNaN(time) || date.getUTCFullYear() < 1970 || date.getUTCFullYear() > 9999) {
    return 'is not a valid date-time (out of range or impossible date)';
  }
  return date;
}
