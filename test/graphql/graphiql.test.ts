/**
 * GraphiQL in a real browser (Debian's chromium driven by playwright-core): someone opens /graphql, finds the
 * example LatestCalls query, runs it and reads the stored calls; with API tokens configured, the query only
 * works once they add the Authorization header in the Headers tab.
 *
 * The browser is kept offline: any request that does not go to the test server is refused and reported, so the
 * page has to work without a CDN.
 *
 * Without /usr/bin/chromium the file is skipped with a message, except in CI (CI=true), where it fails.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const chromiumInstalled = existsSync(CHROMIUM);
const inCI = process.env.CI === 'true';
if (!chromiumInstalled && !inCI) {
  console.warn(`Skipping the GraphiQL browser tests: ${CHROMIUM} is missing (apt-get install chromium to run them).`);
}

const REVOX_ID = 'call_01JD8Q3T9Y7W5V3T1R9P7N5M3K';
const TOKEN = 'graphiql-token';

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

  it('shows the example LatestCalls query, and running it shows the stored call', async () => {
    server = await startTestServer();
    expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);

    const graphiql = await openGraphiQL(server);
    await graphiql.shows(graphiql.operationEditor, 'query LatestCalls');

    await graphiql.runButton.click();
    await graphiql.shows(graphiql.resultWindow, REVOX_ID);
    expect(await textOf(graphiql.resultWindow)).toContain('"totalCount": 1');

    await graphiql.page.screenshot({ path: path.join(tmpdir(), 'graphiql.png') });
    expect(graphiql.outsideRequests).toEqual([]);
  });

  it('with API tokens configured, opens without a token, but the query needs the Authorization header', async () => {
    server = await startTestServer({ apiTokens: [TOKEN] });
    expect((await server.deliver(fixture('outbound-attempt-2-human-completed'))).status).toBe(200);

    const graphiql = await openGraphiQL(server);
    await graphiql.shows(graphiql.operationEditor, 'query LatestCalls');

    // Without a token: 401, and the error says what to send.
    const refused = graphiql.nextQueryResponse();
    await graphiql.runButton.click();
    expect((await refused).status()).toBe(401);
    await graphiql.shows(graphiql.resultWindow, 'Missing or invalid API token');

    // The Headers tab, as the example query's comment says.
    await graphiql.setHeaders({ Authorization: `Bearer ${TOKEN}` });
    const answered = graphiql.nextQueryResponse();
    await graphiql.runButton.click();
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

    const response = await page.goto(graphqlUrl);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toContain('text/html');
    expect(outsideRequests, 'GraphiQL must load without fetching anything from the internet (a CDN)').toEqual([]);

    const graphiql = {
      page,
      outsideRequests,
      operationEditor: page.getByRole('region', { name: 'Operation Editor' }),
      resultWindow: page.getByRole('region', { name: 'Result Window' }),
      runButton: page.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }),
      shows,

      /** The response to the next POST of the LatestCalls operation (not GraphiQL's introspection). */
      nextQueryResponse() {
        return page.waitForResponse(
          (response) =>
            response.url() === graphqlUrl &&
            response.request().method() === 'POST' &&
            (response.request().postData() ?? '').includes('LatestCalls'),
        );
      },

      /** Types `headers` as JSON into the Headers tab under the operation editor. */
      async setHeaders(headers: Record<string, string>) {
        await page.locator('.graphiql-editor-tools').getByRole('button', { name: 'Headers' }).click();
        const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor[data-mode-id="json"]:not(.hidden)');
        await headersEditor.click();
        await page.keyboard.press('ControlOrMeta+A');
        // insertText, not type: the editor would auto-close the quotes and braces typed one key at a time.
        await page.keyboard.insertText(JSON.stringify(headers));
        await shows(headersEditor, 'Authorization');
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
