/**
 * A deterministic data set written straight to the database, for read-side tests that need hundreds of records
 * (the webhook path has its own tests). Values cover every case the API must handle: ties in creation time,
 * unknown enum values, null results and end times, several attempts per order, searchable transcripts.
 */
import type { PrismaClient } from '../../src/db/generated/prisma/client.ts';
import { random } from '../../support/random.ts';

export const PHONE_NUMBERS = ['+33612345678', '+14155550123', '+442079460000', '+4930123456'] as const;
const DIRECTIONS = ['inbound', 'outbound', 'outbound', 'sideways'] as const;
const STATUSES = ['completed', 'completed', 'error', 'ongoing', 'transferred'] as const;
const RESULTS = ['human', 'voicemail', 'IVR', null, 'fax-machine', 'ios-screening-filter'] as const;
const WORDS = ['appointment', 'Rendez-vous', 'invoice', 'DELIVERY', 'callback', 'Öffnungszeiten'] as const;

export const BASE = Date.parse('2026-01-01T00:00:00Z');

export async function seedOrders(prisma: PrismaClient, count: number, seed = 1) {
  const rng = random(seed);
  const orders = [];
  for (let i = 0; i < count; i++) {
    const number = rng.pick(PHONE_NUMBERS);
    const attempts = 1 + Math.floor(rng.next() * 3);
    orders.push({
      revoxId: `seed_${seed}_${i}`,
      fromPhoneNumber: '+33100000000',
      toPhoneNumber: number,
      direction: rng.pick(DIRECTIONS),
      isCompleted: rng.next() < 0.6,
      callsCount: attempts,
      // Every third order shares its creation time with the previous one: ties must not break pagination.
      createdAt: new Date(BASE + (i - (i % 3 === 2 ? 1 : 0)) * 60_000),
      versionKey: 'seed',
      attempts: {
        create: Array.from({ length: attempts }, (_, a) => {
          const status = rng.pick(STATUSES);
          const startedAt = new Date(BASE + i * 60_000 + a * 3_600_000);
          const finished = status === 'completed' || status === 'error';
          const answered = rng.next() < 0.7;
          return {
            revoxId: `seed_${seed}_${i}_a${a}`,
            phoneNumber: number,
            status,
            result: rng.pick(RESULTS),
            startedAt,
            answeredAt: answered ? new Date(startedAt.getTime() + 5_000) : null,
            endedAt: finished ? new Date(startedAt.getTime() + 5_000 + Math.floor(rng.next() * 300) * 1000) : null,
            versionKey: 'seed',
            transcript: {
              create: Array.from({ length: 1 + Math.floor(rng.next() * 4) }, (_, position) => ({
                position,
                role: position % 2 === 0 ? 'assistant' : 'user',
                content: `turn ${position} about ${rng.pick(WORDS)}`,
              })),
            },
          };
        }),
      },
    });
  }
  for (const data of orders) await prisma.callOrder.create({ data });
}
