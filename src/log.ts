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
 * A warning that an attacker could repeat at will (a connection refused, a socket evicted): written at most once per
 * `intervalMs` for each kind, with how many happened since the last line, so that a flood cannot flood the log too.
 */
export function throttledWarning(logger: Logger, event: string, intervalMs = 10_000): (kind: string, fields?: LogFields) => void {
  const counts = new Map<string, number>();
  const loggedAt = new Map<string, number>();
  return (kind, fields) => {
    const count = (counts.get(kind) ?? 0) + 1;
    const now = Date.now();
    if (now - (loggedAt.get(kind) ?? Number.NEGATIVE_INFINITY) < intervalMs) {
      counts.set(kind, count);
      return;
    }
    loggedAt.set(kind, now);
    counts.set(kind, 0);
    logger.warn(event, { reason: kind, count, ...fields });
  };
}
