/**
 * Completion events, published after a delivery's transaction commits. In-process by default; with REDIS_URL they
 * fan out through Redis so a subscriber on any instance sees a webhook stored by any other.
 *
 * Events carry ids and the few facts subscription filters need, never records: subscribers load what they select.
 */
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, filter, finalAsyncIterator, map, pipe, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import { describeError, type Logger } from '../log.ts';

export interface CallCompletedPayload {
  attemptId: string;
  callOrderId: string;
  callOrderRevoxId: string;
  /** The order's from and to numbers and the attempt's number. */
  phoneNumbers: string[];
  direction: string;
  result: string | null;
  orderCompleted: boolean;
}

type CallEvents = { callCompleted: [CallCompletedPayload] };
type EventPubSub = PubSub<CallEvents>;

export interface EventBus {
  publishCallCompleted(events: readonly CallCompletedPayload[]): void;
  /**
   * Every completion event from now on, from any instance, that `wanted` accepts. Each event handed out counts as
   * in flight until `eventSent` is called for it.
   */
  subscribeCallCompleted(wanted: (event: CallCompletedPayload) => boolean): AsyncIterable<CallCompletedPayload>;
  /** A subscriber's event has been resolved and handed to its transport. */
  eventSent(): void;
  /** Events handed to subscribers and not sent yet: shutdown waits for them. */
  eventsInFlight(): number;
  /** Subscriptions currently listening on this instance. */
  subscriberCount(): number;
  /** Resolves once events can be published (at once in-process; with Redis, when connected or after `timeoutMs`). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The part of the event bus that the GraphQL layer uses. */
export type CallEventSource = Pick<EventBus, 'subscribeCallCompleted' | 'eventSent'>;

function subscriptions(pubsub: EventPubSub) {
  let subscribers = 0;
  let inFlight = 0;
  return {
    subscriberCount: () => subscribers,
    eventsInFlight: () => inFlight,
    eventSent: () => {
      inFlight = Math.max(0, inFlight - 1);
    },
    subscribeCallCompleted(wanted: (event: CallCompletedPayload) => boolean): AsyncIterable<CallCompletedPayload> {
      subscribers += 1;
      const events = pipe(
        pubsub.subscribe('callCompleted'),
        filter(wanted),
        map((event) => {
          inFlight += 1;
          return event;
        }),
      );
      // Not an async generator: its return() would wait for the next event, so a client that leaves while no
      // event comes would never release its subscription.
      return finalAsyncIterator(events, () => {
        subscribers -= 1;
      });
    },
  };
}

export function createEventBus(redisUrl: string | undefined, logger: Logger): EventBus {
  if (!redisUrl) {
    const pubsub = createPubSub<CallEvents>();
    return {
      ...subscriptions(pubsub),
      publishCallCompleted: (events) => events.forEach((event) => pubsub.publish('callCompleted', event)),
      ready: async () => true,
      close: async () => {},
    };
  }

  const connect = (role: 'publish' | 'subscribe') => {
    const client = new Redis(redisUrl, {
      // Never let a Redis outage hold a webhook answer: commands fail at once while disconnected...
      enableOfflineQueue: role === 'subscribe',
      maxRetriesPerRequest: role === 'subscribe' ? null : 0,
      // ...and reconnect in the background, at most every 2 s.
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      lazyConnect: false,
    });
    // One line per change of state, not one per reconnection attempt.
    let connected = false;
    let everConnected = false;
    let errorLogged = false;
    client.on('ready', () => {
      if (everConnected) logger.info('redis.reconnected', { role });
      connected = everConnected = true;
      errorLogged = false;
    });
    client.on('close', () => {
      if (connected) logger.warn('redis.disconnected', { role });
      connected = false;
    });
    client.on('error', (error) => {
      if (!errorLogged) logger.error('redis.error', { role, error: describeError(error) });
      errorLogged = true;
    });
    return client;
  };
  const publishClient = connect('publish');
  const subscribeClient = connect('subscribe');
  const pubsub = createPubSub<CallEvents>({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) });

  const connected = (client: Redis) =>
    client.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return {
    ...subscriptions(pubsub),
    async ready(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const both = Promise.all([connected(publishClient), connected(subscribeClient)]).then(() => true);
      try {
        return await Promise.race([both, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    publishCallCompleted(events) {
      for (const event of events) {
        // Published here rather than through pubsub.publish: the Redis event target does not handle a failed
        // publish. The channel and message are the ones the event target's subscriber reads.
        publishClient.publish('callCompleted', JSON.stringify(event)).catch((error: unknown) => {
          logger.error('events.publish_failed', { attemptId: event.attemptId, error: describeError(error) });
        });
      }
    },
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}
