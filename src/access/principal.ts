/**
 * Who is calling the API, and what they may do. Every transport (HTTP, SSE, WebSocket) turns its credentials into a
 * Principal here, and nothing is executed for a caller without one.
 *
 * A bearer token is one of: an API key from the database (`cb_...`, with its scopes), one of API_TOKENS (every
 * scope, as before scoped keys existed), or nothing at all while the API is open: no API_TOKENS and no key ever
 * created (the configuration allows that on a loopback address only).
 */
import { looksLikeKey, type KeyStore } from './keys.ts';
import { SCOPES, effectiveScopes, type Scope } from './scopes.ts';
import { bearerToken, tokenIsAccepted } from './tokens.ts';

export interface Principal {
  /** The key's name, `API_TOKENS` or `open`: for audit rows and logs. */
  readonly name: string;
  /** Set for a key from the database, whose revocation closes the caller's open subscriptions. */
  readonly keyId?: string;
  /** Set for the caller without a token while the API is open: its subscriptions are closed once a key exists. */
  readonly open?: true;
  readonly scopes: ReadonlySet<Scope>;
}

export interface Authenticator {
  /** The caller for these credentials (the token of a Bearer header or of connection params), or null. */
  (credentials: string | null): Promise<Principal | null>;
  /** True while no token is needed: no API_TOKENS, and no key created yet. */
  isOpen(): Promise<boolean>;
  /** A key was just created here: the API is closed from now on, without waiting for the next check. */
  keyCreated(): void;
  /** Calls `listener` once this instance learns that the API is closed (at once if it knows already). */
  whenClosed(listener: () => void): void;
}

const EVERY_SCOPE = effectiveScopes(SCOPES);
const OPEN: Principal = Object.freeze({ name: 'open', open: true, scopes: EVERY_SCOPE });
const API_TOKEN: Principal = Object.freeze({ name: 'API_TOKENS', scopes: EVERY_SCOPE });

/** How long "no key exists yet" is believed before the database is asked again. */
const OPEN_CHECK_INTERVAL_MS = 1_000;

export function createAuthenticator({ apiTokens, keys }: { apiTokens: readonly string[]; keys: KeyStore }): Authenticator {
  let closed = apiTokens.length > 0;
  let checkedAt = 0;
  const closedListeners: (() => void)[] = [];
  // Once a key exists the API stays closed, even if every key is revoked later.
  const close = () => {
    if (closed) return;
    closed = true;
    for (const listener of closedListeners.splice(0)) listener();
  };
  const isOpen = async () => {
    if (closed) return false;
    // Another instance, or `npm run keys`, may have created a key in the shared database.
    if (Date.now() - checkedAt > OPEN_CHECK_INTERVAL_MS) {
      const keysExist = await keys.anyExist();
      checkedAt = Date.now();
      if (keysExist) close();
    }
    return !closed;
  };
  const authenticate = async (credentials: string | null): Promise<Principal | null> => {
    if (credentials !== null && looksLikeKey(credentials)) {
      const key = await keys.authenticate(credentials);
      if (key) return { name: key.name, keyId: key.id, scopes: effectiveScopes(key.scopes) };
    }
    if (tokenIsAccepted(credentials, apiTokens)) return API_TOKEN;
    return (await isOpen()) ? OPEN : null;
  };
  const whenClosed = (listener: () => void) => {
    if (closed) listener();
    else closedListeners.push(listener);
  };
  return Object.assign(authenticate, { isOpen, keyCreated: close, whenClosed });
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
  'send Authorization: Bearer <key> (in GraphiQL, in the Headers tab; over WebSocket, as connectionParams {"authorization": "Bearer <key>"}); keys are made with npm run keys -- create';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
