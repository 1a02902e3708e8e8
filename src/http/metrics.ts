/**
 * GET /metrics: Prometheus text format, for a bearer token with the `admin` scope (an API key or one of API_TOKENS;
 * open like everything else while the API is open, on loopback only, under the same Host and Origin rules as GraphQL,
 * so that DNS rebinding cannot read it). Prometheus sends one with `authorization: { credentials: <key> }` in its
 * scrape config.
 */
import type { OriginPolicy } from '../access/origins.ts';
import { credentialsFromHeaders, type Authenticator } from '../access/principal.ts';
import type { Metrics } from '../metrics.ts';
import { errorResponse, getOnly, type RouteHandler } from './router.ts';

export function metricsRoute(metrics: Metrics, authenticate: Authenticator, origins: OriginPolicy): RouteHandler {
  return getOnly(async (request) => {
    const refused = origins.refusal(request.headers.get('host'), request.headers.get('origin'));
    if (refused) return errorResponse(403, refused.code, refused.message);
    const principal = await authenticate(credentialsFromHeaders(request.headers));
    if (!principal) {
      return errorResponse(401, 'unauthorized', 'send Authorization: Bearer <key with the admin scope>', { 'www-authenticate': 'Bearer' });
    }
    if (!principal.scopes.has('admin')) return errorResponse(403, 'forbidden', 'metrics need a key with the "admin" scope');
    return new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } });
  });
}
