/**
 * Which browsers' pages may call the API, and which Host names it answers to.
 *
 * In open mode (no API tokens) the API trusts whoever can reach it, so only loopback pages may call it and only
 * loopback Host headers are answered: a page on another site cannot read it, and DNS rebinding (a hostile name that
 * resolves to 127.0.0.1) is refused. With tokens, any origin may call it unless CORS_ORIGINS narrows the list, and
 * credentials (cookies) are never allowed: the API uses bearer tokens.
 *
 * A refused page sees only "Failed to fetch" (it may not read the answer), so the server logs each refused origin,
 * at most once a minute, with the setting that would allow it.
 */
import { isLoopbackHost } from '../config.ts';
import { throttledWarning, type Logger } from '../log.ts';

export interface OriginPolicy {
  /** Whether a request from a page at `origin` may reach the API; a page of the API's own origin always may. */
  originAllowed(origin: string, host: string | null): boolean;
  /** The Access-Control-Allow-Origin value for an allowed origin. */
  allowOriginHeader(origin: string): string;
  /** Why a request with these Host and Origin headers may not reach the API (GraphQL or metrics), or null. */
  refusal(host: string | null, origin: string | null): Refusal | null;
}

export interface Refusal {
  /** In the style of HTTP error bodies; a GraphQL answer writes it in GraphQL's (useAccess.ts). */
  code: 'host_not_allowed' | 'origin_not_allowed';
  message: string;
}

export interface OriginPolicyOptions {
  /** No API tokens: loopback only. */
  open: boolean;
  /** From CORS_ORIGINS: exact origins, or `*`; undefined for the default of the mode. */
  corsOrigins: readonly string[] | undefined;
  logger: Logger;
}

const REFUSED_ORIGIN_LOG_INTERVAL_MS = 60_000;
/** Origins come from the request: the log remembers this many at once (see throttledWarning). */
const MAX_REFUSED_ORIGINS_LOGGED = 100;

export function createOriginPolicy({ open, corsOrigins, logger }: OriginPolicyOptions): OriginPolicy {
  const anyOrigin = corsOrigins ? corsOrigins.includes('*') : !open;
  const listed = new Set(corsOrigins ?? []);
  const hostAllowed = (host: string | null) => !open || (host !== null && isLoopbackHost(hostname(host)));
  const originAllowed = (origin: string, host: string | null) => {
    const parsed = parseOrigin(origin);
    if (!parsed) return false;
    if (host !== null && parsed.host === host.toLowerCase()) return true;
    if (anyOrigin || listed.has(parsed.origin)) return true;
    return corsOrigins === undefined && open && isLoopbackHost(parsed.hostname.replace(/^\[|\]$/g, ''));
  };
  const warnRefused = throttledWarning(logger, 'http.origin_refused', REFUSED_ORIGIN_LOG_INTERVAL_MS, MAX_REFUSED_ORIGINS_LOGGED);
  /** Why a page of `origin` is refused, and what would allow it. */
  const logRefused = (origin: string) => {
    const parsed = parseOrigin(origin);
    if (!parsed) {
      const shown = origin.slice(0, 100);
      warnRefused(shown, {
        reason: 'not the origin of an http or https page',
        origin: shown,
        allow: 'nothing: serve the page over http(s)',
      });
      return;
    }
    warnRefused(parsed.origin, {
      reason: corsOrigins ? 'not in CORS_ORIGINS' : 'without API_TOKENS or an API key, only loopback pages may call the API',
      origin: parsed.origin,
      allow: `CORS_ORIGINS=${[...(corsOrigins ?? []), parsed.origin].join(',')}`,
    });
  };
  return {
    originAllowed,
    allowOriginHeader: (origin) => (anyOrigin ? '*' : origin),
    refusal(host, origin) {
      if (!hostAllowed(host)) {
        return {
          code: 'host_not_allowed',
          message: 'without API_TOKENS the API answers only to loopback Host names (localhost, 127.0.0.1, [::1])',
        };
      }
      if (origin !== null && !originAllowed(origin, host)) {
        logRefused(origin);
        return { code: 'origin_not_allowed', message: `pages from ${origin.slice(0, 100)} may not call this API (see CORS_ORIGINS)` };
      }
      return null;
    },
  };
}

/** `example.com:4000` -> `example.com`, `[::1]:4000` -> `::1`. */
function hostname(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

function parseOrigin(origin: string): URL | null {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}
