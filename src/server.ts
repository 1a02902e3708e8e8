/**
 * Wires the capabilities into one HTTP server: the database, the Revox webhook, the GraphQL API (Yoga, and
 * graphql-ws on the same port) and the health endpoints. The port is taken first (./http/listener.ts), so that a
 * port in use fails before any database is opened. `startServer` returns once everything is served; `stop` drains it.
 */
import type { AddressInfo } from 'node:net';
import { createOriginPolicy } from './access/origins.ts';
import { createAuthenticator } from './access/principal.ts';
import { ConfigError, isLoopbackHost, type Config } from './config.ts';
import { createKeyStore } from './access/keys.ts';
import { createKeyWatch } from './access/keyWatch.ts';
import { loadErasureHashKey } from './ingest/numberHashes.ts';
import { createRetention, type PurgeCounts } from './governance/retention.ts';
import { scrubStoredSecrets } from './governance/scrubSecrets.ts';
import { openDatabase, type Database } from './db/database.ts';
import { applySearchLanguage } from './db/searchLanguage.ts';
import { exportRoutes } from './export/route.ts';
import { createEventBus, type EventBus, type SubscriberLimits } from './events/eventBus.ts';
import { redisTransportFromConfig } from './events/redisTransport.ts';
import { createSubscriptionHubs, type SubscriptionHubs } from './events/subscriptionHub.ts';
import { attachWebSocket } from './graphql/websocket.ts';
import { createGraphQL, GRAPHQL_PATH } from './graphql/yoga.ts';
import { healthRoute, readinessRoute } from './http/health.ts';
import { metricsRoute } from './http/metrics.ts';
import { createMetrics } from './metrics.ts';
import { landingRoute } from './http/landing.ts';
import { openListener, type Listener } from './http/listener.ts';
import { createRouter } from './http/router.ts';
import { createLogger, describeError, type Logger } from './log.ts';
import { reconcilerFromConfig } from './revox/reconcile.ts';
import { createWebhookRoute, WEBHOOK_PATH } from './webhook/route.ts';
import { resolveWebhookSecret, type WebhookSecret } from './webhook/webhookSecret.ts';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  port: number;
  database: Database;
  events: EventBus;
  /** Where WebSocket subscribers of the same operation share one execution per event. */
  subscriptionHubs: Pick<SubscriptionHubs, 'stats'>;
  webhookSecret: WebhookSecret;
  /** True while the API needs no token: no API_TOKENS, and no API key created yet. */
  apiIsOpen(): Promise<boolean>;
  /** Purges what is past its retention now (it also runs on a schedule); null when nothing is purged by age. */
  purgeExpired(): Promise<PurgeCounts | null>;
  /** Webhook deliveries being received or stored right now. */
  inFlightDeliveries(): number;
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  logger?: Logger;
  /** The port, already taken (`npm start` takes it before loading the server); the server closes it when it stops. */
  listener?: Listener;
  /** Passed to the database: every SQL statement, for tests that count them. */
  onQuery?: (sql: string) => void;
  /** How far a subscriber may fall behind before it is cut off (defaults suit production; tests shrink them). */
  subscriberLimits?: SubscriberLimits;
  /** Pages read in one SQL statement where they can be (the default); tests turn it off to compare with Prisma's. */
  oneStatementReads?: boolean;
}

