/**
 * GraphiQL: the page opens with the README's example document and a header editor waiting for a key, and that
 * example runs with the least scope it says it needs. Then in a real browser (Debian's chromium driven by
 * playwright-core): someone opens /graphql, finds the example, runs it and reads the stored calls; with API tokens
 * configured, the query only works once they put a token after "Bearer " in the Headers tab.
 *
 * The browser is kept offline: any request that does not go to the test server is refused and reported, so the
 * page has to work without a CDN.
 *
 * Without /usr/bin/chromium the browser tests are skipped with a message, except in CI (CI=true), where they fail.
 */
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, validate } from 'graphql';
import { chromium, type Browser, type BrowserContext, type Locator } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKeyStore } from '../../src/access/keys.ts';
import { schema } from '../../src/graphql/schema.ts';
import { EXAMPLE_QUERY } from '../../src/graphql/yoga.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';
import { subscribeWs, wsClient } from '../../support/subscriptions.ts';

const CHROMIUM = '/usr/bin/chromium';
const chromiumInstalled = existsSync(CHROMIUM);
const inCI = process.env.CI === 'true';
if (!chromiumInstalled && !inCI) {
  console.warn(`Skipping the GraphiQL browser tests: ${CHROMIUM} is missing (apt-get install chromium to run them).`);
}

const REVOX_ID = 'call_01JD8Q3T9Y7W5V3T1R9P7N5M3K';
const TOKEN = 'graphiql-token';
const KEY_HEADER = '{"Authorization": "Bearer "}';

describe('GraphiQL page', () => {
  it("opens with the README's example document and a Headers tab that waits for a key", async () => {
    const server = await startTestServer();
    try {
      const response = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
      const html = await response.text();
      // The renderer's options, as the page hands them to GraphiQL.
      const call = html.lastIndexOf("querySelector('#root'),");
      const options = JSON.parse(html.slice(html.indexOf('{', call), html.lastIndexOf('}', html.indexOf(');', call)) + 1));
      expect(options).toMatchObject({ defaultQuery: EXAMPLE_QUERY, defaultHeaders: KEY_HEADER, defaultEditorToolsVisibility: 'headers' });
    } finally {
      await server.dispose();
    }

    expect(EXAMPLE_QUERY).toContain('npm run keys -- create --name <name> --scope calls:read');
    expect(EXAMPLE_QUERY).toContain('paste it after "Bearer " in the Headers tab');
    const document = EXAMPLE_QUERY.replace(/^(#.*\n)+/, '');
    expect(readFileSync(new URL('../../README.md', import.meta.url), 'utf8')).toContain(`\`\`\`graphql\n${document}\`\`\``);
  });

  it('runs its first operation and its subscription with a calls:read key; Transcripts needs transcripts:read', async () => {
    expect(validate(schema, parse(EXAMPLE_QUERY))).toEqual([]);
    expect(parse(EXAMPLE_QUERY).definitions.map((operation) => 'name' in operation && operation.name?.value)).toEqual([
      'LatestHumanAnswers',
      'Transcripts',
      'Dashboard',
    ]);
    const server = await startTestServer();
    try {
      const keys = createKeyStore(server.database.prisma);
      const callsKey = (await keys.create({ name: 'dashboard', scopes: ['calls:read'] })).key;
      const transcriptsKey = (await keys.create({ name: 'analyst', scopes: ['transcripts:read'] })).key;

      // Subscribed first, as the README says, then the delivery.
      const client = wsClient(server.url, callsKey);
      const dashboard = await subscribeWs(client, EXAMPLE_QUERY.slice(EXAMPLE_QUERY.indexOf('subscription Dashboard')));
      expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);
      expect(await dashboard.next()).toEqual({
        data: {
          callCompleted: {
            callOrder: expect.objectContaining({ revoxId: REVOX_ID }),
            attempt: expect.objectContaining({ result: 'HUMAN' }),
          },
        },
      });
      await dashboard.close();
      await client.dispose();
      const run = async (operationName: string, key: string) => {
        const response = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query: EXAMPLE_QUERY, operationName }),
        });
        return (await response.json()) as any;
      };

      const latest = await run('LatestHumanAnswers', callsKey);
      expect(latest.errors).toBeUndefined();
      expect(latest.data.callAttempts.nodes).toEqual([
        expect.objectContaining({ callOrder: expect.objectContaining({ revoxId: REVOX_ID }) }),
      ]);

      const refused = await run('Transcripts', callsKey);
      expect(refused.errors[0].message).toContain('transcripts:read');
      const transcripts = await run('Transcripts', transcriptsKey);
      expect(transcripts.errors).toBeUndefined();
      const [highlight] = transcripts.data.callAttempts.nodes[0].transcriptHighlights;
      const { start, end } = highlight.matches[0];
      expect(highlight.snippet.slice(start, end)).toBe('rendez-vous');
      // The answered call's structured output says the appointment was not confirmed; the voicemail before it has none.
      expect(transcripts.data.callStats.byOutput).toEqual([
        { value: false, count: 1 },
        { value: null, count: 1 },
      ]);
      const perDay = transcripts.data.callStats.series.flatMap((bucket: { byOutput: unknown[] }) => bucket.byOutput);
      expect(perDay).toContainEqual({ value: false, count: 1 });
    } finally {
      await server.dispose();
    }
  });
});

