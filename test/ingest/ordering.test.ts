/**
 * At-least-once, unordered delivery: duplicates, late deliveries and concurrent deliveries for one order all end
 * in the state that delivering each once, in order, produces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderDelivery, type AttemptSpec } from '../../support/deliveries.ts';
import { startTestServer, storedOrder, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

const attemptsOf = (prefix: string): AttemptSpec[] => [
  { id: `${prefix}_a0`, result: 'voicemail' },
  { id: `${prefix}_a1`, status: 'error', result: null },
  { id: `${prefix}_a2`, result: 'human', turns: 12 },
];

/** The three deliveries Revox sends for the order, plus a stale one that saw attempt 2 still ongoing. */
function deliveriesOf(prefix: string) {
  const attempts = attemptsOf(prefix);
  const stale = orderDelivery(
    prefix,
    [...attempts.slice(0, 2), { id: `${prefix}_a2`, status: 'ongoing', result: null, endedAt: null, turns: 3 }],
    2,
  );
  stale.call.is_completed = false;
  return [0, 1, 2].map((upTo) => orderDelivery(prefix, attempts, upTo)).concat(stale);
}

/** The stored state with everything that depends on the order id or storage time made comparable. */
async function normalisedState(prefix: string) {
  const state = await storedOrder(server, prefix);
  const json = JSON.stringify(state, (key, value) => (key === 'versionKey' ? undefined : value));
  return JSON.parse(json.replaceAll(prefix, 'ORDER'));
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

let reference: unknown;
beforeAll(async () => {
  for (const d of deliveriesOf('call_ref').slice(0, 3)) expect((await server.deliver(d)).status).toBe(200);
  reference = await normalisedState('call_ref');
});

describe('the end state', () => {
  it('is the completed order with every attempt in its final status', async () => {
    const state = (await storedOrder(server, 'call_ref'))!;
    expect(state).toMatchObject({ isCompleted: true, callsCount: 3, status: 'completed', nextCallAt: null });
    expect(state.attempts.map((a) => [a.revoxId, a.status, a.result, a.transcript.length])).toEqual([
      ['call_ref_a0', 'completed', 'voicemail', 2],
      ['call_ref_a1', 'error', null, 2],
      ['call_ref_a2', 'completed', 'human', 12],
    ]);
  });

  it('does not depend on the order of arrival (all 24 orders of four deliveries, one stale)', async () => {
    const orders = permutations([0, 1, 2, 3]);
    for (const [n, order] of orders.entries()) {
      const prefix = `call_perm${n}`;
      const deliveries = deliveriesOf(prefix);
      for (const index of order) expect((await server.deliver(deliveries[index])).status).toBe(200);
      expect(await normalisedState(prefix), `arrival order ${order.join(',')}`).toEqual(reference);
    }
  });

  it('an older delivery arriving last changes nothing: the attempt does not move back to ongoing', async () => {
    const deliveries = deliveriesOf('call_late');
    for (const d of deliveries.slice(0, 3)) await server.deliver(d);
    const before = await storedOrder(server, 'call_late');
    const late = await server.deliver(deliveries[3]);
    expect(late.body).toMatchObject({ status: 'accepted', duplicate: false, attempts: { created: 0, updated: 0, unchanged: 3 } });
    const first = await server.deliver(deliveries[0]);
    expect(first.body.attempts).toEqual({ created: 0, updated: 0, unchanged: 1 });
    expect(await storedOrder(server, 'call_late')).toEqual(before);
  });
});

describe('concurrent deliveries for one order', () => {
  it('eight at once all succeed and end as if they had arrived one by one', async () => {
    for (let round = 0; round < 3; round++) {
      const prefix = `call_conc${round}`;
      const deliveries = deliveriesOf(prefix);
      const burst = [...deliveries, ...deliveries].sort(() => Math.random() - 0.5);
      const responses = await Promise.all(burst.map((d) => server.deliver(d)));
      expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
      // Each distinct delivery is stored once; its twin is recognised as a duplicate.
      expect(responses.filter((r) => r.body.duplicate)).toHaveLength(4);
      expect(await normalisedState(prefix)).toEqual(reference);
      const attempts = await server.database.prisma.callAttempt.count({ where: { callOrder: { revoxId: prefix } } });
      expect(attempts).toBe(3);
    }
  });

  it('concurrent first deliveries of different orders do not block each other', async () => {
    const responses = await Promise.all(
      Array.from({ length: 16 }, (_, i) => server.deliver(orderDelivery(`call_par${i}`, attemptsOf(`call_par${i}`), 0))),
    );
    expect(responses.every((r) => r.status === 200 && !r.body.duplicate)).toBe(true);
    expect(await server.database.prisma.callOrder.count({ where: { revoxId: { startsWith: 'call_par' } } })).toBe(16);
  });
});