/** Deliveries being stored get this long to finish on shutdown before their connections are cut. */
const DRAIN_TIMEOUT_MS = 10_000;
/** Events being resolved for subscribers get this long to go out on shutdown. */
const EVENT_DRAIN_TIMEOUT_MS = 5_000;
/** Shorter webhook secrets work, with a warning: the token travels in URLs, so it should not be guessable. */
const MIN_SECRET_LENGTH = 16;
/** How long start-up waits for Redis before serving without it. */
const REDIS_CONNECT_TIMEOUT_MS = 5_000;

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const listener =
    options.listener ?? (await openListener({ port: config.port, host: config.host, maxConnections: config.maxHttpConnections, logger }));
  const database = await openDatabase({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, onQuery: options.onQuery }).catch(
    async (error: unknown) => {
      await listener.close();
      throw error;
    },
  );
  const metrics = createMetrics();
  const events = createEventBus(logger, {
    transport: redisTransportFromConfig(config, logger),
    limits: options.subscriberLimits,
    onPublished: metrics.eventsPublished,
    onDropped: metrics.eventsDropped,
  });
  if (database.appliedMigrations.length > 0) {
    logger.info('database.migrated', { applied: database.appliedMigrations.join(',') });
  }

  try {
    // Events of deliveries taken before Redis is connected would be lost; a Redis that stays down must not keep
    // the server from storing deliveries, though.
    if (!(await events.ready(REDIS_CONNECT_TIMEOUT_MS))) {
      logger.warn('redis.not_ready', { waitedMs: REDIS_CONNECT_TIMEOUT_MS, effect: 'events are published once Redis is reachable' });
    }
    const webhookSecret = await resolveWebhookSecret(config.webhookSecret, config.dataDir);
    if (webhookSecret.value.length < MIN_SECRET_LENGTH) {
      logger.warn('webhook.short_secret', { length: webhookSecret.value.length, advice: `use ${MIN_SECRET_LENGTH} characters or more` });
    }
    const webhook = createWebhookRoute({
      prisma: database.prisma,
      secret: webhookSecret.value,
      maxBodyBytes: config.maxBodyBytes,
      logger,
      databaseIsUp: () => database.ping(1_000),
      events,
      onAnswered: metrics.webhookAnswered,
    });
    const keys = createKeyStore(database.prisma);
    const authenticate = createAuthenticator({ apiTokens: config.apiTokens, keys });
    const open = await authenticate.isOpen();
    if (open && !isLoopbackHost(config.host)) {
      throw new ConfigError(
        `HOST=${config.host} would expose the GraphQL API to the network without authentication: set API_TOKENS or create an API key (npm run keys -- create ...), or listen on 127.0.0.1`,
      );
    }
    const origins = createOriginPolicy({ open, corsOrigins: config.corsOrigins, logger });
    const keyWatch = createKeyWatch(keys, authenticate, logger);
    const retention = createRetention(database.prisma, config, logger);
    // Read once now, so that storing a delivery stays one statement (its numbers' hashes are checked for erasures).
    await loadErasureHashKey(database.prisma);
    await applySearchLanguage(database.prisma, config.transcriptSearchLanguage, logger);
    const yoga = createGraphQL({
      prisma: database.prisma,
      events,
      authenticate,
      origins,
      keyWatch,
      maxSseConnections: config.maxSseConnections,
      logger,
      metrics,
      oneStatementReads: options.oneStatementReads ?? true,
    });

    const router = createRouter({
      [GRAPHQL_PATH]: (request, serverContext) => yoga.handleRequest(request, serverContext),
      [WEBHOOK_PATH]: webhook.handle,
      '/health': healthRoute,
      '/ready': readinessRoute(() => database.ping(2_000)),
      '/metrics': metricsRoute(metrics, authenticate, origins),
      ...exportRoutes({ prisma: database.prisma, authenticate, origins, keyWatch, logger }),
      '/': landingRoute({ graphqlPath: GRAPHQL_PATH, webhookPath: WEBHOOK_PATH }),
    });

    listener.serve(router);
    const { server } = listener;
    const subscriptionHubs = createSubscriptionHubs(events, logger);
    const webSocket = attachWebSocket(server, GRAPHQL_PATH, yoga, {
      authenticate,
      origins,
      keyWatch,
      maxConnections: config.maxWebSocketConnections,
      subscriptionHubs,
      onEventSent: () => metrics.eventSent('websocket'),
      logger,
    });
    metrics.observe({
      subscribers: events.subscribersByTransport,
      webSocketConnections: webSocket.connections,
      databasePool: database.poolStats,
      redisConnected: events.redisConnected,
    });
    keyWatch.start();
    retention.start();
    // Once per database, in the background; stop() waits for it.
    const scrubbing = scrubStoredSecrets(database.prisma).then(
      (counts) => counts && logger.info('secrets.scrubbed', { ...counts }),
      (error: unknown) => logger.error('secrets.scrub_failed', { error: describeError(error) }),
    );
    const reconciler = reconcilerFromConfig(config, { prisma: database.prisma, logger, events });
    reconciler?.start();
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info('server.listening', {
      url,
      graphql: `${url}${GRAPHQL_PATH}`,
      database: database.kind,
      api: open ? 'open' : 'key required',
    });

    return {
      url,
      port,
      database,
      events,
      subscriptionHubs,
      webhookSecret,
      apiIsOpen: authenticate.isOpen,
      inFlightDeliveries: webhook.inFlight,
      purgeExpired: retention.runNow,
      async stop() {
        // Stop accepting, let deliveries being stored finish and their events go out, then close subscribers
        // (WebSocket with 1001; SSE streams end with their connections) and the database.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await reconciler?.stop();
        await waitUntil(() => webhook.inFlight() === 0, DRAIN_TIMEOUT_MS);
        await waitUntil(() => events.eventsInFlight() === 0, EVENT_DRAIN_TIMEOUT_MS);
        keyWatch.stop();
        await retention.stop();
        await scrubbing;
        await webSocket.close();
        server.closeAllConnections();
        await closed;
        await events.close();
        await database.close();
        logger.info('server.stopped');
      },
    };
  } catch (error) {
    await listener.close();
    await events.close();
    await database.close();
    throw error;
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}
