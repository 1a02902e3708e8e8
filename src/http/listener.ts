/**
 * The server's listening socket, opened before anything else: a port in use is reported at once, before a database
 * is created or migrated, and the port is held from then on, so that nothing takes it while the server starts. Until
 * the server hands over its routes, every request (a WebSocket upgrade too) is answered 503 with Retry-After, so that
 * a probe, a load balancer or Revox tries again later. This file loads nothing heavy: `npm start` opens the socket
 * before it loads the rest of the server (a few seconds).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { limitConnections } from './connectionLimits.ts';

export interface Listener {
  readonly server: Server;
  /** Hands every request from now on to `handler`. */
  serve(handler: RequestListener): void;
  /** Stops listening and drops every connection: for a start that failed. */
  close(): Promise<void>;
}

export interface ListenerOptions {
  port: number;
  host: string;
  /** HTTP_MAX_CONNECTIONS: applied from the first connection. */
  maxConnections: number;
  logger: Logger;
}

const RETRY_AFTER_SECONDS = 5;
const STARTING = JSON.stringify({
  status: 'error',
  error: { code: 'starting', message: 'the server is starting (opening its database); try again in a few seconds' },
});

/** Listens on `port`; rejects with the listen error (EADDRINUSE for a port in use). */
export async function openListener({ port, host, maxConnections, logger }: ListenerOptions): Promise<Listener> {
  let handler: RequestListener | undefined;
  const server = createServer((request, response) => {
    if (handler) return handler(request, response);
    response.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(RETRY_AFTER_SECONDS) }).end(STARTING);
  });
  // Before listen: Node reads some of these limits when it starts listening.
  limitConnections(server, { maxConnections, logger });
  // limitConnections listens for upgrades, so Node hands them here instead of to the request handler above.
  server.on('upgrade', (_request, socket: Duplex) => {
    if (handler) return;
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nretry-after: ${RETRY_AFTER_SECONDS}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(STARTING)}\r\nconnection: close\r\n\r\n${STARTING}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    serve(requestHandler) {
      handler = requestHandler;
    },
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      return closed;
    },
  };
}