describe.skipIf(!chromiumInstalled && !inCI)('GraphiQL in a browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    if (!chromiumInstalled) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (see .ci/run)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  });
  afterAll(() => browser?.close());

  let server: TestServer | undefined;
  let context: BrowserContext | undefined;
  afterEach(async () => {
    await context?.close();
    await server?.dispose();
    context = server = undefined;
  });

  it('shows the example, with the key header prefilled, and running it shows the stored call', async () => {
    server = await startTestServer();
    expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);

    const graphiql = await openGraphiQL(server);
    await graphiql.shows(graphiql.operationEditor, 'query LatestHumanAnswers');
    // The open API takes the header without a key as no key at all.
    await graphiql.shows(graphiql.headersEditor, KEY_HEADER);

    await graphiql.run('LatestHumanAnswers');
    await graphiql.shows(graphiql.resultWindow, REVOX_ID);
    expect(await textOf(graphiql.resultWindow)).toContain('"totalCount": 1');

    await graphiql.page.screenshot({ path: path.join(tmpdir(), 'graphiql.png') });
    expect(graphiql.outsideRequests).toEqual([]);
  });

  it('with API tokens configured, opens without a token, but the query needs one after "Bearer " in the Headers tab', async () => {
    server = await startTestServer({ apiTokens: [TOKEN] });
    expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);

    const graphiql = await openGraphiQL(server);
    await graphiql.shows(graphiql.operationEditor, 'query LatestHumanAnswers');

    // Without a token: 401, and the error says where to put one.
    const refused = graphiql.nextQueryResponse();
    await graphiql.run('LatestHumanAnswers');
    expect((await refused).status()).toBe(401);
    await graphiql.shows(graphiql.resultWindow, 'Missing or invalid API token');
    await graphiql.shows(graphiql.resultWindow, 'in GraphiQL, in the Headers tab');

    await graphiql.pasteKey(TOKEN);
    const answered = graphiql.nextQueryResponse();
    await graphiql.run('LatestHumanAnswers');
    expect((await answered).status()).toBe(200);
    await graphiql.shows(graphiql.resultWindow, REVOX_ID);
    expect(await textOf(graphiql.resultWindow)).not.toContain('Missing or invalid API token');

    await graphiql.page.screenshot({ path: path.join(tmpdir(), 'graphiql-with-token.png') });
    expect(graphiql.outsideRequests).toEqual([]);
  });

  /** Opens /graphql as a browser does, refusing every request that would leave the test server. */
  async function openGraphiQL(server: TestServer) {
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const outsideRequests: string[] = [];
    await context.route(
      (url) => url.protocol.startsWith('http') && url.origin !== new URL(server.url).origin,
      (route) => {
        outsideRequests.push(route.request().url());
        return route.abort('internetdisconnected');
      },
    );
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const graphqlUrl = `${server.url}/graphql`;

    // The first request for the page renders and compresses it (9 MB): slow on a busy machine.
    const response = await page.goto(graphqlUrl, { timeout: 60_000 });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toContain('text/html');
    expect(outsideRequests, 'GraphiQL must load without fetching anything from the internet (a CDN)').toEqual([]);

    const graphiql = {
      page,
      outsideRequests,
      operationEditor: page.getByRole('region', { name: 'Operation Editor' }),
      resultWindow: page.getByRole('region', { name: 'Result Window' }),
      headersEditor: page.locator('.graphiql-editor-tool .graphiql-editor[data-mode-id="json"]:not(.hidden)'),
      shows,

      /** Runs one operation of the document: the run button offers each of them. */
      async run(operationName: string) {
        await page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
        await page.getByRole('menuitem', { name: operationName }).click();
      },

      /** The response to the next POST of the LatestHumanAnswers operation (not GraphiQL's introspection). */
      nextQueryResponse() {
        return page.waitForResponse(
          (response) =>
            response.url() === graphqlUrl &&
            response.request().method() === 'POST' &&
            (response.request().postData() ?? '').includes('LatestHumanAnswers'),
        );
      },

      /** Pastes `key` after "Bearer " in the Headers tab (open from the start), as a person would. */
      async pasteKey(key: string) {
        await graphiql.headersEditor.click();
        // From the end of {"Authorization": "Bearer "}, back over the closing quote and brace.
        await page.keyboard.press('ControlOrMeta+End');
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.press('ArrowLeft');
        await page.keyboard.insertText(key);
        await shows(graphiql.headersEditor, `{"Authorization": "Bearer ${key}"}`);
      },
    };
    return graphiql;
  }
});

/** Waits until `locator` shows `text`; on failure, says what it shows instead. */
async function shows(locator: Locator, text: string): Promise<void> {
  try {
    await locator.filter({ hasText: text }).waitFor();
  } catch (error) {
    const shown = (await locator.count()) > 0 ? await textOf(locator.first()) : '(not on the page)';
    throw new Error(`Expected GraphiQL to show "${text}"; it shows:\n${shown}`, { cause: error });
  }
}

/** The text an element shows, with the editor's non-breaking spaces as plain spaces. */
async function textOf(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: innerText is the text as rendered, what a person reads.
  return (await locator.innerText()).replaceAll('\u00a0', ' ');
}
