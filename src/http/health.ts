/** GET /health (the process answers) and GET /ready (the database answers too): for load balancers and probes. */
import { errorResponse, getOnly, type RouteHandler } from './router.ts';

export const healthRoute: RouteHandler = getOnly(() => Response.json({ status: 'ok' }));

export function readinessRoute(databaseIsUp: () => Promise<boolean>): RouteHandler {
  return getOnly(async () =>
    (await databaseIsUp())
      ? Response.json({ status: 'ready' })
      : errorResponse(503, 'database_unavailable', 'the database does not answer', { 'retry-after': '5' }),
  );
}
