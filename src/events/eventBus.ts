/**
 * Completion events, published after a delivery's transaction commits, and dispatched to this instance's subscribers.
 * In-process by default; given a transport (./redisTransport.ts, with REDIS_URL), the bus publishes through it, so a
 * subscriber on any instance sees a webhook stored by any other.
 *
 * Events carry ids and the few facts subscription filters need, never records: subscribers load what they select.
 * Each instance keeps one set of local listeners: an event is matched against each listener's filter once, when it
 * arrives, and queued only for the listeners it concerns, in a bounded queue (./subscriberQueue.ts). A listener is
 * one subscriber (SSE) or a subscription hub (./subscriptionHub.ts), whose members each have a queue of their own.
 */
import type { Logger } from '../log.ts';
import { createSubscriberQueue, type SubscriberQueue } from './subscriberQueue.ts';

export interface CallCompletedPayload {
  attemptId: string;
  callOrderId: string;
  callRevoxId: string;
  /** The order's from and to numbers and the attempt's number. */
  phoneNumbers: string[];
  direction: string;
  result: string | null;
  orderCompleted: boolean;
}

export interface SubscribeOptions {
  /** Which events this subscriber wants; called once per event, must not throw (a throw counts as no). */
  wanted: (event: CallCompletedPayload) => boolean;
  /** The transport's way to tell its client it was cut off for falling behind (e.g. close a WebSocket with 4008). */
  onOverflow?: () => void;
  /** For the log line when the subscriber is cut off. */
  transport: string;
  /**
   * A subscription hub's own stream: its events count as in flight, but the hub is not counted as a subscriber
   * (its members are, each with `openSubscriber`).
   */
  hub?: boolean;
}

export interface SubscriberOptions {
  transport: string;
  /** The transport's way to tell its client it was cut off for falling behind. */
  onOverflow?: () => void;
}

