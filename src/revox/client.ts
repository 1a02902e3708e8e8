/**
 * Reads calls from Revox's REST API (docs/revox-sync.md): `retrieve` (GET /call/{id}) and `search` (paged, newest
 * first). Every path is configurable, because Revox's documentation confirms only some of them.
 *
 * Each request has a timeout that covers the whole exchange, headers and body, and is retried with exponential
 * back-off on connection errors, timeouts, 408, 409, 429 and 5xx, as Revox's own SDKs do, waiting what `Retry-After`
 * asks (up to a cap). An answer is read up to `MAX_ANSWER_BYTES`, and a redirect is followed only within Revox's
 * origin. Errors name their cause with positions and lengths, never the answer's content (calls hold phone numbers),
 * nor the API key, which travels only in the Authorization header.
 */
import type { Config } from '../config.ts';
import { isJsonObject, parseJson, type JsonObject } from '../ingest/json.ts';

export interface RevoxClientOptions {
  apiKey: string;
  baseUrl: string;
  /** With `{id}` where the call's id goes. */
  retrievePath: string;
  searchPath: string;
  searchMethod: 'POST' | 'GET';
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
}

export interface RetryPolicy {
  /** Retries after the first try. */
  maxRetries: number;
  /** The first back-off; it doubles with each retry, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer `Retry-After` is waited only this long. */
  maxRetryAfterMs: number;
}

/** Revox's SDKs retry twice, from 0.5 s to 8 s; a history import is worth a little more patience. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

export interface SearchPage {
  calls: JsonObject[];
  /** How many calls the search matches in all. */
  totalCount: number;
}

export interface RevoxClient {
  /** The call with its attempts, as Revox has it now. Throws RevoxNotFoundError for an unknown id. */
  retrieveCall(id: string, signal?: AbortSignal): Promise<JsonObject>;
  /** One page of every call, newest first. */
  searchCalls(page: number, pageSize: number, signal?: AbortSignal): Promise<SearchPage>;
}

