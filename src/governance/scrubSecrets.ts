/**
 * Rows stored before secret removal covered every depth (an llm_model's nested `credentials`, a second copy of a
 * duplicated key in an archived body) may still hold third parties' secrets. This rewrites them once per database,
 * with the same functions ingest uses today, and records that it ran in `settings`. It runs in the background at
 * start; running it twice (two instances starting together) does no harm.
 */
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import type { Json } from '../webhook/json.ts';
import { unstorablePart } from '../webhook/json.ts';
import { archivedBody, BODY_WITHHELD } from '../webhook/redact.ts';
import { withoutSecretNames, withoutSecrets } from '../webhook/secrets.ts';

const DONE_SETTING = 'stored_secrets_scrubbed_v1';
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
        where: { llmModel: { not: Prisma.DbNull }, ...(after ? { id: { gt: after } } : {}) },
        select: { id: true, llmModel: true },
        orderBy: { id: 'asc' },
        take: BATCH,
      }),
    async (order) => {
      const cleaned = withoutSecretNames(order.llmModel as Json);
      if (JSON.stringify(cleaned) === JSON.stringify(order.llmModel)) return;
      await prisma.callOrder.update({
        where: { id: order.id },
        data: { llmModel: cleaned as Prisma.InputJsonValue },
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
