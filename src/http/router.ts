/**
 * The HTTP surface: one handler per exact path, and a JSON 404 for everything else. Paths are compared exactly, so
 * `/graphql/`, `//graphql` or `/x/graphql` reach nothing; GraphQL itself is one route among the others. Every answer
 * carries its standard reason phrase (`HTTP/1.1 200 OK`), and every error that is not GraphQL's the same JSON body.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { createServerAdapter } from '@whatwg-node/server';

export interface NodeServerContext {
  req: IncomingMessage;
}

export type RouteHandler = (request: Request, serverContext: NodeServerContext) => Response | Promise<Response>;

export function createRouter(routes: Readonly<Record<string, RouteHandler>>) {
  return createServerAdapter<NodeServerContext>(
    (request, serverContext) => {
      let pathname: string;
      try {
        pathname = new URL(request.url).pathname;
      } catch {
        return errorResponse(400, 'bad_request', 'the request target is not a valid URL path');
      }
      const route = Object.hasOwn(routes, pathname) ? routes[pathname] : undefined;
      if (!route) return errorResponse(404, 'not_found', `nothing is served at ${pathname.slice(0, 200)}`);
      return route(request, serverContext);
    },
    {
      plugins: [
        {
          onResponse({ response, setResponse }) {
            if (response.statusText === '') setResponse(withReasonPhrase(response));
          },
        },
      ],
    },
  );
}

/**
 * A Response built without a statusText (`Response.json`, `new Response`) has '', which the adapter hands to Node's
 * writeHead as is: `HTTP/1.1 200 ` with no reason phrase. Some clients and proxies log or even check it.
 */
function withReasonPhrase(response: Response): Response {
  const { status, headers, body } = response;
  return new Response(body, { status, statusText: STATUS_CODES[status] ?? '', headers });
}

/**
 * The JSON error body of every answer outside GraphQL: `{"status":"error","error":{"code","message"}}`, its code in
 * snake_case (`not_found`). GraphQL's own errors keep GraphQL's shape and style (`extensions.code: "UNAUTHENTICATED"`).
 */
export function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ status: 'error', error: { code, message } }, { status, headers });
}

/** A route that answers only GET and HEAD. */
export function getOnly(handler: RouteHandler): RouteHandler {
  return (request, serverContext) => {
    if (request.method === 'GET' || request.method === 'HEAD') return handler(request, serverContext);
    return errorResponse(405, 'method_not_allowed', 'use GET', { allow: 'GET, HEAD' });
  };
}
