/**
 * Closes the open subscriptions of a key that is revoked or expires. An HTTP request checks its key every time; a
 * WebSocket or an SSE stream authenticated once could otherwise outlive its key, so every few seconds the keys of
 * open subscriptions are checked against the database, and the transports of those that may no longer be used are
 * closed (4403 over WebSocket; the SSE stream ends).
 */
import { describeError, type Logger } from '../log.ts';
import type { KeyStore } from './keys.ts';
import type { Principal } from './principal.ts';

export const KEY_CHECK_INTERVAL_MS = 2_000;

export interface KeyWatch {
  /** Calls `close` once the principal's key may no longer be used; returns the way to stop watching. */
  watch(principal: Principal, close: () => void): () => void;
  start(): void;
  stop(): void;
}

export function createKeyWatch(keys: KeyStore, logger: Logger, intervalMs = KEY_CHECK_INTERVAL_MS): KeyWatch {
  const closersByKey = new Map<string, Set<() => void>>();
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  const check = async () => {
    const ids = [...closersByKey.keys()];
    if (ids.length === 0) return;
    let active: Set<string>;
    try {
      active = await keys.stillActive(ids);
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
      for (const close of closers) close();
    }
  };

  return {
    watch(principal, close) {
      const id = principal.keyId;
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
