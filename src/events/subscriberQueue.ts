/**
 * One subscriber's events between publication and its transport, with a bounded backlog.
 *
 * graphql-ws and SSE pull one event at a time and wait for each to be written, so a client that stops reading shows
 * up here as a growing backlog, not as unsent bytes in its socket. A subscriber whose backlog passes `maxEvents`, or
 * whose oldest waiting event is older than `maxLagMs`, is cut off: its iterator ends, and `onOverflow` lets the
 * transport tell the client why (4008 over WebSocket; the SSE stream simply ends). Publishing never throws and never
 * waits for a subscriber.
 */

export interface SubscriberQueueOptions {
  maxEvents: number;
  maxLagMs: number;
  /** Called once when the subscriber is cut off for falling behind. */
  onOverflow: (backlog: number) => void;
  /** Called once when the iterator is done, whatever the reason. */
  onEnd: () => void;
  /** Called for every event handed to the consumer. */
  onTaken?: () => void;
}

export interface SubscriberQueue<T> extends AsyncIterableIterator<T> {
  /** Queues an event; false once the subscriber has ended or been cut off. */
  push(event: T): boolean;
}

export function createSubscriberQueue<T>(options: SubscriberQueueOptions): SubscriberQueue<T> {
  const backlog: { event: T; queuedAt: number }[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let ended = false;

  const end = () => {
    if (ended) return;
    ended = true;
    backlog.length = 0;
    const resolve = waiting;
    waiting = undefined;
    resolve?.({ done: true, value: undefined });
    options.onEnd();
  };

  const queue: SubscriberQueue<T> = {
    push(event) {
      if (ended) return false;
      if (waiting) {
        const resolve = waiting;
        waiting = undefined;
        options.onTaken?.();
        resolve({ done: false, value: event });
        return true;
      }
      const now = Date.now();
      if (backlog.length >= options.maxEvents || (backlog.length > 0 && now - backlog[0]!.queuedAt > options.maxLagMs)) {
        const size = backlog.length;
        end();
        options.onOverflow(size);
        return false;
      }
      backlog.push({ event, queuedAt: now });
      return true;
    },
    next() {
      const queued = backlog.shift();
      if (queued) {
        options.onTaken?.();
        return Promise.resolve({ done: false, value: queued.event });
      }
      if (ended) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve) => (waiting = resolve));
    },
    // Not an async generator: its return() would wait for the next event, so a client that leaves while no event
    // comes would never release its subscription.
    return() {
      end();
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
