/**
 * Who is calling the API. Every transport (HTTP, SSE, WebSocket) turns its credentials into a Principal here, and
 * nothing is executed for a caller without one.
 */
import { bearerToken, tokenIsAccepted } from './tokens.ts';

export interface Principal {
  /** `open`: no API tokens are configured (loopback only); `api-token`: one of API_TOKENS. */
  readonly kind: 'open' | 'api-token';
}

export interface Authenticator {
  /** The caller for these credentials (the token of a Bearer header or of connection params), or null. */
  (credentials: string | null): Principal | null;
  /** True when no token is needed (no API tokens configured). */
  readonly open: boolean;
}

const OPEN: Principal = Object.freeze({ kind: 'open' });
const API_TOKEN: Principal = Object.freeze({ kind: 'api-token' });

export function createAuthenticator(apiTokens: readonly string[]): Authenticator {
  const open = apiTokens.length === 0;
  const authenticate = (credentials: string | null) => {
    if (open) return OPEN;
    return tokenIsAccepted(credentials, apiTokens) ? API_TOKEN : null;
  };
  return Object.assign(authenticate, { open });
}

/** The bearer token of an HTTP request, if any. */
export function credentialsFromHeaders(headers: Headers): string | null {
  return bearerToken(headers.get('authorization'));
}

/**
 * The bearer token of a graphql-ws `connection_init` payload. Clients put it in different places: graphql-ws's own
 * examples use `authorization`, some libraries `Authorization`, and Apollo's link `{ headers: { Authorization } }`.
 */
export function credentialsFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): string | null {
  if (!params) return null;
  const headers = isRecord(params.headers) ? params.headers : {};
  for (const value of [params.authorization, params.Authorization, headers.authorization, headers.Authorization]) {
    if (typeof value === 'string') return bearerToken(value);
  }
  return null;
}

/** What a client must send, for error messages and the WebSocket close reason. */
export const CREDENTIALS_HINT =
  'send Authorization: Bearer <token> (over WebSocket: connectionParams {"authorization": "Bearer <token>"})';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