export interface EventBus {
  publishCallCompleted(events: readonly CallCompletedPayload[]): void;
  /**
   * Every completion event from now on, from any instance, that `wanted` accepts. Each event handed out counts as
   * in flight until `eventSent` is called for it.
   */
  subscribeCallCompleted(options: SubscribeOptions): AsyncIterableIterator<CallCompletedPayload>;
  /**
   * A bounded queue for one subscriber that is fed by something else than the bus (a subscription hub's member):
   * counted as a subscriber, cut off like any other when it falls behind.
   */
  openSubscriber<T>(options: SubscriberOptions): SubscriberQueue<T>;
  /** A subscriber's event has been resolved and handed to its transport. */
  eventSent(): void;
  /** Events handed to subscribers and not sent yet: shutdown waits for them. */
  eventsInFlight(): number;
  /** Subscriptions currently listening on this instance. */
  subscriberCount(): number;
  /** The same, by transport (websocket, sse). */
  subscribersByTransport(): Record<string, number>;
  /** Whether each of the transport's Redis connections is ready; undefined in-process. */
  redisConnected(): { publish: boolean; subscribe: boolean } | undefined;
  /** Resolves once events can be published (at once in-process; with Redis, when connected or after `timeoutMs`). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The part of the event bus that stores deliveries: they publish a delivery's completions once it has committed. */
export type CallEventPublisher = Pick<EventBus, 'publishCallCompleted'>;

/** The part of the event bus that the GraphQL layer uses. */
export type CallEventSource = Pick<EventBus, 'subscribeCallCompleted' | 'eventSent'>;

/** Carries events between instances. Without one, the bus hands what it publishes straight to its own subscribers. */
export interface EventTransport {
  /** Sends an event to every instance's bus, this one's included; never throws, never waits. */
  publish(event: CallCompletedPayload): void;
  /** Where the events that arrive, from any instance, go; called once, by the bus. */
  listen(deliver: (event: CallCompletedPayload) => void): void;
  /** Whether each connection is ready. */
  connected(): { publish: boolean; subscribe: boolean };
  /** Resolves once events can be published: true when connected, false after `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface SubscriberLimits {
  /** A subscriber may have this many events waiting for it... */
  maxQueuedEvents: number;
  /** ...and its oldest may have waited this long, before it is cut off as too slow. */
  maxEventLagMs: number;
}

/** Above the most events one delivery can publish (its attempts), so a healthy subscriber survives any burst. */
export const DEFAULT_SUBSCRIBER_LIMITS: SubscriberLimits = { maxQueuedEvents: 2_000, maxEventLagMs: 30_000 };

export interface EventBusOptions {
  /** Between instances (./redisTransport.ts); in-process without one. */
  transport?: EventTransport;
  limits?: SubscriberLimits;
  /** Told how many events were published, and how many were thrown away with a subscriber cut off. */
  onPublished?: (count: number) => void;
  onDropped?: (count: number) => void;
}

/** The subscribers and listeners of one instance, and the events handed to them and not yet sent. */
function localSubscribers(logger: Logger, limits: SubscriberLimits, onDropped: (count: number) => void) {
  /** What subscriberCount counts: one per client subscription, whatever feeds it. */
  const subscribers = new Set<{ transport: string }>();
  const listeners = new Set<{ queue: SubscriberQueue<CallCompletedPayload>; wanted: SubscribeOptions['wanted'] }>();
  let inFlight = 0;

  const boundedQueue = <T>(transport: string, onOverflow: (() => void) | undefined, onEnd: () => void) =>
    createSubscriberQueue<T>({
      maxEvents: limits.maxQueuedEvents,
      maxLagMs: limits.maxEventLagMs,
      onTaken: () => (inFlight += 1),
      onEnd,
      onOverflow: (backlog) => {
        logger.warn('events.slow_subscriber', { transport, backlog, ...limits });
        onDropped(backlog);
        onOverflow?.();
      },
    });

  return {
    subscriberCount: () => subscribers.size,
    subscribersByTransport() {
      const counts: Record<string, number> = {};
      for (const { transport } of subscribers) counts[transport] = (counts[transport] ?? 0) + 1;
      return counts;
    },
    eventsInFlight: () => inFlight,
    eventSent: () => {
      inFlight = Math.max(0, inFlight - 1);
    },
    openSubscriber<T>({ transport, onOverflow }: SubscriberOptions): SubscriberQueue<T> {
      const subscriber = { transport };
      subscribers.add(subscriber);
      return boundedQueue<T>(transport, onOverflow, () => subscribers.delete(subscriber));
    },
    subscribeCallCompleted({ wanted, onOverflow, transport, hub = false }: SubscribeOptions) {
      const subscriber = { transport };
      const listener = {
        wanted,
        queue: boundedQueue<CallCompletedPayload>(transport, onOverflow, () => {
          listeners.delete(listener);
          subscribers.delete(subscriber);
        }),
      };
      listeners.add(listener);
      if (!hub) subscribers.add(subscriber);
      return listener.queue;
    },
    /** Never throws: it runs inside the transport's message handler or a webhook's response path. */
    dispatch(event: CallCompletedPayload) {
      for (const { queue, wanted } of listeners) {
        let matches = false;
        try {
          matches = wanted(event);
        } catch {
          // A broken filter concerns its own subscriber only.
        }
        if (matches) queue.push(event);
      }
    },
  };
}

export function createEventBus(logger: Logger, options: EventBusOptions = {}): EventBus {
  const { dispatch, ...local } = localSubscribers(logger, options.limits ?? DEFAULT_SUBSCRIBER_LIMITS, options.onDropped ?? (() => {}));
  const published = options.onPublished ?? (() => {});
  const { transport } = options;
  transport?.listen(dispatch);
  // In-process, what the bus publishes goes straight to its own subscribers.
  const send = transport ? (event: CallCompletedPayload) => transport.publish(event) : dispatch;
  return {
    ...local,
    publishCallCompleted(events) {
      published(events.length);
      events.forEach(send);
    },
    redisConnected: () => transport?.connected(),
    ready: async (timeoutMs) => (transport ? transport.ready(timeoutMs) : true),
    close: async () => {
      await transport?.close();
    },
  };
}
