/**
 * The numbers and names the docs state, held to the code they describe: changing one fails here until the other
 * follows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { API_STATEMENT_TIMEOUT_MS, POOL_SIZE, REQUEST_STATEMENTS_AT_ONCE } from '../../src/db/database.ts';
import { DEFAULT_SUBSCRIBER_LIMITS } from '../../src/events/eventBus.ts';
import { HEADERS_TIMEOUT_MS, MAX_WAITING_PER_ADDRESS, REQUEST_TIMEOUT_MS } from '../../src/http/connectionLimits.ts';
import { MAX_JSON_DEPTH } from '../../src/ingest/json.ts';
import { MAX_ATTEMPTS_PER_DELIVERY } from '../../src/ingest/payload.ts';
import { MAX_CALLS_COUNT } from '../../src/ingest/versionKeys.ts';
import * as limits from '../../src/limits/limits.ts';
import { MAX_OPERATION_NAMES, MAX_OPERATION_NAMES_PER_CALLER } from '../../src/metrics.ts';
import { DEFAULT_RETRY_POLICY, MAX_ANSWER_BYTES } from '../../src/revox/client.ts';
import { FAILED_TOKEN_LIMITS } from '../../src/webhook/rateLimit.ts';

const MIB = 1024 * 1024;
const count = (value: number) => value.toLocaleString('en-US');
const seconds = (ms: number) => `${ms / 1000} s`;

/** A doc's text with line breaks and runs of spaces folded, so that a sentence can be found across a wrapped line. */
function prose(file: string): string {
  return readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').replace(/\s+/g, ' ');
}