export class RevoxError extends Error {
  override name = 'RevoxError';
  constructor(
    message: string,
    /** The HTTP status Revox answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** 401 or 403: the key is wrong, revoked, or not allowed to read calls. */
export class RevoxAuthError extends RevoxError {
  override name = 'RevoxAuthError';
}

/** 404: an unknown call, or a path that does not exist on this API. */
export class RevoxNotFoundError extends RevoxError {
  override name = 'RevoxNotFoundError';
}

/** Revox could not be reached, or kept failing, through every retry. */
export class RevoxUnavailableError extends RevoxError {
  override name = 'RevoxUnavailableError';
}

/** Revox refused the request for another reason, or answered something that is not what its API describes. */
export class RevoxResponseError extends RevoxError {
  override name = 'RevoxResponseError';
}

const RETRIED_STATUSES = new Set([408, 409, 429]);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Redirects followed (within the origin) before the request is given up. */
const MAX_REDIRECTS = 5;

/**
 * The largest answer read. A call with a long transcript is tens of KiB, a search page of 100 such calls a few MiB;
 * an answer that goes on past this is cut off, so that a broken or hostile server cannot exhaust memory.
 */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** What Revox answered: its status and its body, read whole (within the cap and the timeout). */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** The client the configuration describes. */
export function revoxClientFromConfig(config: Config, apiKey: string): RevoxClient {
  return createRevoxClient({
    apiKey,
    baseUrl: config.revoxBaseUrl,
    retrievePath: config.revoxRetrievePath,
    searchPath: config.revoxSearchPath,
    searchMethod: config.revoxSearchMethod,
    timeoutMs: config.revoxTimeoutMs,
  });
}

export function createRevoxClient(options: RevoxClientOptions): RevoxClient {
  const retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };

  async function request(method: 'GET' | 'POST', path: string, query: URLSearchParams | null, body: unknown, signal?: AbortSignal) {
    const url = new URL(`${options.baseUrl}${path}${query ? `?${query}` : ''}`);
    const what = `${method} ${path}`;
    let problem = '';
    for (let attempt = 0; ; attempt += 1) {
      let answer: Answer;
      try {
        answer = await exchange(url, method, body === undefined ? undefined : JSON.stringify(body), what, signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        // An answer too large or a redirect elsewhere would be the same on every try.
        if (error instanceof RevoxError) throw error;
        problem = connectionProblem(error, options.timeoutMs);
        if (attempt >= retry.maxRetries) break;
        await sleep(backOff(retry, attempt), signal);
        continue;
      }
      const { status } = answer;
      if (status >= 200 && status < 300) return parseJsonAnswer(answer.text, what);
      if (status === 401 || status === 403) {
        throw new RevoxAuthError(
          `Revox refused the API key (HTTP ${status} to ${what}): check REVOX_API_KEY` +
            (status === 403 ? ', and that the key may read calls' : ''),
          status,
        );
      }
      if (status === 404) throw new RevoxNotFoundError(`HTTP 404 to ${what}`, 404);
      if (!RETRIED_STATUSES.has(status) && status < 500) {
        throw new RevoxResponseError(
          `Revox answered HTTP ${status} to ${what} (${Buffer.byteLength(answer.text)} bytes, not quoted: they may hold personal data)`,
          status,
        );
      }
      problem = `HTTP ${status}`;
      if (attempt >= retry.maxRetries) break;
      await sleep(retryAfterMs(answer.headers.get('retry-after'), retry) ?? backOff(retry, attempt), signal);
    }
    throw new RevoxUnavailableError(`Revox did not answer ${what} after ${retry.maxRetries + 1} tries (last: ${problem})`);
  }

  /**
   * One try: the request, its redirects within the origin, and the whole answer, within `timeoutMs`. The deadline is
   * a timer of its own rather than `AbortSignal.any` with the caller's signal, which on Node 20 can fail to fire.
   */
  async function exchange(url: URL, method: 'GET' | 'POST', body: string | undefined, what: string, signal?: AbortSignal): Promise<Answer> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new DOMException('REVOX_TIMEOUT', 'TimeoutError')), options.timeoutMs);
    const onAbort = () => deadline.abort(signal!.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (let redirects = 0; ; redirects += 1) {
        const response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${options.apiKey}`,
            accept: 'application/json',
            'user-agent': 'callboard-revox-sync',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body,
          redirect: 'manual',
          signal: deadline.signal,
        });
        if (!REDIRECT_STATUSES.has(response.status)) {
          return { status: response.status, headers: response.headers, text: await readAnswer(response, what) };
        }
        await response.body?.cancel();
        const target = redirectTarget(url, response.headers.get('location'));
        const refused = (why: string) =>
          new RevoxResponseError(
            `Revox answered HTTP ${response.status} to ${what}, a redirect ${why}: not followed (check REVOX_BASE_URL)`,
            response.status,
          );
        if (target?.origin !== url.origin) throw refused(`to ${target?.origin ?? 'nowhere'}, another origin`);
        if (redirects >= MAX_REDIRECTS) throw refused(`after ${MAX_REDIRECTS} others`);
        // As browsers do: a 303, and a 301 or 302 to a POST, become a GET without a body.
        if (response.status === 303 || (method === 'POST' && response.status < 307)) {
          method = 'GET';
          body = undefined;
        }
        url = target;
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    async retrieveCall(id, signal) {
      const path = options.retrievePath.replace('{id}', encodeURIComponent(id));
      let answer: unknown;
      try {
        answer = await request('GET', path, null, undefined, signal);
      } catch (error) {
        if (error instanceof RevoxNotFoundError) {
          throw new RevoxNotFoundError(
            `Revox has no call "${id}" (HTTP 404 to GET ${path}; check REVOX_RETRIEVE_PATH if no call is found)`,
            404,
          );
        }
        throw error;
      }
      if (!isJsonObject(answer) || !isJsonObject(answer.call)) {
        throw new RevoxResponseError(`Revox's answer to GET ${path} has no "call" object`);
      }
      // Stored under the id it carries, another call would be taken for this one's news.
      if (answer.call.id !== id) throw new RevoxResponseError(`Revox's answer to GET ${path} is another call, not "${id}"`);
      return answer.call;
    },

