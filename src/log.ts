/**
 * Structured logs: one JSON line per event. Callers pass ids, counts and outcomes, never secrets, tokens,
 * bodies or transcripts; the request path is logged without its query string, which may carry the webhook token.
 */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export type LogSink = (line: string) => void;

export function createLogger(sink: LogSink = (line) => process.stdout.write(`${line}\n`)): Logger {
  const write = (level: string, event: string, fields?: LogFields) =>
    sink(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
  };
}

/**
 * An error's class, code and the last line of its message, for a log line. No stack, and not the rest of the
 * message: Prisma's messages quote the failed call, arguments (phone numbers, filters) included, and put the reason
 * last.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, MAX_ERROR_LENGTH);
  const code = 'code' in error && typeof error.code === 'string' ? ` ${error.code}` : '';
  const reason = error.message.trim().split('\n').at(-1)?.trim() ?? '';
  return `${error.name}${code}: ${reason}`.slice(0, MAX_ERROR_LENGTH);
}

const MAX_ERROR_LENGTH = 500;

/**
 * A warning that an attacker could repeat at will (a connection refused, a socket evicted, a page of a refused
 * origin): written at most once per `intervalMs` for each kind, with how many happened since the last line, so that
 * a flood cannot flood the log too. `kind` keys the throttle and is the line's `reason` unless `fields` give one.
 *
 * A kind may come from the request (an Origin header), so at most `maxKinds` are remembered: a kind whose interval
 * has passed is forgotten when room is needed, and while every place is taken a new kind is counted under one line,
 * `more kinds than remembered`, throttled the same way.
 */
export function throttledWarning(
  logger: Logger,
  event: string,
  intervalMs = 10_000,
  maxKinds = 100,
): (kind: string, fields?: LogFields) => void {
  // In the order they were last written, so that the ones whose interval has passed come first.
  const kinds = new Map<string, Throttle>();
  const overflow: Throttle = { loggedAt: Number.NEGATIVE_INFINITY, count: 0 };
  const counted = (throttle: Throttle, now: number) => {
    throttle.count += 1;
    if (now - throttle.loggedAt < intervalMs) return undefined;
    const count = throttle.count;
    throttle.loggedAt = now;
    throttle.count = 0;
    return count;
  };
  return (kind, fields) => {
    const now = Date.now();
    for (const [oldest, throttle] of kinds) {
      if (kinds.size < maxKinds || now - throttle.loggedAt < intervalMs) break;
      kinds.delete(oldest);
    }
    let throttle = kinds.get(kind);
    if (!throttle && kinds.size >= maxKinds) {
      const count = counted(overflow, now);
      if (count !== undefined) logger.warn(event, { reason: `more kinds than remembered (${maxKinds})`, count });
      return;
    }
    throttle ??= { loggedAt: Number.NEGATIVE_INFINITY, count: 0 };
    const count = counted(throttle, now);
    if (count === undefined) return;
    kinds.delete(kind);
    kinds.set(kind, throttle);
    logger.warn(event, { reason: kind, count, ...fields });
  };
}

interface Throttle {
  loggedAt: number;
  /** Since the last line. */
  count: number;
}
