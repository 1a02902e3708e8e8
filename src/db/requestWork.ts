/**
 * The database work of one API request. A GraphQL query runs inside `withRequestWork`; every statement sent on its
 * behalf, wherever it comes from (the one-statement pages, Prisma's reads, the statistics), passes through
 * `requestStatement`, which lets only a few of them run at once and none once the request is gone (the client
 * disconnected). The database side (src/db/database.ts) also cancels the statements running when the request goes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a statement of a request that is gone fails with; nobody reads its answer. */
export class RequestGoneError extends Error {
  override name = 'RequestGoneError';
  constructor() {
    super('The request was cancelled before its statement ran');
  }
}

export class RequestWork {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  /** `signal` aborts when the request is gone. */
  constructor(readonly signal: AbortSignal) {
    signal.addEventListener(
      'abort',
      () => {
        for (const wake of this.waiting.splice(0)) wake();
      },
      { once: true },
    );
  }

  /** Runs `statement` once fewer than `maxAtOnce` of this request's statements are running. */
  async run<T>(maxAtOnce: number, statement: () => Promise<T>): Promise<T> {
    while (this.running >= maxAtOnce && !this.signal.aborted) await new Promise<void>((wake) => this.waiting.push(wake));
    if (this.signal.aborted) throw new RequestGoneError();
    this.running += 1;
    try {
      return await statement();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}

const currentWork = new AsyncLocalStorage<RequestWork>();

/** Runs `execute` (and everything it starts) as `work`. */
export function withRequestWork<T>(work: RequestWork, execute: () => T): T {
  return currentWork.run(work, execute);
}

/** The request whose work is being done here, if any: outside GraphQL queries (ingest, governance, probes), none. */
export function currentRequestWork(): RequestWork | undefined {
  return currentWork.getStore();
}

/** Runs `statement` within the current request's bound of `maxAtOnce` statements at once, or at once outside requests. */
export function requestStatement<T>(maxAtOnce: number, statement: () => Promise<T>): Promise<T> {
  const work = currentWork.getStore();
  return work ? work.run(maxAtOnce, statement) : statement();
}
