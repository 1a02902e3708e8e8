/**
 * From a delivery's bytes to stored records: content type, UTF-8, JSON, validation, then one transaction.
 * Serves both the HTTP webhook and `npm run replay`, so a replayed delivery goes through exactly the same checks.
 * Every rejection is archived; errors from storage itself are left to the caller (a database that is down cannot
 * archive anything).
 */
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { describeError } from '../log.ts';
import { contentHash, isJsonObject, type Json } from './json.ts';
import { parseDelivery, PayloadError, withoutThirdPartySecret } from './payload.ts';
import { redactBody } from './redact.ts';
import { archiveRejection, storeDelivery, type ArchiveEntry, type StoredDelivery } from './store.ts';

export interface RawDelivery {
  requestId: string;
  bytes: Buffer;
  /** The request headers worth keeping (see `archivedHeaders`). */
  headers: Record<string, string>;
  replayOf?: string;
}

export interface Rejection {
  httpStatus: 400 | 413 | 415 | 422;
  code: 'unsupported_media_type' | 'malformed_body' | 'invalid_delivery' | 'body_too_large';
  message: string;
  /** The offending field for a 422, e.g. `call.call_attempts[0].started_at`. */
  path?: string;
}

export type IngestResult =
  | { kind: 'stored'; callRevoxId: string; stored: StoredDelivery }
  | { kind: 'rejected'; deliveryId: string; rejection: Rejection };

/** Headers kept in the archive: what helps to understand or replay a delivery, never credentials. */
const ARCHIVED_HEADERS = ['content-type', 'content-length', 'user-agent', 'x-forwarded-for', 'x-real-ip', 'x-request-id'];

export function archivedHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (ARCHIVED_HEADERS.includes(name) || name.startsWith('x-revox-')) kept[name] = value;
  });
  return kept;
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function ingest(prisma: PrismaClient, raw: RawDelivery): Promise<IngestResult> {
  const entry: ArchiveEntry = {
    requestId: raw.requestId,
    body: null,
    bodyBytes: raw.bytes.length,
    headers: raw.headers,
    contentHash: null,
    callRevoxId: null,
    ...(raw.replayOf ? { replayOf: raw.replayOf } : {}),
  };
  const reject = async (rejection: Rejection): Promise<IngestResult> => {
    const deliveryId = await archiveRejection(prisma, entry, { httpStatus: rejection.httpStatus, error: describe(rejection) });
    return { kind: 'rejected', deliveryId, rejection };
  };

  const contentType = raw.headers['content-type'] ?? '';
  let text: string;
  try {
    text = utf8.decode(raw.bytes);
  } catch {
    entry.body = redactBody(raw.bytes.toString('latin1'), undefined);
    return reject({ httpStatus: 400, code: 'malformed_body', message: 'the body is not valid UTF-8' });
  }
  const parsed = parseJson(text);
  entry.body = redactBody(text, parsed.ok ? parsed.value : undefined);
  if (!JSON_MEDIA_TYPE.test(contentType)) {
    const got = contentType ? `"${contentType.slice(0, 100)}"` : 'none';
    return reject({ httpStatus: 415, code: 'unsupported_media_type', message: `Content-Type must be application/json, got ${got}` });
  }
  if (!parsed.ok) return reject({ httpStatus: 400, code: 'malformed_body', message: `the body is not JSON: ${parsed.error}` });

  const call = isJsonObject(parsed.value) ? parsed.value.call : undefined;
  entry.callRevoxId = isJsonObject(call) && typeof call.id === 'string' ? call.id.slice(0, 255) : null;
  const invalid = (error: PayloadError) => reject({ httpStatus: 422, code: 'invalid_delivery', message: error.message, path: error.path });
  let delivery;
  try {
    delivery = parseDelivery(parsed.value);
  } catch (error) {
    if (!(error instanceof PayloadError)) throw error;
    return invalid(error);
  }
  // The hash is of the content without the api_key, so the same delivery is recognised whatever its whitespace
  // or key order, and the secret leaves no trace.
  entry.contentHash = contentHash(withoutThirdPartySecret(parsed.value));
  let stored: StoredDelivery;
  try {
    stored = await storeDelivery(prisma, delivery, entry);
  } catch (error) {
    // Some problems only show against stored data (an attempt id owned by another order).
    if (error instanceof PayloadError) return invalid(error);
    // Most likely the database is down and this fails too; if it is up, the failure is a bug and the archived
    // delivery can be replayed once it is fixed.
    await archiveRejection(prisma, entry, { httpStatus: 500, error: describeError(error), outcome: 'failed' }).catch(() => {});
    throw error;
  }
  return { kind: 'stored', callRevoxId: delivery.order.revoxId, stored };
}

function parseJson(text: string): { ok: true; value: Json } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as Json };
  } catch (error) {
    // V8's message can quote part of the body, which may hold a secret: keep only where parsing stopped.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    return { ok: false, error: position ? `invalid JSON at position ${position}` : 'invalid or incomplete JSON' };
  }
}

export function describe(rejection: Rejection): string {
  return `${rejection.code}: ${rejection.message}`;
}
