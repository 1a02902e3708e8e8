/** One call read from Revox through the webhook pipeline, with what became of it in the words the runs count in. */
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { describe, ingest } from '../ingest/pipeline.ts';
import type { JsonObject } from '../ingest/json.ts';
import type { StoredDelivery } from '../ingest/store.ts';
import { toDelivery } from './toDelivery.ts';

export type CallOutcome =
  /** Stored data changed: a new order or attempt, or a newer version of one. */
  | { kind: 'stored'; stored: StoredDelivery }
  /** Everything it says was already stored (the same copy, or an older one). */
  | { kind: 'unchanged'; stored: StoredDelivery }
  /** Refused by validation; the archive keeps it with the reason. */
  | { kind: 'failed'; error: string };

/** Throws only an IngestFailure (the database failed), as `ingest` does. */
export async function ingestCall(prisma: PrismaClient, call: JsonObject): Promise<CallOutcome> {
  const result = await ingest(prisma, toDelivery(call));
  if (result.kind === 'rejected') return { kind: 'failed', error: describe(result.rejection) };
  const { stored } = result;
  const changed = !stored.duplicate && (stored.order !== 'unchanged' || stored.attempts.created + stored.attempts.updated > 0);
  return { kind: changed ? 'stored' : 'unchanged', stored };
}

/** The call's Revox id for messages, or where it was when it has none. */
export function callLabel(call: JsonObject, fallback: string): string {
  return typeof call.id === 'string' && call.id !== '' ? call.id.slice(0, 255) : fallback;
}
