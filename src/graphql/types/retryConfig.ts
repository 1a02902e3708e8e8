/** One GraphQL shape over the three shapes of `call_retry_config` Revox has used. */
import { builder } from '../builder.ts';

interface CallingWindow {
  start: string;
  end: string;
  retryDelaySeconds: number;
}

interface RetryConfig {
  callingWindows: CallingWindow[];
  maxRetryAttempts: number;
  timezone: string | null;
  allowedDays: string[] | null;
  callTwiceInARow: boolean | null;
  raw: unknown;
}

/** Revox's documented defaults for anything a config leaves out. */
const DEFAULT_WINDOW: CallingWindow = { start: '10:00', end: '18:00', retryDelaySeconds: 7200 };
const DEFAULT_MAX_RETRY_ATTEMPTS = 3;

type Stored = Record<string, unknown>;

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const whole = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

function toWindow(window: Stored, fallbackDelay: number | undefined): CallingWindow {
  return {
    // The newest shape says start/end; the older ones calling_window_start_time/calling_window_end_time.
    start: text(window.start) ?? text(window.calling_window_start_time) ?? DEFAULT_WINDOW.start,
    end: text(window.end) ?? text(window.calling_window_end_time) ?? DEFAULT_WINDOW.end,
    retryDelaySeconds: whole(window.retry_delay_seconds) ?? fallbackDelay ?? DEFAULT_WINDOW.retryDelaySeconds,
  };
}

export function normaliseRetryConfig(stored: Stored): RetryConfig {
  const windows = Array.isArray(stored.calling_windows)
    ? stored.calling_windows
        .filter((w): w is Stored => typeof w === 'object' && w !== null)
        .map((w) => toWindow(w, whole(stored.retry_delay_seconds)))
    : [toWindow(stored, undefined)];
  return {
    callingWindows: windows.length > 0 ? windows : [DEFAULT_WINDOW],
    maxRetryAttempts: whole(stored.max_retry_attempts) ?? DEFAULT_MAX_RETRY_ATTEMPTS,
    timezone: text(stored.timezone) ?? null,
    allowedDays: Array.isArray(stored.allowed_days) ? stored.allowed_days.filter((d): d is string => typeof d === 'string') : null,
    callTwiceInARow: typeof stored.call_twice_in_a_row === 'boolean' ? stored.call_twice_in_a_row : null,
    raw: stored,
  };
}

const CallingWindowType = builder.objectRef<CallingWindow>('CallingWindow').implement({
  description: "A daily window in which Revox may call, in the config's timezone.",
  fields: (t) => ({
    start: t.exposeString('start', { description: 'As Revox sent it, e.g. `17:00` or `6pm`.' }),
    end: t.exposeString('end'),
    retryDelaySeconds: t.exposeInt('retryDelaySeconds'),
  }),
});

export const CallRetryConfig = builder.objectRef<Stored>('CallRetryConfig').implement({
  description: "When and how often Revox retries an order. Missing values take Revox's defaults (10:00-18:00, 7200 s, 3 attempts).",
  fields: (t) => ({
    callingWindows: t.field({ type: [CallingWindowType], resolve: (stored) => normaliseRetryConfig(stored).callingWindows }),
    maxRetryAttempts: t.int({ resolve: (stored) => normaliseRetryConfig(stored).maxRetryAttempts }),
    timezone: t.string({ nullable: true, resolve: (stored) => normaliseRetryConfig(stored).timezone }),
    allowedDays: t.stringList({ nullable: true, resolve: (stored) => normaliseRetryConfig(stored).allowedDays }),
    callTwiceInARow: t.boolean({ nullable: true, resolve: (stored) => normaliseRetryConfig(stored).callTwiceInARow }),
    raw: t.field({ type: 'JSON', description: 'The config exactly as Revox sent it.', resolve: (stored) => stored }),
  }),
});
