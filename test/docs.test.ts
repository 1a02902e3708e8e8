/**
 * The numbers and names the docs state, held to the code they describe: changing one fails here until the other
 * follows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_STATEMENT_TIMEOUT_MS, POOL_SIZE } from '../src/db/database.ts';
import { DEFAULT_RETRY_POLICY, MAX_ANSWER_BYTES } from '../src/revox/client.ts';

/** A doc's text with line breaks and runs of spaces folded, so that a sentence can be found across a wrapped line. */
function prose(file: string): string {
  return readFileSync(new URL(`../${file}`, import.meta.url), 'utf8').replace(/\s+/g, ' ');
}

describe('docs/production.md', () => {
  const production = prose('docs/production.md');

  it('names the PostgreSQL version that .ci/run pins', () => {
    const pinned = /^PG_MAJOR=(\d+)$/m.exec(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8'))?.[1];
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
