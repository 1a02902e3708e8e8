/**
 * Rows stored under older secret-removal rules (ingest/thirdPartySecrets.ts, `SECRET_RULES_VERSION`) may still hold third parties'
 * secrets: in an order's llm_model, in the assistant a REST call keeps in `extra`, and in archived bodies. This
 * rewrites them with the rules ingest uses today, once per database and rules version, and records that it ran in
 * `settings`. It runs in the background at start; running it twice (two instances starting together) does no harm.
 */
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import type { Json, JsonObject } from '../ingest/json.ts';
import { unstorablePart } from '../ingest/json.ts';
import { archivedBody, BODY_WITHHELD } from '../ingest/redact.ts';
import { SECRET_RULES_VERSION, withoutSecrets } from '../ingest/thirdPartySecrets.ts';

/** A new rules version has a marker of its own, so the rows are scrubbed again under it. */
export const DONE_SETTING = `stored_secrets_scrubbed_v${SECRET_RULES_VERSION}`;
const BATCH = 200;

export interface ScrubCounts {
  callOrders: number;
  webhookDeliveries: number;
}

/** Null when it ran before. */
export async function scrubStoredSecrets(prisma: PrismaClient): Promise<ScrubCounts | null> {
  if (await prisma.setting.findUnique({ where: { name: DONE_SETTING } })) return null;
  const counts: ScrubCounts = { callOrders: 0, webhookDeliveries: 0 };

  await inBatches(
    (after) =>
      prisma.callOrder.findMany({
        where: after ? { id: { gt: after } } : {},
        select: { id: true, llmModel: true, extra: true },
        orderBy: { id: 'asc' },
        take: BATCH,
      }),
    async (order) => {
      const cleaned = orderWithoutSecrets(order.llmModel as Json | null, order.extra as JsonObject);
      if (JSON.stringify(cleaned) === JSON.stringify({ llmModel: order.llmModel, extra: order.extra })) return;
      await prisma.callOrder.update({
        where: { id: order.id },
        data: { llmModel: cleaned.llmModel === null ? Prisma.DbNull : (cleaned.llmModel as Prisma.InputJsonValue), extra: cleaned.extra },
        select: { id: true },
      });
      counts.callOrders += 1;
    },
  );
  await inBatches(
    (after) =>
      prisma.webhookDelivery.findMany({
        where: { body: { not: null }, ...(after ? { id: { gt: after } } : {}) },
        select: { id: true, body: true, error: true },
        orderBy: { id: 'asc' },
        take: BATCH,
      }),
    async (delivery) => {
      const body = bodyToArchive(delivery.body!);
      if (body === delivery.body) return;
      const error = body === null ? [delivery.error, BODY_WITHHELD].filter(Boolean).join('; ') : delivery.error;
      await prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { body, error }, select: { id: true } });
      counts.webhookDeliveries += 1;
    },
  );

  await prisma.setting.createMany({ data: [{ name: DONE_SETTING, value: new Date().toISOString() }], skipDuplicates: true });
  return counts;
}

/** Pages through rows by id, `BATCH` at a time, so memory stays bounded whatever the table's size. */
async function inBatches<Row extends { id: string }>(
  page: (after: string | undefined) => Promise<Row[]>,
  handle: (row: Row) => Promise<void>,
) {
  let after: string | undefined;
  for (;;) {
    const rows = await page(after);
    for (const row of rows) await handle(row);
    if (rows.length < BATCH) return;
    after = rows.at(-1)!.id;
  }
}

/**
 * A stored order's llm_model and extra fields (where a REST call's assistant is) as ingest would store them today:
 * put back in the delivery's shape, so that the one definition of where secrets live applies.
 */
function orderWithoutSecrets(llmModel: Json | null, extra: JsonObject): { llmModel: Json | null; extra: JsonObject } {
  const { value } = withoutSecrets({ call: { ...extra, llm_model: llmModel } });
  const { llm_model: cleanedModel = null, ...cleanedExtra } = (value as { call: JsonObject }).call;
  return { llmModel: cleanedModel, extra: cleanedExtra };
}

/** What ingest would archive of this text today. */
function bodyToArchive(text: string): string | null {
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    return archivedBody(text, undefined);
  }
  return archivedBody(text, unstorablePart(parsed)?.walkable === false ? undefined : withoutSecrets(parsed));
}
