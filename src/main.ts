/**
 * Reads the configuration, takes the port, starts the server, and stops it gracefully on SIGINT or SIGTERM.
 * The port comes first, before the rest of the server is even loaded: a port in use is reported within a moment,
 * and no database is created or migrated for nothing.
 */
import { ConfigError, loadConfig, type Config } from './config.ts';
import { DataDirBusyError } from './db/dataDirLock.ts';
import { openListener, type Listener } from './http/listener.ts';
import { createLogger, describeError } from './log.ts';

// A server started here runs in production mode unless told otherwise. graphql-js reads NODE_ENV once, when it is
// loaded (by the server's import below): outside production, each of its type checks also looks for a second copy
// of graphql, ~1.5% of a small request's CPU.
process.env.NODE_ENV ??= 'production';

// Everything the server creates (the embedded database's files above all, see src/db/privateDirectory.ts) is for
// its owner only.
process.umask(0o077);

const logger = createLogger();

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`Configuration error: ${error.message}\n`);
  process.exit(2);
}

let listener: Listener;
try {
  listener = await openListener({ port: config.port, host: config.host, maxConnections: config.maxHttpConnections, logger });
} catch (error) {
  // A cause a person can fix at once: one line saying how, and no stack trace.
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
  process.stderr.write(
    `Port ${config.port} is already in use on ${config.host}: stop the other process or set PORT=... (PORT=0 picks a free port).\n`,
  );
  process.exit(1);
}

const [{ startServer }, { WEBHOOK_PATH }] = await Promise.all([import('./server.ts'), import('./webhook/route.ts')]);

try {
  const server = await startServer(config, { logger, listener });
  const webhookUrl = `${server.url}${WEBHOOK_PATH}`;
  if (process.stdout.isTTY) {
    // Only a person at a terminal sees the token; logs never carry it.
    const token = encodeURIComponent(server.webhookSecret.value);
    const api = apiAccess(await server.apiIsOpen(), server.database.kind === 'embedded');
    process.stdout.write(
      `\nCallboard is running.\n  GraphiQL: ${server.url}/graphql\n${api}` +
        `  Webhook: ${webhookUrl}?token=${token}\n` +
        '  Revox calls from the internet and cannot reach this address: give it a public HTTPS address (a tunnel or a\n' +
        `  reverse proxy forwarding to ${server.url}), with the same path and token:\n` +
        `  https://<your-public-host>${WEBHOOK_PATH}?token=${token}\n\n`,
    );
  }
  logger.info('webhook.url', {
    url: `${webhookUrl}?token=<secret>`,
    secretFrom: server.webhookSecret.source === 'WEBHOOK_SECRET' ? 'the WEBHOOK_SECRET environment variable' : server.webhookSecret.source,
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('server.stopping', { signal });
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('server.stop_failed', { error: describeError(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  // Some configuration can only be judged against the database (is any API key there?).
  if (error instanceof ConfigError) {
    process.stderr.write(`Configuration error: ${error.message}\n`);
    process.exit(2);
  }
  // A cause a person can fix at once: one line saying how, and no stack trace.
  if (error instanceof DataDirBusyError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    logger.error('server.start_failed', { error: describeError(error) });
  }
  process.exit(1);
}

/** The banner's lines on who may call the API, and how to make a key. */
function apiAccess(open: boolean, embedded: boolean): string {
  const createKey = 'npm run keys -- create --name <name> --scope calls:read';
  // The embedded database admits one process at a time (src/db/dataDirLock.ts); an open API has every scope.
  const whileRunning = embedded
    ? `    (on the embedded database, stop the server first, or run the createApiKey mutation${open ? ' in GraphiQL' : ' with an admin key'})\n`
    : '';
  return open
    ? `  API: open: no API key exists yet (nor API_TOKENS), so any program on this machine may call it without one.\n    The first key closes it: ${createKey}\n${whileRunning}`
    : `  API: a key is required: send Authorization: Bearer <key> (in GraphiQL, in the Headers tab).\n    New keys: ${createKey}\n${whileRunning}`;
}
