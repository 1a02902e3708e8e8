/**
 * Prometheus metrics: one registry per server. Capabilities report into it through small callbacks (they never
 * import prom-client), and gauges read the state of the capabilities when scraped. Labels take a few known values
 * only: no ids, phone numbers or operation text, and operation names are capped, in all and per API key.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the gauges read at scrape time. */
export interface MetricSources {
  subscribers(): Record<string, number>;
  webSocketConnections(): number;
  databasePool(): { total: number; idle: number; waiting: number } | null;
  /** Undefined without Redis. */
  redisConnected(): { publish: boolean; subscribe: boolean } | undefined;
}

/** Distinct operation names kept as labels; later ones count as `other`, so a client cannot grow the registry. */
export const MAX_OPERATION_NAMES = 200;
/** Of those, how many one caller (an API key) may bring, so that one key cannot take the labels of all the others. */
export const MAX_OPERATION_NAMES_PER_CALLER = 20;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  let sources: MetricSources | undefined;

  const webhookDeliveries = new Counter({
    name: 'callboard_webhook_deliveries_total',
    help: 'Webhook deliveries answered, by outcome (accepted, duplicate, or the error code) and HTTP status.',
    labelNames: ['outcome', 'status'],
    registers,
  });
  const webhookDuration = new Histogram({
    name: 'callboard_webhook_duration_seconds',
    help: 'Time to answer a webhook delivery, storage included.',
    labelNames: ['outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const graphqlOperations = new Counter({
    name: 'callboard_graphql_operations_total',
    help: 'GraphQL operations executed (subscriptions: started), by type, name and result.',
    labelNames: ['type', 'name', 'result'],
    registers,
  });
  const graphqlDuration = new Histogram({
    name: 'callboard_graphql_operation_duration_seconds',
    help: 'Time to execute a query or mutation.',
    labelNames: ['type', 'name'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const eventsPublished = new Counter({ name: 'callboard_events_published_total', help: 'Completion events published.', registers });
  const eventsSent = new Counter({
    name: 'callboard_events_sent_total',
    help: 'Events resolved and handed to a subscriber transport.',
    labelNames: ['transport'],
    registers,
  });
  const eventsDropped = new Counter({
    name: 'callboard_events_dropped_total',
    help: 'Events thrown away with a subscriber cut off for falling behind.',
    registers,
  });
  new Gauge({
    name: 'callboard_subscribers',
    help: 'Open subscriptions, by transport.',
    labelNames: ['transport'],
    registers,
    collect() {
      this.reset();
      for (const [transport, count] of Object.entries(sources?.subscribers() ?? {})) this.set({ transport }, count);
    },
  });
  new Gauge({
    name: 'callboard_websocket_connections',
    help: 'Authenticated WebSocket connections.',
    registers,
    collect() {
      this.set(sources?.webSocketConnections() ?? 0);
    },
  });
  new Gauge({
    name: 'callboard_db_pool_connections',
    help: 'PostgreSQL pool connections, by state (total, idle, waiting for one). Absent with the embedded database.',
    labelNames: ['state'],
    registers,
    collect() {
      this.reset();
      const pool = sources?.databasePool();
      if (pool) for (const [state, count] of Object.entries(pool)) this.set({ state }, count);
    },
  });
  new Gauge({
    name: 'callboard_redis_connected',
    help: '1 while the Redis connection (publish or subscribe) is ready. Absent without REDIS_URL.',
    labelNames: ['role'],
    registers,
    collect() {
      this.reset();
      const redis = sources?.redisConnected();
      if (redis) for (const [role, up] of Object.entries(redis)) this.set({ role }, up ? 1 : 0);
    },
  });

  const operationNames = new Set<string>();
  /** How many of the kept names each caller brought (at most one entry per kept name). */
  const namesBroughtBy = new Map<string, number>();
  const operationName = (name: string | null | undefined, caller: string) => {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (operationNames.has(name)) return name;
    const brought = namesBroughtBy.get(caller) ?? 0;
    if (operationNames.size >= MAX_OPERATION_NAMES || brought >= MAX_OPERATION_NAMES_PER_CALLER) return 'other';
    operationNames.add(name);
    namesBroughtBy.set(caller, brought + 1);
    return name;
  };

  return {
    registry,
    observe(observed: MetricSources) {
      sources = observed;
    },
    webhookAnswered(outcome: string, status: number, seconds: number) {
      webhookDeliveries.inc({ outcome, status: String(status) });
      webhookDuration.observe({ outcome }, seconds);
    },
    /** `caller` names who asked (the principal's name): a new operation name counts against its share. */
    graphqlOperation(type: string, name: string | null | undefined, caller: string, result: 'ok' | 'error', seconds?: number) {
      const label = operationName(name, caller);
      graphqlOperations.inc({ type, name: label, result });
      if (seconds !== undefined) graphqlDuration.observe({ type, name: label }, seconds);
    },
    eventsPublished: (count: number) => eventsPublished.inc(count),
    eventSent: (transport: string) => eventsSent.inc({ transport }),
    eventsDropped: (count: number) => eventsDropped.inc(count),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
