/**
 * Keyed hashes of phone numbers: how an erasure remembers a number without keeping it (its audit row and tombstone),
 * and how a delivery is checked against those tombstones before it is stored (store.ts sends the hashes of every
 * number it mentions to the store function).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Prisma, PrismaClient } from '../db/generated/prisma/client.ts';
import { deliveryNumbers } from './phoneNumbers.ts';
import type { Delivery } from './payload.ts';

const HASH_KEY_SETTING = 'erasure_hash_key';

/** HMAC-SHA256 of the number with a key generated once per database, shared by every instance. */
export async function phoneNumberHash(db: Prisma.TransactionClient, phoneNumber: string): Promise<string> {
  return hashPhoneNumber(await hashKey(db), phoneNumber);
}

/**
 * The keyed hashes of every number a delivery mentions (see deliveryNumbers), which the store function looks up
 * among the erasures.
 */
export async function deliveryNumberHashes(prisma: PrismaClient, delivery: Delivery): Promise<string[]> {
  const key = await loadErasureHashKey(prisma);
  return [...deliveryNumbers(delivery)].map((number) => hashPhoneNumber(key, number));
}

/**
 * The hash key, read once per client: it never changes once made. The server loads it at start, so that storing a
 * delivery stays one statement.
 */
export function loadErasureHashKey(prisma: PrismaClient): Promise<string> {
  let key = hashKeys.get(prisma);
  if (key === undefined) {
    key = hashKey(prisma);
    hashKeys.set(prisma, key);
    // A failed read (the database down) is tried again next time.
    key.catch(() => hashKeys.delete(prisma));
  }
  return key;
}

const hashKeys = new WeakMap<PrismaClient, Promise<string>>();

async function hashKey(db: Prisma.TransactionClient): Promise<string> {
  await db.setting.createMany({ data: [{ name: HASH_KEY_SETTING, value: randomBytes(32).toString('base64url') }], skipDuplicates: true });
  const { value } = await db.setting.findUniqueOrThrow({ where: { name: HASH_KEY_SETTING } });
  return value;
}

function hashPhoneNumber(key: string, phoneNumber: string): string {
  return createHmac('sha256', key).update(phoneNumber).digest('hex');
}
