/**
 * PostGraphile v5 (Amber preset + connection-filter with relation filters) serving Callboard's tables, run as its own
 * process. Prints {"event":"server.listening","url":...}. Env: DATABASE_URL, PORT (0).
 *
 * PostGraphile 5.1 declares Node >= 22; on Node 20 every query fails until Promise.withResolvers exists, so it is
 * polyfilled before PostGraphile loads (nothing else was missing).
 */
import { createServer } from 'node:http';
import { serveUntilTerminated } from './serve.ts';

const promise = Promise as unknown as { withResolvers?: () => unknown };
if (typeof promise.withResolvers !== 'function') {
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T) => void;
    let reject!: (reason?: unknown) => void;
    const created = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: created, resolve, reject };
  };
}

const { postgraphile } = await import('postgraphile');
const { makePgService } = await import('postgraphile/adaptors/pg');
const { PostGraphileAmberPreset } = await import('postgraphile/presets/amber');
const { grafserv } = await import('postgraphile/grafserv/node');
const { PostGraphileConnectionFilterPreset } = await import('postgraphile-plugin-connection-filter');

const preset = {
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  pgServices: [makePgService({ connectionString: process.env.DATABASE_URL!, schemas: ['public'], poolConfig: { max: 10 } } as never)],
  schema: { connectionFilterRelations: true },
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: { explain: false },
} as never;

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server);
serveUntilTerminated(server, async () => pgl.release());
