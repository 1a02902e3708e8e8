/**
 * Connections the server is waiting on (an HTTP request not fully received, a WebSocket that has not sent
 * connection_init), counted per client address so that one address cannot take every place: slowloris, and sockets
 * that never authenticate.
 *
 * Past its share, an address's newcomer takes the place of that address's oldest waiting connection, once that one
 * has waited GRACE_MS: a connection that is still waiting after that is idling, while a burst of clients connecting
 * at once (a dashboard fleet behind one proxy, after a restart) sends what it has within milliseconds and must not
 * be cut. With a total as well, a full room gives a newcomer the place of the oldest connection of the address most
 * over its share (an address that churns connections keeps them all young), or else of the oldest that has waited
 * GRACE_MS, and refuses the newcomer only when neither exists.
 */
export const GRACE_MS = 1_000;

export interface WaitingRoom<T> {
  /** Counts `item` as waiting; false when the room is full of connections younger than GRACE_MS. */
  enter(item: T, address: string | undefined): boolean;
  /** Stops counting `item` (it sent what was waited for, or closed); harmless when it is not counted. */
  leave(item: T): void;
  size(): number;
}

export interface WaitingRoomOptions<T> {
  perAddress: number;
  total?: number;
  /** Ends a connection whose place a newcomer takes; it has already left the room. */
  evict(item: T, reason: 'address' | 'total'): void;
}

export function createWaitingRoom<T>({ perAddress, total = Number.POSITIVE_INFINITY, evict }: WaitingRoomOptions<T>): WaitingRoom<T> {
  /** Every waiting item with the time it entered, oldest first (a Map keeps insertion order). */
  const since = new Map<T, number>();
  const byAddress = new Map<string, Set<T>>();
  const addressOf = new Map<T, string>();

  const leave = (item: T) => {
    const address = addressOf.get(item);
    if (address === undefined) return;
    addressOf.delete(item);
    since.delete(item);
    const group = byAddress.get(address)!;
    group.delete(item);
    if (group.size === 0) byAddress.delete(address);
  };
  const waitedLongEnough = (item: T | undefined, now: number): item is T =>
    item !== undefined && now - (since.get(item) ?? now) >= GRACE_MS;

  /**
   * In a full room: the oldest connection of the address most over its share, whatever its age (that address is
   * flooding the room); else the oldest connection that has waited GRACE_MS; else none.
   */
  const placeToGive = (now: number): T | undefined => {
    let largest: Set<T> | undefined;
    for (const group of byAddress.values()) if (group.size > (largest?.size ?? perAddress)) largest = group;
    if (largest) return largest.values().next().value;
    const [oldest] = since.keys();
    return waitedLongEnough(oldest, now) ? oldest : undefined;
  };

  return {
    enter(item, remoteAddress) {
      const now = Date.now();
      const address = addressGroup(remoteAddress);
      const [oldestOfAddress] = byAddress.get(address) ?? [];
      if ((byAddress.get(address)?.size ?? 0) >= perAddress && waitedLongEnough(oldestOfAddress, now)) {
        leave(oldestOfAddress);
        evict(oldestOfAddress, 'address');
      }
      if (since.size >= total) {
        const place = placeToGive(now);
        if (place === undefined) return false;
        leave(place);
        evict(place, 'total');
      }
      since.set(item, now);
      addressOf.set(item, address);
      let group = byAddress.get(address);
      if (!group) byAddress.set(address, (group = new Set()));
      group.add(item);
      return true;
    },
    leave,
    size: () => since.size,
  };
}

/** What a socket's address counts against: an IPv4 address, or an IPv6 address's /64 (one host often has all of it). */
export function addressGroup(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('%')[0]!.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
