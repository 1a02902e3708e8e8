/**
 * POST /webhooks/revox: authenticate, read the body within the size limit, ingest, publish, answer.
 * A 200 goes out only after the delivery's transaction has committed; publishing its completions never holds it.
 */
import { bearerToken, tokenMatches } from '../access/tokens.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import type { CallEventPublisher } from '../events/eventBus.ts';
import { requestIdOf } from '../http/requestId.ts';
import type { RouteHandler } from '../http/router.ts';
import { describeError, type Logger } from '../log.ts';
import { archivedHeaders, describe, ingest, IngestFailure, type Rejection } from '../ingest/pipeline.ts';
import { FailedTokenLimiter } from './rateLimit.ts';
import { archiveRejection } from '../ingest/store.ts';

export const WEBHOOK_PATH = '/webhooks/revox';

export interface WebhookOptions {
  prisma: PrismaClient;
  secret: string;
  maxBodyBytes: number;
  logger: Logger;
  /** Whether the database answers; decides between 503 (retry later) and 500 (a bug) when storing fails. */
  databaseIsUp: () => Promise<boolean>;
  /** Where a delivery's completions go once its transaction has committed. */
  events: CallEventPublisher;
  /** Called for every answer, with its outcome (accepted, duplicate, or the error code), status and duration. */
  onAnswered?: (outcome: string, status: number, seconds: number) => void;
}

export interface WebhookRoute {
  handle: RouteHandler;
  /** Deliveries being received or stored right now: shutdown waits for them. */
  inFlight(): number;
}

/** The route: names each request (X-Request-Id), counts deliveries in flight, and hands the connection's address on. */
export function createWebhookRoute(options: WebhookOptions): WebhookRoute {
  const handleWebhook = createWebhookHandler(options);
  let inFlight = 0;
  return {
    inFlight: () => inFlight,
    async handle(request, serverContext) {
      const requestId = requestIdOf(request);
      inFlight += 1;
      try {
        const response = await handleWebhook(request, requestId, serverContext.req.socket.remoteAddress);
        response.headers.set('x-request-id', requestId);
        return response;
      } finally {
        inFlight -= 1;
      }
    },
  };
}

function createWebhookHandler(options: WebhookOptions) {
  const { prisma, logger } = options;
  const failedTokens = new FailedTokenLimiter();

  /** `clientAddress` is the connection's remote address (a reverse proxy's, behind one: see rateLimit.ts). */
  return async function handleWebhook(request: Request, requestId: string, clientAddress: string | undefined): Promise<Response> {
    const started = performance.now();
    // A body left unread would keep the connection (and a graceful stop) waiting for bytes nobody reads.
    let bodyRead = false;
    const respond = (status: number, body: Record<string, unknown>, fields: Record<string, string | number | boolean | null> = {}) => {
      const seconds = (performance.now() - started) / 1000;
      logger.info('webhook.delivery', { requestId, status, durationMs: Math.round(seconds * 1000), ...fields });
      options.onAnswered?.(String(fields.outcome ?? 'unknown'), status, seconds);
      const headers = new Headers(status === 503 ? { 'retry-after': '5' } : {});
      if (!bodyRead) headers.set('connection', 'close');
      return Response.json({ ...body, requestId }, { status, headers });
    };
    const error = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) =>
      respond(status, { status: 'error', error: { code, message, ...extra } }, { outcome: code });

    if (request.method !== 'POST') {
      const response = error(405, 'method_not_allowed', 'use POST');
      response.headers.set('allow', 'POST');
      return response;
    }
    const client = clientAddress ?? 'unknown';
    const retryAfter = failedTokens.retryAfterSeconds(client);
    if (retryAfter > 0) {
      const response = error(
        429,
        'too_many_failed_tokens',
        `too many requests with a wrong token from this address; retry in ${retryAfter} s`,
      );
      response.headers.set('retry-after', String(retryAfter));
      return response;
    }
    const token = new URL(request.url).searchParams.get('token') ?? bearerToken(request.headers.get('authorization'));
    if (!tokenMatches(token, options.secret)) {
      failedTokens.recordFailure(client);
      return error(401, 'unauthorized', 'missing or wrong webhook token (use ?token=<WEBHOOK_SECRET> or Authorization: Bearer)');
    }

    // From here on, every request leaves exactly one archive row, unless the database refuses even that.
    const headers = archivedHeaders(request.headers);
    try {
      const body = await readBody(request, options.maxBodyBytes);
      if ('refused' in body) {
        const { refused, bytesSeen } = body;
        const entry = { requestId, body: null, bodyBytes: bytesSeen, headers, contentHash: null, callRevoxId: null };
        await archiveRejection(prisma, entry, { httpStatus: refused.httpStatus, error: describe(refused) });
        return error(refused.httpStatus, refused.code, refused.message);
      }
      bodyRead = true;
      const result = await ingest(prisma, { requestId, bytes: body.bytes, headers });
      if (result.kind === 'rejected') {
        const { httpStatus, code, message, path } = result.rejection;
        return error(httpStatus, code, message, path ? { path } : {});
      }
      const { stored } = result;
      options.events.publishCallCompleted(stored.completed);
      return respond(
        200,
        {
          status: 'accepted',
          duplicate: stored.duplicate,
          deliveryId: stored.deliveryId,
          callRevoxId: result.callRevoxId,
          attempts: stored.attempts,
        },
        {
          outcome: stored.duplicate ? 'duplicate' : 'accepted',
          callRevoxId: result.callRevoxId,
          attemptsCreated: stored.attempts.created,
          attemptsUpdated: stored.attempts.updated,
        },
      );
    } catch (failure) {
      const cause = failure instanceof IngestFailure ? failure.cause : failure;
      if (!(await options.databaseIsUp())) {
        logger.error('webhook.database_unavailable', { requestId, error: describeError(cause) });
        return error(503, 'database_unavailable', 'the database is unavailable; the delivery was not stored, retry later');
      }
      const archived = failure instanceof IngestFailure && failure.archivedForReplay;
      logger.error('webhook.store_failed', { requestId, error: describeError(cause), archived });
      const consequence = archived ? 'it is archived for replay' : 'it could not be archived for replay either';
      return error(500, 'internal_error', `the delivery could not be stored; ${consequence}`);
    }
  };
}

type ReadBody = { bytes: Buffer } | { refused: Rejection; bytesSeen: bigint };

/** Reads the body, stopping as soon as it passes `limit` bytes (whatever Content-Length claims). */
async function readBody(request: Request, limit: number): Promise<ReadBody> {
  const tooLarge = (bytesSeen: bigint): ReadBody => ({
    refused: { httpStatus: 413, code: 'body_too_large', message: `the body exceeds the ${limit}-byte limit` },
    bytesSeen,
  });
  const declared = declaredLength(request.headers.get('content-length'));
  if (declared !== null && declared > BigInt(limit)) return tooLarge(declared);
  if (!request.body) return { bytes: Buffer.alloc(0) };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel();
        return tooLarge(BigInt(size));
      }
      chunks.push(value);
    }
  } catch (cause) {
    const message = `the body could not be read: ${describeError(cause)}`;
    return { refused: { httpStatus: 400, code: 'malformed_body', message }, bytesSeen: BigInt(size) };
  }
  return { bytes: Buffer.concat(chunks) };
}

/** Content-Length as a number of bytes (any size a BIGINT holds), or null when absent or unusable. */
function declaredLength(header: string | null): bigint | null {
  return header !== null && /^\d{1,18}$/.test(header.trim()) ? BigInt(header.trim()) : null;
}
