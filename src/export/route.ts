/**
 * GET /export/call-attempts.csv and /export/call-attempts.ndjson: every attempt a filter selects, streamed.
 *
 * Access is the API's: the Host and Origin rules, then a bearer token (an API key or one of API_TOKENS; none while
 * the API is open), then `calls:read`; the content columns come with `transcripts:read`, and a filter on content
 * (transcriptContains) needs it. Everything about the request is checked before the answer starts, so that a
 * mistake is a JSON error naming it; the first batch is read before it too, so that a database failure at the start
 * is an error as well. After that, a failure cuts the connection rather than end the body: a cut export can never
 * pass for a complete one. So does the revocation or expiry of the key while the export streams (the key watch, as
 * for SSE streams).
 *
 * The body is a stream read one chunk (one batch) at a time, the next batch read while the last is written out and no
 * further ahead (the server adapter waits for 'drain'), so a slow client holds the reading.
 * Each batch runs as the request's database work: on the API read pool, and cancelled when the client goes.
 */
import type { KeyWatch } from '../access/keyWatch.ts';
import type { OriginPolicy } from '../access/origins.ts';
import { credentialsFromHeaders, type Authenticator } from '../access/principal.ts';
import type { PrismaClient } from '../db/generated/prisma/client.ts';
import { RequestWork, withRequestWork } from '../db/requestWork.ts';
import { requestIdOf } from '../http/requestId.ts';
import { errorResponse, getOnly, type NodeServerContext, type RouteHandler } from '../http/router.ts';
import { describeError, type Logger } from '../log.ts';
import { ReadRequestError } from '../read/readRequestError.ts';
import { type ExportProgress, exportChunks } from './exportAttempts.ts';
import { type ExportQuery, ExportQueryError, parseExportQuery } from './exportQuery.ts';
import { EXPORT_FORMATS, type ExportFormat, FORMATS } from './formats.ts';

const EXPORT_PATHS: Record<ExportFormat, string> = {
  csv: '/export/call-attempts.csv',
  ndjson: '/export/call-attempts.ndjson',
};

const PARAMETERS = ['filter', 'orderBy'] as const;

export interface ExportRouteOptions {
  prisma: PrismaClient;
  authenticate: Authenticator;
  origins: OriginPolicy;
  /** Cuts the exports of a key that is revoked or expires while they stream, as it ends SSE streams. */
  keyWatch: KeyWatch;
  logger: Logger;
}

/** The two export routes, by path. */
export function exportRoutes(options: ExportRouteOptions): Record<string, RouteHandler> {
  return Object.fromEntries(
    EXPORT_FORMATS.map((format) => [EXPORT_PATHS[format], getOnly((request, context) => handleExport(format, request, context, options))]),
  );
}

async function handleExport(
  format: ExportFormat,
  request: Request,
  { req }: NodeServerContext,
  { prisma, authenticate, origins, keyWatch, logger }: ExportRouteOptions,
): Promise<Response> {
  const refused = origins.refusal(request.headers.get('host'), request.headers.get('origin'));
  if (refused) return errorResponse(403, refused.code, refused.message);
  const principal = await authenticate(credentialsFromHeaders(request.headers));
  if (!principal) {
    return errorResponse(401, 'unauthorized', 'send Authorization: Bearer <key with the calls:read scope>', {
      'www-authenticate': 'Bearer',
    });
  }
  if (!principal.scopes.has('calls:read')) return errorResponse(403, 'forbidden', 'the export needs a key with the "calls:read" scope');
  const parameters = exportParameters(new URL(request.url).searchParams);
  if (typeof parameters === 'string') return errorResponse(400, 'bad_request', parameters);
  let query: ExportQuery;
  try {
    query = parseExportQuery(parameters);
  } catch (error) {
    // ReadRequestError: a bound of the filter's conditions (structured output), named as GraphQL names it.
    if (error instanceof ExportQueryError || error instanceof ReadRequestError) return errorResponse(400, 'bad_request', error.message);
    throw error;
  }
  if (query.contentCondition && !principal.scopes.has('transcripts:read')) {
    return errorResponse(403, 'forbidden', `${query.contentCondition} needs a key with the "transcripts:read" scope`);
  }
  const headers = {
    'content-type': FORMATS[format].contentType,
    'content-disposition': `attachment; filename="${EXPORT_PATHS[format].split('/').at(-1)}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  };
  if (request.method === 'HEAD') return new Response(null, { headers });

  const requestId = requestIdOf(request);
  const progress: ExportProgress = { rows: 0, bytes: 0, batches: 0 };
  const work = new RequestWork(request.signal);
  const chunks = exportChunks(
    prisma,
    { query, format, withContent: principal.scopes.has('transcripts:read'), run: (statement) => withRequestWork(work, statement) },
    progress,
  );
  const started = performance.now();
  let logged = false;
  let unwatch = () => {};
  const finished = (outcome: 'complete' | 'client_gone' | 'key_ended' | 'failed', error?: unknown) => {
    if (logged) return;
    logged = true;
    unwatch();
    const fields = { requestId, format, key: principal.name, ...progress, durationMs: Math.round(performance.now() - started), outcome };
    if (outcome === 'failed') logger.error('export.finished', { ...fields, error: describeError(error) });
    else logger.info('export.finished', fields);
  };
  const stopReading = () => void chunks.return(undefined).catch(() => {});
  /** Headers are out: ending the body would make a cut export look complete, so the connection is cut. */
  const cut = () => {
    req.socket.destroy();
    stopReading();
  };
  /** Stops reading once the client is gone, even while its socket is not draining (no chunk asked for). */
  const clientGone = () => {
    finished('client_gone');
    stopReading();
  };

  let first: IteratorResult<Buffer>;
  try {
    first = await chunks.next();
  } catch (error) {
    // A read the filter cannot answer as asked (a search with no word, RELEVANCE without a search), as GraphQL says.
    if (error instanceof ReadRequestError) return errorResponse(400, 'bad_request', error.message);
    finished(request.signal.aborted ? 'client_gone' : 'failed', error);
    return errorResponse(500, 'internal_error', 'the export could not be read; see the server log');
  }
  request.signal.addEventListener('abort', clientGone, { once: true });
  unwatch = keyWatch.watch(principal, () => {
    finished('key_ended');
    cut();
  });
  let pending: IteratorResult<Buffer> | null = first;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = pending ?? (await chunks.next());
          pending = null;
          if (next.done) {
            request.signal.removeEventListener('abort', clientGone);
            finished('complete');
            controller.close();
          } else {
            controller.enqueue(next.value);
          }
        } catch (error) {
          if (request.signal.aborted) return finished('client_gone');
          finished('failed', error);
          cut();
          controller.close();
        }
      },
      cancel: clientGone,
    },
    // Nothing is read ahead of what the client has taken.
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { ...headers, 'x-request-id': requestId } });
}

/** The query string's `filter` and `orderBy`, or what is wrong with it: an unknown or repeated parameter. */
function exportParameters(search: URLSearchParams): { filter?: string; orderBy?: string } | string {
  const names = [...search.keys()];
  const unknown = names.find((name) => !(PARAMETERS as readonly string[]).includes(name));
  if (unknown !== undefined) return `unknown query parameter "${unknown.slice(0, 100)}": use ${PARAMETERS.join(' and ')}`;
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) return `${repeated} is given more than once`;
  const value = (name: (typeof PARAMETERS)[number]) => search.get(name) ?? undefined;
  return { filter: value('filter'), orderBy: value('orderBy') };
}