describe('docs/production.md', () => {
  const production = prose('docs/production.md');

  it('names the PostgreSQL version that .ci/run pins', () => {
    const pinned = /^PG_MAJOR=(\d+)$/m.exec(readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8'))?.[1];
    expect(pinned).toBeDefined();
    expect(production).toContain(`**PostgreSQL ${pinned} or newer** (CI tests on ${pinned}: \`.ci/run\` pins it)`);
  });

  it('lists every endpoint the server answers', () => {
    for (const endpoint of ['`POST /webhooks/revox`', '`/graphql`', '`GET /health`', '`GET /ready`', '`GET /metrics`', '`/`']) {
      expect(production).toContain(endpoint);
    }
  });

  it('sizes max_connections by the pools one instance opens', () => {
    expect(production).toContain(`Each instance opens up to ${2 * POOL_SIZE} connections, in two pools of ${POOL_SIZE}`);
    expect(production).toContain(`with a ${API_STATEMENT_TIMEOUT_MS / 1000} s \`statement_timeout\``);
    expect(production).toContain(`keep \`max_connections\` above ${2 * POOL_SIZE} × the number of instances`);
  });
});

describe('docs/revox-sync.md', () => {
  const sync = prose('docs/revox-sync.md');

  it("states the Revox client's retry policy and answer cap", () => {
    const { maxRetries, baseDelayMs, maxDelayMs, maxRetryAfterMs } = DEFAULT_RETRY_POLICY;
    expect(sync).toContain(
      `It retries up to ${maxRetries} times, with exponential back-off from ${baseDelayMs / 1000} s to ${maxDelayMs / 1000} s`,
    );
    expect(sync).toContain(`up to ${maxRetryAfterMs / 1000} s`);
    expect(sync).toContain(`reads an answer up to ${MAX_ANSWER_BYTES / 1024 / 1024} MiB`);
  });

  it('says which scope syncStatus needs', () => {
    expect(sync).toContain('It needs a key with the `admin` scope');
  });
});

describe("README's table of limits", () => {
  /** The table's rows, from the first cell (what) to the second (limit). */
  const table = new Map(
    readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| '))
      .map((line) => line.split('|').map((cell) => cell.trim()))
      .map(([, what, limit]) => [what!, limit!]),
  );
  const defaults = loadConfig({});
  const { OPERATION_LIMITS: operation } = limits;

  it.each([
    [
      `operation cost (values the answer can hold; lists at \`first\`/\`last\`, ${limits.DEFAULT_PAGE_SIZE} by default, a transcript at ${limits.ASSUMED_TRANSCRIPT_TURNS} turns, other lists at ${limits.ASSUMED_LIST_SIZE})`,
      count(operation.maxCost),
    ],
    ['page size (`first`/`last`)', count(limits.MAX_PAGE_SIZE)],
    [
      'depth / aliases / tokens / directives',
      [operation.maxDepth, operation.maxAliases, operation.maxTokens, operation.maxDirectives].map(count).join(' / '),
    ],
    ['one answer or one subscription event', `${operation.maxResponseBytes / MIB} MiB`],
    ['GraphQL request body', `${limits.MAX_REQUEST_BODY_BYTES / MIB} MiB`],
    ['webhook body', `\`WEBHOOK_MAX_BODY_BYTES\`, ${defaults.maxBodyBytes / MIB} MiB`],
    ['webhook JSON depth', count(MAX_JSON_DEPTH)],
    ['attempts in one delivery', count(MAX_ATTEMPTS_PER_DELIVERY)],
    ['`calls_count`', count(MAX_CALLS_COUNT)],
    [
      'wrong webhook tokens per client address',
      `${FAILED_TOKEN_LIMITS.maxFailures} in ${seconds(FAILED_TOKEN_LIMITS.windowMs)} (${count(FAILED_TOKEN_LIMITS.maxClients)} addresses tracked; IPv6 by /64)`,
    ],
    [
      'events waiting for one subscriber',
      `${count(DEFAULT_SUBSCRIBER_LIMITS.maxQueuedEvents)}, or the oldest ${seconds(DEFAULT_SUBSCRIBER_LIMITS.maxEventLagMs)} old`,
    ],
    ['unsent bytes on one WebSocket', `${limits.MAX_UNSENT_BYTES_PER_SOCKET / MIB} MiB`],
    [
      'WebSocket connections',
      `\`WS_MAX_CONNECTIONS\` authenticated, as many waiting to authenticate (${seconds(limits.CONNECTION_INIT_TIMEOUT_MS)} to do it)`,
    ],
    ['operations at once on one WebSocket', count(limits.MAX_OPERATIONS_PER_CONNECTION)],
    ['WebSocket message', `${limits.MAX_WEBSOCKET_MESSAGE_BYTES / MIB} MiB`],
    ['one SQL statement of an API read (PostgreSQL)', `${seconds(API_STATEMENT_TIMEOUT_MS)} (\`statement_timeout\`)`],
    [
      'SQL statements at once for one request',
      `${REQUEST_STATEMENTS_AT_ONCE.postgres} (embedded database: ${REQUEST_STATEMENTS_AT_ONCE.embedded})`,
    ],
    [
      '`callStats`, `series`, transcript search / node lookup',
      `${count(limits.AGGREGATE_STATEMENT_COST)} / ${count(limits.NODE_LOOKUP_COST)} of the operation cost`,
    ],
    ['`nodes(ids:)`', `${limits.MAX_NODE_IDS} ids`],
    ['`filter.output` conditions / keys in a structured-output `path`', `${limits.MAX_OUTPUT_CONDITIONS} / ${limits.MAX_OUTPUT_PATH_KEYS}`],
    [
      "a key of such a path / an output condition's `contains`",
      `${limits.MAX_OUTPUT_KEY_LENGTH} / ${limits.MAX_SEARCH_TEXT_LENGTH} characters`,
    ],
    [
      'an `equals` or `in` value (JSON text) / values in one `in`',
      `${limits.MAX_OUTPUT_VALUE_BYTES / 1024} KiB / ${limits.MAX_OUTPUT_IN_VALUES}`,
    ],
    ['`byOutput(first:)`', count(limits.MAX_OUTPUT_VALUE_COUNTS)],
    [
      '`transcriptContains` / phone numbers, `revoxId`, `timeZone`',
      `${limits.MAX_SEARCH_TEXT_LENGTH} / ${limits.MAX_IDENTIFIER_LENGTH} characters`,
    ],
    ['a Revox answer', `${MAX_ANSWER_BYTES / MIB} MiB, \`REVOX_TIMEOUT\` (${seconds(defaults.revoxTimeoutMs)}) for the whole exchange`],
    ['HTTP request headers / whole request', `${seconds(HEADERS_TIMEOUT_MS)} / ${seconds(REQUEST_TIMEOUT_MS)}`],
    ['HTTP connections', `\`HTTP_MAX_CONNECTIONS\` (${count(defaults.maxHttpConnections)})`],
    [
      'connections waiting on one address (IPv6: a /64)',
      `${MAX_WAITING_PER_ADDRESS} HTTP, ${limits.MAX_UNAUTHENTICATED_PER_ADDRESS} WebSockets not yet authenticated`,
    ],
    ['operation names in `/metrics`', `${MAX_OPERATION_NAMES}, at most ${MAX_OPERATION_NAMES_PER_CALLER} per caller`],
  ])('%s: %s', (what, limit) => {
    expect(table.get(what)).toBe(limit);
  });
});
