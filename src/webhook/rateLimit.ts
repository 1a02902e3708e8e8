/**
 * Limits wrong webhook tokens per client, so the secret cannot be guessed at speed nor the logs flooded with 401s.
 * Behind a reverse proxy every request comes from the proxy's address: one client sending wrong tokens then locks
 * out Revox too until its window passes (Revox retries). The proxy should limit by the real client instead.
 */

export interface FailedTokenLimits {
  /** Wrong tokens one client may send within a window; the next requests are refused unchecked (429). */
  maxFailures: number;
  windowMs: number;
  /** Clients tracked at once, so that memory stays bounded whatever the number of addresses. */
  maxClients: number;
}

export const FAILED_TOKEN_LIMITS: FailedTokenLimits = { maxFailures: 20, windowMs: 60_000, maxClients: 10_000 };

interface Window {
  started: number;
  failures: number;
}

/** A fixed window per client, opened by its first wrong token; successes never count. */
export class FailedTokenLimiter {
  /** In insertion order, which is the order windows started in: expired ones are at the front. */
  private readonly windows = new Map<string, Window>();

  constructor(private readonly limits: FailedTokenLimits = FAILED_TOKEN_LIMITS) {}

  /** Whole seconds until `address` may try again; 0 when it may now. */
  retryAfterSeconds(address: string, now = Date.now()): number {
    const window = this.current(clientKey(address), now);
    if (!window || window.failures < this.limits.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.started + this.limits.windowMs - now) / 1000));
  }

  recordFailure(address: string, now = Date.now()): void {
    const key = clientKey(address);
    let window = this.current(key, now);
    if (!window) {
      this.makeRoom(now);
      window = { started: now, failures: 0 };
      this.windows.set(key, window);
    }
    window.failures += 1;
  }

  /** How many clients are tracked. */
  get size(): number {
    return this.windows.size;
  }

  private current(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (window && now - window.started >= this.limits.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  /** Drops expired windows, then, when more clients than allowed fail at once, the oldest window. */
  private makeRoom(now: number): void {
    for (const [key, window] of this.windows) {
      if (now - window.started < this.limits.windowMs) break;
      this.windows.delete(key);
    }
    while (this.windows.size >= this.limits.maxClients) this.windows.delete(this.windows.keys().next().value!);
  }
}

/**
 * The unit a client is counted by: its IPv4 address (also when IPv4-mapped), or the /64 prefix of its IPv6 address,
 * since one IPv6 host usually holds a whole /64.
 */
export function clientKey(address: string): string {
  const mappedIpv4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mappedIpv4) return mappedIpv4[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.replace(/%.*$/, '').toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
