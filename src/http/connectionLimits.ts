/**
 * Bounds what idle and slow connections can hold (slowloris): a connection must send its request headers within
 * HEADERS_TIMEOUT_MS and its whole request within REQUEST_TIMEOUT_MS; the server holds at most `maxConnections`
 * connections; and one remote address (an IPv6 /64) has at most MAX_WAITING_PER_ADDRESS connections that the server
 * is waiting on (a request not fully received yet, or an idle keep-alive connection): past that, a newcomer takes
 * the place of the address's oldest waiting connection (../limits/waitingRoom.ts). A connection that is being
 * answered (a query running, an SSE stream, an upgraded WebSocket) is not waiting, so a reverse proxy's address is
 * never cut for the streams it carries. Each kind of refusal is logged, at most once per LOG_INTERVAL_MS, with a
 * count.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createWaitingRoom } from '../limits/waitingRoom.ts';
import { throttledWarning, type Logger } from '../log.ts';

export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request, body included: a 5 MiB webhook body needs ~90 KB/s. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** How often Node looks for connections past those timeouts. */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** A browser opens six connections per origin; a proxy a few dozen idle ones. */
export const MAX_WAITING_PER_ADDRESS = 256;
const LOG_INTERVAL_MS = 10_000;
/** File descriptors kept for the database, Redis and files beyond the HTTP connections. */
const RESERVED_DESCRIPTORS = 1_024;

const LIMITS = {
  server_full: 'HTTP_MAX_CONNECTIONS',
  address_full: `${MAX_WAITING_PER_ADDRESS} waiting connections per address: the oldest was closed`,
  request_timeout: `headers within ${HEADERS_TIMEOUT_MS / 1000}s, request within ${REQUEST_TIMEOUT_MS / 1000}s`,
} as const;
type Refusal = keyof typeof LIMITS;

export function limitConnections(server: Server, { maxConnections, logger }: { maxConnections: number; logger: Logger }): void {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.maxConnections = maxConnections;
  // Node reads this once, when it starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = TIMEOUT_CHECK_INTERVAL_MS;

  const descriptors = openFileLimit();
  if (descriptors !== undefined && descriptors < maxConnections + RESERVED_DESCRIPTORS) {
    logger.warn('http.file_limit_low', {
      openFileLimit: descriptors,
      maxConnections,
      advice: `raise the limit (ulimit -n, systemd LimitNOFILE) to ${maxConnections + RESERVED_DESCRIPTORS} or lower HTTP_MAX_CONNECTIONS`,
    });
  }

  const warn = throttledWarning(logger, 'http.connection_refused', LOG_INTERVAL_MS);
  const refused = (kind: Refusal) => warn(kind, { limit: LIMITS[kind] });
  const waiting = createWaitingRoom<Socket>({
    perAddress: MAX_WAITING_PER_ADDRESS,
    evict: (socket) => {
      refused('address_full');
      socket.destroy();
    },
  });
  const setWaiting = (socket: Socket, isWaiting: boolean) => {
    if (!isWaiting) waiting.leave(socket);
    else if (!socket.destroyed) waiting.enter(socket, socket.remoteAddress);
  };

  server.on('connection', (socket: Socket) => {
    setWaiting(socket, true);
    socket.once('close', () => setWaiting(socket, false));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    const answering = () => {
      if (!response.writableFinished) setWaiting(socket, false);
    };
    if (request.complete) answering();
    else request.once('end', answering);
    // Answered: an idle keep-alive connection waits on its client again.
    response.once('finish', () => setWaiting(socket, true));
  });
  server.on('upgrade', (request: IncomingMessage) => setWaiting(request.socket, false));
  server.on('drop', () => refused('server_full'));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') refused('request_timeout');
    answerClientError(error, socket);
  });
}

/** What Node answers to a malformed or timed-out request when no one listens for 'clientError'. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const status =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? '408 Request Timeout'
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
  const answered = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent ?? false;
  if (socket.writable && !answered) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  socket.destroy();
}

/** The soft limit on open files, where the system says (Linux); undefined elsewhere. */
function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((row) => row.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
