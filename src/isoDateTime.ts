/**
 * ISO-8601 date-times, read the same way everywhere: the webhook's timestamps and the GraphQL `DateTime` input.
 * Returns the instant, or a message saying why the text is not a date-time.
 */

// Date and time with a required offset: a time without one is ambiguous, and guessing would shift calls by hours.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}(:?\d{2})?)$/;

export function parseIsoDateTime(text: string): Date | string {
  if (!ISO_8601.test(text)) {
    return `must be an ISO-8601 date-time with a UTC offset (e.g. 2024-01-01T12:00:00Z), got "${text.slice(0, 40)}"`;
  }
  if (!isCalendarDate(text)) return 'is not a valid date-time (impossible date)';
  // Date.parse accepts only `±hh:mm` offsets; normalise `±hhmm` and `±hh`.
  const normalised = text
    .replace(' ', 'T')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
    .replace(/([+-]\d{2})$/, '$1:00');
  const date = new Date(normalised);
  if (Number.isNaN(date.getTime())) return 'is not a valid date-time (impossible time or offset)';
  return date;
}

/** Date rolls 2024-02-30 over to March 1st; such a date is wrong, not early March. Year 0 does not exist. */
function isCalendarDate(iso: string): boolean {
  const [year, month, day] = iso.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
