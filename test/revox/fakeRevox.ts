/**
 * A local stand-in for Revox's REST API (docs/revox-sync.md, /work/shared/revox-api.md §5), on a loopback port:
 * `GET /call/{id}` and `search` (POST with a JSON body, or GET with a query string), bearer auth, 0-based pages,
 * `total_count`, newest first. Tests can make it answer 429 with Retry-After, 5xx, slowly, with a redirect, or with
 * a body that never ends.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRevoxClient, type RetryPolicy } from '../../src/revox/client.ts';
import { orderDelivery, type AttemptSpec } from '../../support/deliveries.ts';

const SEARCH_ARRAYS = [
  'assignee_ids',
  'assistant_ids',
  'campaign_ids',
  'directions',
  'from_phone_numbers',
  'outcomes',
  'results',
  'statuses',
];
const SEARCH_REQUIRED = [...SEARCH_ARRAYS, 'page', 'page_size'];

export const FAKE_API_KEY = 'sk_test_fake_revox_key_0123456789';

export interface RecordedRequest {
  method: string;
  path: string;
  /** The search page asked for. */
  page?: number;
  at: number;
  /** Bytes of a never-ending body sent so far. */
  bytesSent: number;
  /** Whether the connection has closed. */
  closed: boolean;
}

export interface Fault {
  /** Answer this status instead (with `retryAfter` seconds when given); unset: answer normally, after `delayMs`. */
  status?: number;
  retryAfter?: string;
  delayMs?: number;
  /** Answer 307 to this URL. */
  redirectTo?: string;
  /**
   * Answer 200 with a broken body: `endless` never ends (sent without pause), `stall` sends a part and then nothing,
   * `truncated` ends after that part.
   */
  body?: BrokenBody;
  /** Which requests it applies to; default every one. */
  only?: 'search' | 'retrieve';
  /** Search only: the page it applies to. */
  page?: number;
}

export type BrokenBody = 'endless' | 'stall' | 'truncated';

export interface FakeRevox {
  /** The base URL, as REVOX_BASE_URL. */
  baseUrl: string;
  /** Calls by id. */
  calls: Map<string, any>;
  put(...calls: any[]): void;
  requests: RecordedRequest[];
  /** The next matching requests meet these faults, one each, in order. */
  faults: Fault[];
  /** Every matching request meets this fault until it is cleared. */
  lasting: Fault | null;
  close(): Promise<void>;
}

export async function startFakeRevox(apiKey = FAKE_API_KEY): Promise<FakeRevox> {
  const calls = new Map<string, any>();
  const requests: RecordedRequest[] = [];
  const fake: Omit<FakeRevox, 'baseUrl' | 'close'> = {
    calls,
    put: (...added) => {
      for (const call of added) calls.set(call.id, call);
    },
    requests,
    faults: [],
    lasting: null,
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) answer(response, 500, { error: String(error) });
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://fake');
    const text = await new Promise<string>((resolve) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => resolve(body));
    });
    const path = url.pathname.replace(/^\/api/, '');
    const isSearch = path === '/call/search';
    const body = isSearch && request.method === 'POST' ? JSON.parse(text) : Object.fromEntries(url.searchParams);
    const page = isSearch ? Number(body.page ?? 0) : undefined;
    const recorded: RecordedRequest = {
      method: request.method ?? '',
      path,
      ...(page === undefined ? {} : { page }),
      at: Date.now(),
      bytesSent: 0,
      closed: false,
    };
    requests.push(recorded);
    response.once('close', () => (recorded.closed = true));

    if (request.headers.authorization !== `Bearer ${apiKey}`) return answer(response, 401, { error: 'Invalid API key' });
    const applies = (fault: Fault) =>
      (!fault.only || fault.only === (isSearch ? 'search' : 'retrieve')) && (fault.page === undefined || fault.page === page);
    const index = fake.faults.findIndex(applies);
    const fault = index >= 0 ? fake.faults.splice(index, 1)[0] : fake.lasting && applies(fake.lasting) ? fake.lasting : undefined;
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.redirectTo) {
      response.writeHead(307, { location: fault.redirectTo });
      return response.end();
    }
    if (fault?.body) return brokenBody(response, recorded, fault.body);
    if (fault?.status) {
      if (fault.retryAfter) response.setHeader('retry-after', fault.retryAfter);
      return answer(response, fault.status, { error: `fault ${fault.status}` });
    }

    if (isSearch && request.method === 'POST') {
      // The fields Revox's SDK marks required (§2.2); an empty array means no filter.
      const missing = SEARCH_REQUIRED.find((field) => body[field] === undefined);
      if (missing) return answer(response, 422, { error: `${missing} is required` });
      const filtered = SEARCH_ARRAYS.find((field) => !Array.isArray(body[field]) || body[field].length > 0);
      if (filtered) return answer(response, 422, { error: `the fake implements no filter, got ${filtered}` });
    }
    if (isSearch && (request.method === 'POST' || request.method === 'GET')) {
      const size = Number(body.page_size ?? 10);
      const sorted = [...calls.values()].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
      return answer(response, 200, { calls: sorted.slice(page! * size, (page! + 1) * size), total_count: sorted.length });
    }
    const match = /^\/call\/([^/]+)$/.exec(path);
    if (match && request.method === 'GET') {
      const call = calls.get(decodeURIComponent(match[1]!));
      return call ? answer(response, 200, { call }) : answer(response, 404, { error: 'Call not found' });
    }
    return answer(response, 404, { error: 'Not found' });
  }

  // The tests' database shares this event loop and can keep it busy for seconds while a page is stored; with Node's
  // 5 s default the fake would close a kept-alive connection just as the client reuses it.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${port}/api`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function answer(response: ServerResponse, status: number, body: unknown) {
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** The start of a call, phone number included. */
export const BROKEN_BODY_START = '{"call": {"id": "call_broken", "to_phone_number": "+33612345678", "note": "';

