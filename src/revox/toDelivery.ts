/**
 * A call read from Revox's REST API, as the delivery the delivery pipeline takes (`ingest/pipeline.ts`): `{ "call": ... }`
 * with its `call_attempts` and `last_call_attempt`, exactly the envelope of a webhook minus `call_attempt` (the
 * attempt that just finished, which a read has not). Nothing is dropped or renamed here: ingest validates, removes
 * secrets, and keeps what has no column (`assistant`, `contact`, `campaign`, ...) in `extra`.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../ingest/json.ts';
import type { RawDelivery } from '../ingest/pipeline.ts';

export function toDelivery(call: JsonObject): RawDelivery {
  return {
    requestId: `revox-sync-${randomUUID()}`,
    bytes: Buffer.from(JSON.stringify({ call }), 'utf8'),
    headers: { 'content-type': 'application/json' },
    source: 'sync',
  };
}
