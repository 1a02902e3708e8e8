/**
 * From a delivery's bytes to stored records: content type, UTF-8, JSON, validation, then one transaction.
 * Serves the HTTP webhook, `npm run replay`, and the calls read from Revox's REST API (src/revox/: `npm run sync`
 * and the reconciliation), so every delivery goes through exactly the same checks.
 * Every delivery is archived once, stored, rejected or failed; the caller decides between 503 and 500 when storing
 * fails (a database that is down cannot archive anything).
 */
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { describeError } from '../log.ts';
import { contentHash, isJsonObject, parseJson, unstorablePart } from './json.ts';
import { parseDelivery, type Delivery } from './payload.ts';
import { PayloadError } from './payloadError.ts';
import { archivedBody, BODY_WITHHELD } from './redact.ts';
import { withoutSecrets, type WithoutSecrets } from './thirdPartySecrets.ts';
import {
  archiveRejection,
  ErasedNumberError,
  storeDelivery,
  type ArchiveEntry,
  type DeliverySource,
  type StoredDelivery,
} from './store.ts';

export interface RawDelivery {
  requestId: string;
  bytes: Buffer;
  /** The request headers worth keeping (see `archivedHeaders`). */
  headers: Record<string, string>;
  /** Unset: `webhook`. A replay passes the archived delivery's own source. */
  source?: DeliverySource;
  replayOf?: string;
}

export interface Rejection {
  httpStatus: 400 | 413 | 415 | 422;
  code: 'unsupported_media_type' | 'malformed_body' | 'invalid_delivery' | 'body_too_large' | 'erased_number';
  message: string;
  /** The offending field for a 422, e.g. `call.call_attempts[0].started_at`. */
  path?: string;
}

export type IngestResult =
  | { kind: 'stored'; callRevoxId: string; stored: StoredDelivery }
  | { kind: 'rejected'; deliveryId: string; rejection: Rejection };

/** Storing a delivery failed for a reason other than the delivery (a database down, a bug). */
export class IngestFailure extends Error {
  override name = 'IngestFailure';
  constructor(
    override readonly cause: unknown,
    /** Whether the archive holds the delivery with its body, so that `npm run replay` can store it later. */
    readonly archivedForReplay: boolean,
  ) {
    super(describeError(cause));
  }
}

/** Headers kept in the archive: what helps to understand or replay a delivery, never credentials. */
const ARCHIVED_HEADERS = ['content-type', 'content-length', 'user-agent', 'x-forwarded-for', 'x-real-ip', 'x-request-id'];

export function archivedHeaders(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (ARCHIVED_HEADERS.includes(name) || name.startsWith('x-revox-')) kept[name] = value;
  });
  return kept;
}

const ERASED_BODY_WITHHELD = 'body not archived: it holds erased data';
const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Stores or rejects the delivery, leaving exactly one archive row for it whatever happens, unless the database
 * refuses even that. Throws only an IngestFailure, which says whether the delivery was archived.
 */
export async function ingest(prisma: PrismaClient, raw: RawDelivery): Promise<IngestResult> {
  const entry: ArchiveEntry = {
    requestId: raw.requestId,
    body: null,
    bodyBytes: BigInt(raw.bytes.length),
    headers: raw.headers,
    contentHash: null,
    callRevoxId: null,
    source: raw.source,
    ...(raw.replayOf ? { replayOf: raw.replayOf } : {}),
  };
  try {
    return await ingestInto(entry, prisma, raw);
  } catch (error) {
    // Most likely the database is down and this fails too; if it is up, the failure is a bug and the archived
    // delivery can be replayed once it is fixed.
    const archived = await archiveRejection(prisma, entry, { httpStatus: 500, error: describeError(error), outcome: 'failed' }).then(
      ({ bodyArchived }) => bodyArchived,
      () => false,
    );
    throw new IngestFailure(error, archived);
  }
}

async function ingestInto(entry: ArchiveEntry, prisma: PrismaClient, raw: RawDelivery): Promise<IngestResult> {
  const reject = async (rejection: Rejection, withheld = BODY_WITHHELD): Promise<IngestResult> => {
    const error = entry.body === null && raw.bytes.length > 0 ? `${describe(rejection)}; ${withheld}` : describe(rejection);
    const { deliveryId } = await archiveRejection(prisma, entry, { httpStatus: rejection.httpStatus, error });
    return { kind: 'rejected', deliveryId, rejection };
  };

  const contentType = raw.headers['content-type'] ?? '';
  let text: string;
  try {
    text = utf8.decode(raw.bytes);
  } catch {
    entry.body = archivedBody(raw.bytes.toString('latin1'), undefined);
    return reject({ httpStatus: 400, code: 'malformed_body', message: 'the body is not valid UTF-8' });
  }
  const parsed = parseJson(text);
  // Nothing recursive may walk the JSON before its depth is known to be safe.
  const unstorable = parsed.ok ? unstorablePart(parsed.value) : null;
  const clean: WithoutSecrets | undefined = parsed.ok && unstorable?.walkable !== false ? withoutSecrets(parsed.value) : undefined;
  entry.body = archivedBody(text, clean);
  if (!JSON_MEDIA_TYPE.test(contentType)) {
    const got = contentType ? `"${contentType.slice(0, 100)}"` : 'none';
    return reject({ httpStatus: 415, code: 'unsupported_media_type', message: `Content-Type must be application/json, got ${got}` });
  }
  if (!parsed.ok) return reject({ httpStatus: 400, code: 'malformed_body', message: `the body is not JSON: ${parsed.error}` });

  const call = isJsonObject(parsed.value) ? parsed.value.call : undefined;
  // A NUL would make the database refuse the archive row itself.
  entry.callRevoxId = isJsonObject(call) && typeof call.id === 'string' && !call.id.includes('\0') ? call.id.slice(0, 255) : null;
  const invalid = (error: PayloadError) => reject({ httpStatus: 422, code: 'invalid_delivery', message: error.message, path: error.path });
  if (unstorable) return invalid(new PayloadError(unstorable.path, unstorable.problem));
  let delivery: Delivery;
  try {
    // Parsed JSON is left without `clean` only when it is unstorable.
    delivery = parseDelivery(clean!);
  } catch (error) {
    if (!(error instanceof PayloadError)) throw error;
    return invalid(error);
  }
  // The hash is of the content without secrets, so the same delivery is recognised whatever its whitespace or key
  // order, and a secret leaves no trace.
  entry.contentHash = contentHash(clean!.value);
  try {
    const stored = await storeDelivery(prisma, delivery, entry);
    return { kind: 'stored', callRevoxId: delivery.order.revoxId, stored };
  } catch (error) {
    // Some problems only show against stored data (an attempt id owned by another order).
    if (error instanceof PayloadError) return invalid(error);
    if (error instanceof ErasedNumberError) {
      // The archive must not keep what the erasure removed either.
      entry.body = null;
      entry.contentHash = null;
      return reject({ httpStatus: 422, code: 'erased_number', message: error.message }, ERASED_BODY_WITHHELD);
    }
    throw error;
  }
}

export function describe(rejection: Rejection): string {
  return `${rejection.code}: ${rejection.message}`;
}