    async searchCalls(page, pageSize, signal) {
      const method = options.searchMethod;
      const paging = { page: String(page), page_size: String(pageSize), sort_by: 'created_at', sort_direction: 'desc' };
      let answer: unknown;
      try {
        answer =
          method === 'GET'
            ? await request('GET', options.searchPath, new URLSearchParams(paging), undefined, signal)
            : await request('POST', options.searchPath, null, { ...NO_FILTERS, ...paging, page, page_size: pageSize }, signal);
      } catch (error) {
        if (error instanceof RevoxNotFoundError) {
          throw new RevoxNotFoundError(
            `Revox has no ${method} ${options.searchPath} (HTTP 404): the search path is not confirmed by Revox's documentation; ` +
              'set REVOX_SEARCH_PATH and REVOX_SEARCH_METHOD to what the live API uses',
            404,
          );
        }
        throw error;
      }
      const what = `${method} ${options.searchPath}`;
      if (!isJsonObject(answer) || !Array.isArray(answer.calls) || typeof answer.total_count !== 'number') {
        throw new RevoxResponseError(`Revox's answer to ${what} is not {"calls": [...], "total_count": n}`);
      }
      const index = answer.calls.findIndex((call) => !isJsonObject(call));
      if (index >= 0) throw new RevoxResponseError(`Revox's answer to ${what} has calls[${index}] that is not an object`);
      return { calls: answer.calls as JsonObject[], totalCount: answer.total_count };
    },
  };
}

/** Search's array filters are required by Revox's SDK; empty means "no filter". */
const NO_FILTERS = {
  statuses: [],
  outcomes: [],
  results: [],
  directions: [],
  assignee_ids: [],
  assistant_ids: [],
  campaign_ids: [],
  from_phone_numbers: [],
} as const;

/** The body, counted as it streams in and cut off past `MAX_ANSWER_BYTES` (one announced larger is not read). */
async function readAnswer(response: Response, what: string): Promise<string> {
  const tooLarge = (length: string) =>
    new RevoxResponseError(`Revox's answer to ${what} is larger than the ${MAX_ANSWER_BYTES} bytes read of an answer (${length})`);
  const announced = Number(response.headers.get('content-length') ?? 0);
  if (announced > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    throw tooLarge(`Content-Length ${announced}`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    length += read.value.byteLength;
    if (length > MAX_ANSWER_BYTES) {
      // Cancelling closes the connection: nothing more is received.
      await reader.cancel().catch(() => {});
      throw tooLarge(`${length} bytes seen`);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks, length).toString('utf8');
}

/** Where a redirect points, resolved against the URL asked; null when it points nowhere readable. */
function redirectTarget(from: URL, location: string | null): URL | null {
  if (location === null) return null;
  try {
    return new URL(location, from);
  } catch {
    return null;
  }
}

function parseJsonAnswer(text: string, what: string): unknown {
  const parsed = parseJson(text);
  if (!parsed.ok) throw new RevoxResponseError(`Revox's answer to ${what} is not JSON (${parsed.error}, ${Buffer.byteLength(text)} bytes)`);
  return parsed.value;
}

function connectionProblem(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no complete answer within ${timeoutMs} ms (REVOX_TIMEOUT)`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = cause && typeof cause === 'object' && 'code' in cause ? String(cause.code) : '';
  return `connection failed${code ? ` (${code})` : cause instanceof Error ? ` (${cause.message})` : ''}`;
}

/** Exponential, with jitter so that instances that failed together do not retry together. */
function backOff(retry: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
  return ceiling * (0.75 + Math.random() * 0.25);
}

/** `Retry-After` in seconds or as an HTTP date, capped; undefined when absent or unreadable. */
function retryAfterMs(header: string | null, retry: RetryPolicy): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - Date.now();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(0, ms), retry.maxRetryAfterMs);
}

/** Waits, unless `signal` is aborted first (then throws its reason). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
