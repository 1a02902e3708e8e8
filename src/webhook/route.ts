/**
 * POST /webhooks/revox: authenticate, read the body within the size limit, ingest, answer.
 * A 200 goes out only after the delivery's transaction has committed.
 */
import { bearerToken, tokenMatches } from '../access/tokens.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { describeError, type Logger } from '../log.ts';
import { archivedHeaders, describe, ingest, type Rejection } from './ingest.ts';
import type { StoredDelivery } from './store.ts';
import { archiveRejection } from './store.ts';

export const WEBHOOK_PATH = '/webhooks/revox';

export interface WebhookOptions {
  prisma: PrismaClient;
  secret: string;
  maxBodyBytes: number;
  logger: Logger;
  /** Whether the database answers; decides between 503 (retry later) and 500 (a bug) when storing fails. */
  databaseIsUp: () => Promise<boolean>;
  /** Called after a delivery's transaction commits. */
  onStored?: (stored: StoredDelivery) => void;
}

export function createWebhookHandler(options: WebhookOptions) {
  const { prisma, logger } = options;

  return async function handleWebhook(request: Request, requestId: string): Promise<Response> {
    const started = performance.now();
    const respond = (status: number, body: Record<string, unknown>, fields: Record<string, string | number | boolean | null> = {}) => {
      logger.info('webhook.delivery', { requestId, status, durationMs: Math.round(performance.now() - started), ...fields });
      return Response.json({ ...body, requestId }, { status, headers: status === 503 ? { 'retry-after': '5' } : {} });
    };
    const error = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) =>
      respond(status, { status: 'error', error: { code, message, ...extra } }, { outcome: code });

    if (request.method !== 'POST') {
      const response = error(405, 'method_not_allowed', 'use POST');
      response.headers.set('allow', 'POST');
      return response;
    }
    const token = new URL(request.url).searchParams.get('token') ?? bearerToken(request.headers.get('authorization'));
    if (!tokenMatches(token, options.secret)) {
      return error(401, 'unauthorized', 'missing or wrong webhook token (use ?token=<WEBHOOK_SECRET> or Authorization: Bearer)');
    }

    const headers = archivedHeaders(request.headers);
    try {
      const body = await readBody(request, options.maxBodyBytes);
      if (body === 'too_large') {
        const rejection: Rejection = {
          httpStatus: 413,
          code: 'body_too_large',
          message: `the body exceeds the ${options.maxBodyBytes}-byte limit`,
        };
        const entry = { requestId, body: null, bodyBytes: Number(request.headers.get('content-length') ?? 0), headers, contentHash: null, callRevoxId: null };
        await archiveRejection(prisma, entry, { httpStatus: 413, error: describe(rejection) });
        const response = error(413, rejection.code, rejection.message);
        // The unread rest of the body would otherwise keep the connection (and a graceful stop) waiting.
        response.headers.set('connection', 'close');
        return response;
      }
      const result = await ingest(prisma, { requestId, bytes: body, headers });
      if (result.kind === 'rejected') {
        const { httpStatus, code, message, path } = result.rejection;
        return error(httpStatus, code, message, path ? { path } : {});
      }
      options.onStored?.(result.stored);
      const { stored } = result;
      return respond(
        200,
        { status: 'accepted', duplicate: stored.duplicate, deliveryId: stored.deliveryId, callOrderId: result.callRevoxId, attempts: stored.attempts },
        { outcome: stored.duplicate ? 'duplicate' : 'accepted', callOrderId: result.callRevoxId, attemptsCreated: stored.attempts.created, attemptsUpdated: stored.attempts.updated },
      );
    } catch (failure) {
      if (failure instanceof BodyReadError) return error(400, 'malformed_body', failure.message);
      if (!(await options.databaseIsUp())) {
        logger.error('webhook.database_unavailable', { requestId, error: describeError(failure) });
        return error(503, 'database_unavailable', 'the database is unavailable; the delivery was not stored, retry later');
      }
      logger.error('webhook.store_failed', { requestId, error: describeError(failure) });
      return error(500, 'internal_error', 'the delivery could not be stored; it is archived for replay');
    }
  };
}

class BodyReadError extends Error {}

/** Reads the body, stopping as soon as it passes `limit` bytes (whatever Content-Length claims). */
async function readBody(request: Request, limit: number): Promise<Buffer | 'too_large'> {
  if (Number(request.headers.get('content-length') ?? 0) > limit) return 'too_large';
  if (!request.body) return Buffer.alloc(0);
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
        return 'too_large';
      }
      chunks.push(value);
    }
  } catch (cause) {
    throw new BodyReadError(`the body could not be read: ${describeError(cause)}`);
  }
  return Buffer.concat(chunks);
}
