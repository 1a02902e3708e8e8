/** The rule that waiting HTTP connections and unauthenticated WebSockets share, on its own, with the clock in hand. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWaitingRoom, GRACE_MS } from '../../src/limits/waitingRoom.ts';

let evicted: { item: string; reason: string }[];
beforeEach(() => {
  vi.useFakeTimers();
  evicted = [];
});
afterEach(() => vi.useRealTimers());

const room = (perAddress: number, total?: number) =>
  createWaitingRoom<string>({ perAddress, total, evict: (item, reason) => evicted.push({ item, reason }) });

describe('a waiting room', () => {
  it("lets a burst from one address past its share, then gives each newcomer the place of the address's oldest idler", () => {
    const waiting = room(3);
    for (const item of ['a1', 'a2', 'a3', 'a4', 'a5']) expect(waiting.enter(item, '10.0.0.1')).toBe(true);
    expect(evicted).toEqual([]);
    vi.advanceTimersByTime(GRACE_MS);
    expect(waiting.enter('a6', '10.0.0.1')).toBe(true);
    expect(evicted).toEqual([{ item: 'a1', reason: 'address' }]);
    // Another address has its own share.
    expect(waiting.enter('b1', '10.0.0.2')).toBe(true);
    expect(evicted).toHaveLength(1);
    expect(waiting.size()).toBe(6);
  });

  it('when full, takes the place of the address most over its share, however young its connections (a churn)', () => {
    const waiting = room(2, 5);
    for (const item of ['a1', 'a2', 'a3', 'a4', 'a5']) waiting.enter(item, '10.0.0.1');
    expect(waiting.enter('b1', '10.0.0.2')).toBe(true);
    expect(evicted).toEqual([{ item: 'a1', reason: 'total' }]);
  });

  it("when full of addresses within their share, gives the oldest idler's place, and refuses while all are young", () => {
    const waiting = room(2, 4);
    for (const [item, address] of [
      ['a1', '10.0.0.1'],
      ['b1', '10.0.0.2'],
      ['c1', '10.0.0.3'],
      ['d1', '10.0.0.4'],
    ] as const) {
      waiting.enter(item, address);
    }
    expect(waiting.enter('e1', '10.0.0.5')).toBe(false);
    vi.advanceTimersByTime(GRACE_MS);
    expect(waiting.enter('e1', '10.0.0.5')).toBe(true);
    expect(evicted).toEqual([{ item: 'a1', reason: 'total' }]);
  });

  it('forgets what leaves, and counts an IPv6 /64 as one address', () => {
    const waiting = room(1);
    waiting.enter('a1', '2001:db8:0:1::1');
    waiting.leave('a1');
    waiting.leave('a1');
    expect(waiting.size()).toBe(0);
    waiting.enter('a2', '2001:db8:0:1::1');
    vi.advanceTimersByTime(GRACE_MS);
    waiting.enter('a3', '2001:db8:0:1:ffff::2');
    expect(evicted).toEqual([{ item: 'a2', reason: 'address' }]);
  });
});
