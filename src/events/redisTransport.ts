/**
 * The event bus's transport between instances: completion events go out on one Redis connection and come back, from
 * every instance, on another (a subscribed connection can do nothing else). A Redis outage never holds a webhook
 * answer: publishing fails at once and is logged, and both connections reconnect in the background.
 */
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { describeError, type Logger } from '../log.ts';
import type { CallCompletedPayload, EventTransport } from './eventBus.ts';

const CHANNEL = 'callCompleted';

/** Through Redis with REDIS_URL; without it, none: the bus stays in-process. */
export function redisTransportFromConfig(config: Pick<Config, 'redisUrl'>, logger: Logger): EventTransport | undefined {
  return config.redisUrl ? createRedisTransport(config.redisUrl, logger) : undefined;
}

export function createRedisTransport(redisUrl: string, logger: Logger): EventTransport {
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
  // From start-up, so that a subscriber's first event cannot race the SUBSCRIBE; ioredis re-subscribes by itself
  // after a reconnection.
  const subscribed = subscribeClient.subscribe(CHANNEL).then(
    () => undefined,
    (error: unknown) => logger.error('redis.subscribe_failed', { error: describeError(error) }),
  );

  const connected = (client: Redis) =>
    client.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return {
    publish(event) {
      publishClient.publish(CHANNEL, JSON.stringify(event)).catch((error: unknown) => {
        logger.error('events.publish_failed', { attemptId: event.attemptId, error: describeError(error) });
      });
    },
    listen(deliver) {
      subscribeClient.on('message', (channel: string, message: string) => {
        if (channel !== CHANNEL) return;
        let event: CallCompletedPayload;
        try {
          event = JSON.parse(message) as CallCompletedPayload;
        } catch {
          logger.error('events.bad_message', { channel, bytes: message.length });
          return;
        }
        deliver(event);
      });
    },
    connected: () => ({ publish: publishClient.status === 'ready', subscribe: subscribeClient.status === 'ready' }),
    async ready(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const both = Promise.all([connected(publishClient), connected(subscribeClient), subscribed]).then(() => true);
      try {
        return await Promise.race([both, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}
