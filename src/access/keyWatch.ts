/**
 * Closes the open subscriptions of a caller that may no longer use the API: a key that is revoked or expires, or the
 * tokenless caller of an open API once a key exists. An HTTP request is authenticated every time; a WebSocket or an
 * SSE stream authenticated once could otherwise outlive its right, so every few seconds the keys of open
 * subscriptions are checked against the database (and, while tokenless ones are open, whether a key now exists: it
 * may have been created by another instance), and the transports of those that may no longer be used are closed
 * (4403 over WebSocket; the SSE stream ends). A key created on this instance closes the tokenless ones at once.
 */
import { describeError, type Logger } from '../log.ts';
import type { KeyStore } from './keys.ts';
import type { Authenticator, Principal } from './principal.ts';

export const KEY_CHECK_INTERVAL_MS = 2_000;

const KEY_ENDED = 'the API key was revoked or has expired';
const OPEN_ENDED = 'the API is no longer open: send an API key';

export interface KeyWatch {
  /** Calls `close` (with the reason) once the principal may no longer be used; returns the way to stop watching. */
  watch(principal: Principal, close: (reason: string) => void): () => void;
  start(): void;
  stop(): void;
}

export function createKeyWatch(
  keys: KeyStore,
  authenticate: Pick<Authenticator, 'isOpen' | 'whenClosed'>,
  logger: Logger,
  intervalMs = KEY_CHECK_INTERVAL_MS,
): KeyWatch {
  const closersByKey = new Map<string, Set<(reason: string) => void>>();
  /** The subscriptions of the tokenless caller; undefined once the API is closed. */
  let openClosers: Set<(reason: string) => void> | undefined = new Set();
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  authenticate.whenClosed(() => {
    const closers = openClosers ?? new Set();
    openClosers = undefined;
    if (closers.size > 0) logger.info('access.open_closed', { subscriptions: closers.size });
    // After the operation that created the key has answered: over WebSocket its socket is one of these, and the
    // key, shown once, would be lost with it. Operations sent meanwhile are refused (useAccess).
    setImmediate(() => {
      for (const close of closers) close(OPEN_ENDED);
    });
  });

  const check = async () => {
    const ids = [...closersByKey.keys()];
    if (ids.length === 0 && !openClosers?.size) return;
    let active: Set<string>;
    try {
      active = await keys.stillActive(ids);
      // Learning that a key exists closes the tokenless subscriptions (whenClosed above).
      if (openClosers?.size) await authenticate.isOpen();
      failing = false;
    } catch (error) {
      // The database is away: keep what is open, say so once, and check again next time.
      if (!failing) logger.warn('access.key_check_failed', { error: describeError(error) });
      failing = true;
      return;
    }
    for (const id of ids) {
      if (active.has(id)) continue;
      const closers = closersByKey.get(id) ?? new Set();
      closersByKey.delete(id);
      logger.info('access.key_closed', { keyId: id, subscriptions: closers.size });
      for (const close of closers) close(KEY_ENDED);
    }
  };

  return {
    watch(principal, close) {
      if (principal.open) {
        if (!openClosers) {
          // Authenticated just before the API closed.
          close(OPEN_ENDED);
          return () => {};
        }
        const closers = openClosers;
        closers.add(close);
        return () => closers.delete(close);
      }
      const id = principal.keyId;
      // API_TOKENS hold until the configuration changes, and that needs a restart.
      if (id === undefined) return () => {};
      let closers = closersByKey.get(id);
      if (!closers) closersByKey.set(id, (closers = new Set()));
      closers.add(close);
      return () => {
        closers.delete(close);
        if (closers.size === 0 && closersByKey.get(id) === closers) closersByKey.delete(id);
      };
    },
    start() {
      const loop = () => {
        timer = setTimeout(() => check().finally(() => timer && loop()), intervalMs);
        timer.unref();
      };
      loop();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
