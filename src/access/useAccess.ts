/**
 * `useAccess`: the one place that decides who may use the GraphQL API, for every request that reaches it.
 *
 * - Browsers: the Host and Origin rules of ./origins.ts, and CORS headers without credentials.
 * - HTTP (POST, GET and SSE alike): `onParams` runs for every GraphQL request before its document is parsed, so the
 *   caller is authenticated there, whatever the URL or method that led to it; a request without a valid token is
 *   answered 401 and nothing is parsed or executed.
 * - Every transport: `onExecute` and `onSubscribe` refuse to run an operation whose context has no principal, or
 *   the tokenless principal of an API that has closed since. The WebSocket server authenticates at `connection_init`
 *   and passes the principal in; anything that would reach execution some other way finds nobody to run for.
 * - SSE streams are watched by the key watch, and ended once their key, or the open API, may no longer be used.
 */
import type { GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { KeyWatch } from './keyWatch.ts';
import type { OriginPolicy, Refusal } from './origins.ts';
import { CREDENTIALS_HINT, credentialsFromHeaders, type Authenticator, type Principal } from './principal.ts';

export interface AccessContext {
  /** Set by `useAccess` (HTTP) or by the WebSocket server (connection_init); absent means unauthenticated. */
  principal?: Principal;
  /** Told by createApiKey once its key is stored: an open API closes at once (Authenticator.keyCreated). */
  readonly keyCreated: () => void;
}

export interface AccessOptions {
  authenticate: Authenticator;
  origins: OriginPolicy;
  /** Ends the SSE streams of a key that is revoked or expires, and those of the open API once a key exists. */
  keyWatch: KeyWatch;
}

const CORS_ALLOWED_HEADERS = 'authorization, content-type, accept, x-request-id';
const CORS_MAX_AGE_SECONDS = '600';

export function useAccess({ authenticate, origins, keyWatch }: AccessOptions): Plugin<AccessContext & { transport?: { name: string } }> {
  /** The tokenless caller runs nothing once the API is closed: a WebSocket opened before is closed, but not yet. */
  const stopIfClosed = async (stop: (result: { errors: GraphQLError[] }) => void) => {
    if (!(await authenticate.isOpen())) stop({ errors: [unauthenticated(false)] });
  };
  return {
    onRequest({ request, endResponse }) {
      const refused = origins.refusal(request.headers.get('host'), request.headers.get('origin'));
      if (refused) {
        endResponse(forbidden(refused));
        return;
      }
      if (request.method === 'OPTIONS') {
        endResponse(new Response(null, { status: 204, headers: { 'content-length': '0', ...preflightHeaders() } }));
      }
    },
    onResponse({ request, response }) {
      const origin = request.headers.get('origin');
      if (origin === null) return;
      response.headers.append('vary', 'Origin');
      // A refused page gets no CORS header: it may not even read why it was refused.
      if (origins.originAllowed(origin, request.headers.get('host'))) {
        response.headers.set('access-control-allow-origin', origins.allowOriginHeader(origin));
      }
    },
    async onParams({ request, context, setResult }) {
      const principal = await authenticate(credentialsFromHeaders(request.headers));
      if (principal) {
        (context as AccessContext).principal = principal;
        return;
      }
      setResult({ errors: [unauthenticated(true)] });
    },
    onExecute({ args, setResultAndStopExecution }) {
      const { principal } = args.contextValue;
      if (!principal) setResultAndStopExecution({ errors: [unauthenticated(false)] });
      else if (principal.open) return stopIfClosed(setResultAndStopExecution);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const { principal, transport } = args.contextValue;
      if (!principal) {
        setResultAndStopExecution({ errors: [unauthenticated(false)] });
        return;
      }
      // A WebSocket is watched as a whole by the WebSocket server; an SSE stream is its own connection.
      const watchStream =
        transport?.name === 'sse'
          ? {
              onSubscribeResult({ result }: { result: unknown }) {
                if (!isAsyncIterator(result)) return;
                const unwatch = keyWatch.watch(principal, () => void result.return?.());
                return { onEnd: unwatch };
              },
            }
          : undefined;
      return principal.open ? stopIfClosed(setResultAndStopExecution).then(() => watchStream) : watchStream;
    },
  };
}

function isAsyncIterator(value: unknown): value is AsyncIterator<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function unauthenticated(overHttp: boolean) {
  return createGraphQLError(`Missing or invalid API token: ${CREDENTIALS_HINT}`, {
    extensions: {
      code: 'UNAUTHENTICATED',
      ...(overHttp ? { http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } } : {}),
    },
  });
}

/** A GraphQL error body, so its code is in GraphQL's style: `ORIGIN_NOT_ALLOWED` where /metrics says `origin_not_allowed`. */
function forbidden({ code, message }: Refusal): Response {
  return Response.json({ errors: [{ message: `Forbidden: ${message}`, extensions: { code: code.toUpperCase() } }] }, { status: 403 });
}

function preflightHeaders(): Record<string, string> {
  return {
    'access-control-allow-methods': 'GET, POST',
    'access-control-allow-headers': CORS_ALLOWED_HEADERS,
    'access-control-max-age': CORS_MAX_AGE_SECONDS,
  };
}
