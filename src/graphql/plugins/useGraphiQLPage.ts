/**
 * `useGraphiQLPage`: GraphiQL for browsers at the GraphQL endpoint. The page inlines its scripts, styles and editor
 * workers (about 9 MB), so nothing comes from a CDN and it works offline; it is rendered and compressed once. It holds
 * no data: the queries it sends need a token like any other, typed into its Headers tab (which GraphiQL does not store
 * in the browser unless its settings say so). It may not be framed by another page (clickjacking).
 * The renderer is imported on the first request for the page, not at start: its inlined bundle is ~30 MiB of heap
 * that a server nobody browses would carry for nothing.
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';

/** What the page opens with: the query, the headers (JSON text) and which editor tool is open under the query. */
export type GraphiQLPageOptions = Required<
  Pick<GraphiQLOptions, 'title' | 'defaultQuery' | 'defaultHeaders' | 'defaultEditorToolsVisibility'>
>;

const SECURITY_HEADERS = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export function useGraphiQLPage(options: GraphiQLPageOptions): Plugin {
  let page: Promise<{ html: Buffer; gzip: Buffer; br: Buffer }> | undefined;
  const render = async () => {
    const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
    const html = Buffer.from(renderGraphiQL(options));
    return {
      html,
      gzip: gzipSync(html, { level: 9 }),
      br: brotliCompressSync(html, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: html.length } }),
    };
  };

  return {
    async onRequest({ request, endResponse }) {
      if (request.method !== 'GET' || !request.headers.get('accept')?.includes('text/html')) return;
      page ??= render().catch((error: unknown) => {
        page = undefined;
        throw error;
      });
      const { html, gzip, br } = await page;
      const accepted = request.headers.get('accept-encoding') ?? '';
      const [body, encoding] = /\bbr\b/.test(accepted) ? [br, 'br'] : /\bgzip\b/.test(accepted) ? [gzip, 'gzip'] : [html, undefined];
      endResponse(
        new Response(new Uint8Array(body), {
          headers: {
            'content-type': 'text/html; charset=utf-8',
            vary: 'accept-encoding',
            ...(encoding ? { 'content-encoding': encoding } : {}),
            ...SECURITY_HEADERS,
          },
        }),
      );
    },
  };
}