/** A 200 whose body starts like a call and then stops, stalls, or never ends. */
async function brokenBody(response: ServerResponse, recorded: RecordedRequest, kind: BrokenBody) {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.write(BROKEN_BODY_START);
  if (kind === 'truncated') return response.end();
  if (kind === 'stall') return;
  const chunk = Buffer.alloc(64 * 1024, 'a');
  while (!response.destroyed) {
    recorded.bytesSent += chunk.length;
    if (response.write(chunk)) continue;
    await new Promise<void>((resolve) => {
      const go = () => {
        response.off('drain', go);
        response.off('close', go);
        resolve();
      };
      response.on('drain', go);
      response.on('close', go);
    });
  }
}

/**
 * A real client pointed at the fake, with the default paths. Generous timeout: the whole suite shares two cores, and
 * the test's own database can keep the fake waiting.
 */
export function clientFor(fake: Pick<FakeRevox, 'baseUrl'>, retry: Partial<RetryPolicy>, apiKey = FAKE_API_KEY) {
  return createRevoxClient({
    apiKey,
    baseUrl: fake.baseUrl,
    retrievePath: '/call/{id}',
    searchPath: '/call/search',
    searchMethod: 'POST',
    timeoutMs: 30_000,
    retry,
  });
}

export interface RestCallOptions {
  createdAt?: Date;
  phoneNumber?: string;
  /** Replaces the default assistant. */
  assistant?: unknown;
}

/**
 * A call as the REST API returns it: the webhook's `call` (support/deliveries.ts) for attempts 0..upTo, plus
 * what only REST carries (assistant, contact, campaign, assignee, first_sentence_delay_ms; attempts' handled_by_*,
 * assistants_used).
 */
export function restCall(orderId: string, attempts: AttemptSpec[], upTo: number, options: RestCallOptions = {}) {
  const { call } = orderDelivery(orderId, attempts, upTo, options.phoneNumber) as { call: any };
  const withRestFields = (attempt: any) => ({
    ...attempt,
    handled_by_ai: true,
    handled_by_human: false,
    handled_by_user: null,
    assistants_used: ['node_greeting', 'node_qualify'],
    email_log: [],
  });
  const callAttempts = call.call_attempts.map(withRestFields);
  return {
    ...call,
    ...(options.createdAt ? { created_at: options.createdAt.toISOString() } : {}),
    call_attempts: callAttempts,
    last_call_attempt: callAttempts[0] ?? null,
    assistant: options.assistant ?? { id: 'asst_1', name: 'Qualifier', prompt: 'Be brief.', voice: 'alloy' },
    contact: { first_name: 'Ada' },
    campaign: { id: 'camp_1', name: 'Autumn' },
    assignee: null,
    first_sentence_delay_ms: 400,
  };
}
