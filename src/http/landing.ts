/**
 * GET /: a landing page for a person who opens the server in a browser. It says what runs here and where to go next;
 * it shows no data and no secret, so it needs no token.
 */
import { readFileSync } from 'node:fs';
import { getOnly, type RouteHandler } from './router.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export interface LandingPaths {
  graphqlPath: string;
  webhookPath: string;
}

function page({ graphqlPath, webhookPath }: LandingPaths): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Callboard ${version}</title>
<style>body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; } code { background: #f3f3f3; padding: 0 .2em; }</style>
</head>
<body>
<h1>Callboard <small>${version}</small></h1>
<p>Stores Revox "call completed" webhooks and serves them over GraphQL.</p>
<ul>
<li><a href="${graphqlPath}">GraphQL API and GraphiQL</a> (<code>${graphqlPath}</code>)</li>
<li><a href="/health">Liveness</a> (<code>/health</code>) and <a href="/ready">readiness</a> (<code>/ready</code>: the database answers)</li>
<li>Revox webhook: <code>POST ${webhookPath}?token=&lt;WEBHOOK_SECRET&gt;</code>, reached by Revox through a public HTTPS address</li>
</ul>
</body>
</html>
`;
}

export function landingRoute(paths: LandingPaths): RouteHandler {
  const html = page(paths);
  return getOnly(
    () =>
      new Response(html, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          // The page runs nothing and loads nothing but its own inline style.
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
          'x-content-type-options': 'nosniff',
        },
      }),
  );
}
