/**
 * Scenarios 1-3, fts and output: webhook ingest, reading a page, filtered search, full-text search, structured-output
 * breakdown; Callboard against its baselines.
 */
import { orderDelivery } from '../../support/deliveries.ts';
import { compareSides, expectOk, type Side, type SideResult, type Timing } from '../lib/load.ts';
import type { ServerProcess } from '../lib/proc.ts';
import { FTS_QUERY, SEARCH_WORD } from '../lib/data.ts';
import {
  CALLBOARD_FTS,
  CALLBOARD_OUTPUT,
  CALLBOARD_PAGE,
  CALLBOARD_SEARCH,
  OUTPUT_CONDITION,
  OUTPUT_GROUP_BY,
  POSTGRAPHILE_PAGE,
  POSTGRAPHILE_SEARCH,
} from '../lib/documents.ts';

export const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/** A 50-turn delivery with placeholders; each request gets fresh order and attempt ids. */
function deliveryTemplate(turns: number) {
  return JSON.stringify(orderDelivery('__ORDER__', [{ id: '__ORDER___a0', result: 'human', turns }], 0));
}

export async function ingestScenario(
  callboard: ServerProcess,
  baseline: ServerProcess,
  timing: Timing,
  runId: string,
): Promise<SideResult[]> {
  const template = deliveryTemplate(50);
  const deliveries = (prefix: string) => {
    let sequence = 0;
    return () => template.replaceAll('__ORDER__', `${prefix}_${sequence++}`);
  };
  const side = (name: string, server: ServerProcess, path: string): Side => ({
    name,
    server,
    load: (round) => {
      const next = deliveries(`ingest_${runId}_${name.replace(/\W+/g, '')}_${round}`);
      return {
        url: server.url,
        requests: [
          {
            method: 'POST',
            path,
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({ ...request, body: next() }),
          },
        ],
      };
    },
    check: () =>
      expectOk(
        `${server.url}${path}`,
        { method: 'POST', headers: JSON_HEADERS, body: deliveries(`ingest_${runId}_check_${name.replace(/\W+/g, '')}`)() },
        (body) => (body.status === 'accepted' && body.duplicate === false ? undefined : 'not accepted'),
      ),
  });
  return compareSides(
    'ingest',
    [
      side('Callboard', callboard, `/webhooks/revox?token=${WEBHOOK_SECRET}`),
      side('baseline: plain pg, one transaction', baseline, '/webhooks/revox'),
    ],
    timing,
    32,
  );
}

function graphqlSide(
  name: string,
  server: ServerProcess,
  query: string,
  nodes: (body: any) => unknown[] | undefined,
  expected: number,
): Side {
  const body = JSON.stringify({ query });
  return {
    name,
    server,
    load: () => ({ url: `${server.url}/graphql`, method: 'POST', headers: JSON_HEADERS, body }),
    check: () =>
      expectOk(`${server.url}/graphql`, { method: 'POST', headers: JSON_HEADERS, body }, (answer) => {
        if (answer.errors) return `errors ${JSON.stringify(answer.errors).slice(0, 300)}`;
        const list = nodes(answer);
        return list?.length === expected ? undefined : `expected ${expected} nodes, got ${list?.length}`;
      }),
  };
}

function sqlSide(server: ServerProcess, path: string, nodes: (body: any) => unknown[] | undefined, expected: number): Side {
  return {
    name: 'baseline: one SQL statement',
    server,
    load: () => ({ url: `${server.url}${path}` }),
    check: () =>
      expectOk(`${server.url}${path}`, {}, (answer) =>
        nodes(answer)?.length === expected ? undefined : `expected ${expected} nodes, got ${nodes(answer)?.length}`,
      ),
  };
}

export async function pageScenario(
  callboard: ServerProcess,
  postgraphile: ServerProcess | undefined,
  baseline: ServerProcess,
  timing: Timing,
  orders: number,
) {
  const expected = Math.min(50, orders);
  const sides = [
    graphqlSide('Callboard', callboard, CALLBOARD_PAGE, (b) => b.data?.callOrders?.nodes, expected),
    ...(postgraphile
      ? [graphqlSide('PostGraphile v5', postgraphile, POSTGRAPHILE_PAGE, (b) => b.data?.allCallOrders?.nodes, expected)]
      : []),
    sqlSide(baseline, '/page?first=50', (b) => b.data?.callOrders?.nodes, expected),
  ];
  return compareSides('page', sides, timing, 10);
}

export async function searchScenario(
  callboard: ServerProcess,
  postgraphile: ServerProcess | undefined,
  baseline: ServerProcess,
  timing: Timing,
  expected: number,
) {
  const sides = [
    graphqlSide('Callboard', callboard, CALLBOARD_SEARCH, (b) => b.data?.callAttempts?.nodes, expected),
    ...(postgraphile
      ? [graphqlSide('PostGraphile v5', postgraphile, POSTGRAPHILE_SEARCH, (b) => b.data?.allCallAttempts?.nodes, expected)]
      : []),
    sqlSide(baseline, `/search?q=${SEARCH_WORD}&result=human&first=20`, (b) => b.data?.callAttempts?.nodes, expected),
  ];
  return compareSides('search', sides, timing, 10);
}

/** Full-text search by relevance with highlights, against the same in one hand-written statement. */
export async function ftsScenario(callboard: ServerProcess, baseline: ServerProcess, timing: Timing, expected: number) {
  const sides = [
    graphqlSide('Callboard', callboard, CALLBOARD_FTS, (b) => b.data?.callAttempts?.nodes, expected),
    sqlSide(baseline, `/fts?q=${encodeURIComponent(FTS_QUERY)}&first=20`, (b) => b.data?.callAttempts?.nodes, expected),
  ];
  return compareSides('fts', sides, timing, 10);
}

/** A structured-output condition and a breakdown by another key, against the same in one hand-written statement. */
export async function outputScenario(callboard: ServerProcess, baseline: ServerProcess, timing: Timing, expected: number) {
  const query = new URLSearchParams({
    path: JSON.stringify(OUTPUT_CONDITION.path),
    equals: JSON.stringify(OUTPUT_CONDITION.equals),
    groupBy: JSON.stringify(OUTPUT_GROUP_BY),
  });
  const sides = [
    graphqlSide('Callboard', callboard, CALLBOARD_OUTPUT, (b) => b.data?.callStats?.byOutput, expected),
    sqlSide(baseline, `/output?${query}`, (b) => b.data?.callStats?.byOutput, expected),
  ];
  return compareSides('output', sides, timing, 10);
}
