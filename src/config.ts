import { isIP } from 'node:net';
import path from 'node:path';

/** Everything the server is configured with, read and validated once at start. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Unset: generated once and kept in `dataDir` (see webhook/webhookSecret.ts). */
  webhookSecret: string | undefined;
  /** Tokens with every scope. With none, and no API key created, the API is open: only allowed on a loopback host. */
  apiTokens: string[];
  /** Largest webhook body accepted, in bytes. */
  maxBodyBytes: number;
  /** Authenticated WebSocket connections allowed at once; more are closed with 1013 (try again later). */
  maxWebSocketConnections: number;
  /** Open Server-Sent Events streams allowed at once; more are answered 503. */
  maxSseConnections: number;
  /** HTTP connections held at once, WebSockets and SSE streams included; more are closed as they come. */
  maxHttpConnections: number;
  /** Origins whose pages may call the API (`*` for any); undefined: loopback pages in open mode, any with tokens. */
  corsOrigins: string[] | undefined;
  /** Days after which transcripts, recording URLs and structured output are deleted; undefined: kept forever. */
  retentionDays: number | undefined;
  /** Days after which archived delivery bodies are deleted; undefined: `retentionDays`. */
  archiveRetentionDays: number | undefined;
  /** Revox's REST API key: unset, `npm run sync` refuses to run and there is no reconciliation. Never logged. */
  revoxApiKey: string | undefined;
  /** Where Revox's REST API is, without a trailing slash. */
  revoxBaseUrl: string;
  /** Path of `retrieve`, with `{id}` where the call's id goes. */
  revoxRetrievePath: string;
  /** Path of `search` (not confirmed by Revox's documentation, hence configurable). */
  revoxSearchPath: string;
  revoxSearchMethod: 'POST' | 'GET';
  /** Number of the first search page: 0 or 1 (Revox's documentation says both). */
  revoxSearchFirstPage: 0 | 1;
  revoxSearchPageSize: number;
  /** How long one request to Revox may take before it is abandoned (and retried). */
  revoxTimeoutMs: number;
  /** How often the server re-reads stuck orders from Revox; 0: never. */
  revoxReconcileIntervalMs: number;
  /** An order not completed and not heard of for this long is re-read. */
  revoxReconcileStaleAfterMs: number;
  /** The reconciliation reads at most this many calls a minute. */
  revoxReconcileMaxPerMinute: number;
  /** The PostgreSQL text search configuration of full-text search (`simple`: no stemming). */
  transcriptSearchLanguage: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const MIB = 1024 * 1024;

/** Revox's documented base URL (docs/revox-sync.md). */
export const REVOX_DEFAULT_BASE_URL = 'https://www.getrevox.com/api';

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Reads the configuration from environment variables; throws a ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const host = nonEmpty(env, 'HOST') ?? '127.0.0.1';
  if (isIP(host) === 0 && host !== 'localhost') {
    throw new ConfigError(`HOST must be an IP address or "localhost", got "${host}"`);
  }
  const apiTokens = (env.API_TOKENS ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
  const webhookSecret = nonEmpty(env, 'WEBHOOK_SECRET');
  return {
    port: integer(env, 'PORT', 4000, 0, 65535),
    host,
    dataDir: path.resolve(nonEmpty(env, 'DATA_DIR') ?? './data'),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    webhookSecret,
    apiTokens,
    maxBodyBytes: integer(env, 'WEBHOOK_MAX_BODY_BYTES', 5 * MIB, 1024, 100 * MIB),
    maxWebSocketConnections: integer(env, 'WS_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    maxSseConnections: integer(env, 'SSE_MAX_CONNECTIONS', 1_000, 1, 1_000_000),
    maxHttpConnections: integer(env, 'HTTP_MAX_CONNECTIONS', 15_000, 16, 1_000_000),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    retentionDays: optionalInteger(env, 'RETENTION_DAYS', 1, 36_500),
    archiveRetentionDays: optionalInteger(env, 'ARCHIVE_RETENTION_DAYS', 1, 36_500),
    revoxApiKey: revoxApiKey(env),
    revoxBaseUrl: (url(env, 'REVOX_BASE_URL', ['https:', 'http:']) ?? REVOX_DEFAULT_BASE_URL).replace(/\/+$/, ''),
    revoxRetrievePath: urlPath(env, 'REVOX_RETRIEVE_PATH', '/call/{id}', true),
    revoxSearchPath: urlPath(env, 'REVOX_SEARCH_PATH', '/call/search', false),
    revoxSearchMethod: oneOf(env, 'REVOX_SEARCH_METHOD', ['POST', 'GET'] as const, 'POST'),
    revoxSearchFirstPage: oneOf(env, 'REVOX_SEARCH_FIRST_PAGE', ['0', '1'] as const, '0') === '1' ? 1 : 0,
    revoxSearchPageSize: integer(env, 'REVOX_SEARCH_PAGE_SIZE', 100, 1, 1_000),
    revoxTimeoutMs: duration(env, 'REVOX_TIMEOUT', '60s', { minMs: 1_000, zero: 'refused' }),
    revoxReconcileIntervalMs: duration(env, 'REVOX_RECONCILE_INTERVAL', '10m', { minMs: 1_000, zero: 'off' }),
    revoxReconcileStaleAfterMs: duration(env, 'REVOX_RECONCILE_STALE_AFTER', '30m', { minMs: 0, zero: 'allowed' }),
    revoxReconcileMaxPerMinute: integer(env, 'REVOX_RECONCILE_MAX_PER_MINUTE', 60, 1, 6_000),
    transcriptSearchLanguage: searchLanguage(env),
  };
}

/** A text search configuration's name; whether the database has it is checked at start (src/db/searchLanguage.ts). */
function searchLanguage(env: NodeJS.ProcessEnv): string {
  const name = nonEmpty(env, 'TRANSCRIPT_SEARCH_LANGUAGE') ?? 'simple';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new ConfigError(
      `TRANSCRIPT_SEARCH_LANGUAGE must name a PostgreSQL text search configuration such as simple, english or french, got "${name.slice(0, 64)}"`,
    );
  }
  return name;
}

function revoxApiKey(env: NodeJS.ProcessEnv): string | undefined {
  const key = nonEmpty(env, 'REVOX_API_KEY');
  // It goes in an Authorization header; never echo it.
  if (key !== undefined && !/^[\x21-\x7e]+$/.test(key)) {
    throw new ConfigError('REVOX_API_KEY must be printable ASCII without spaces (the key as shown by Revox)');
  }
  return key;
}

const DURATION = /^(\d+)(ms|s|m|h)$/;
const DURATION_UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

const MAX_DURATION_MS = 7 * 24 * 3_600_000;

/** A duration such as `30s`, `10m` or `1h` (also `ms`), in milliseconds, from `minMs` to a week; or `0` if `zero` allows. */
function duration(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: string,
  { minMs, zero }: { minMs: number; zero: 'off' | 'allowed' | 'refused' },
): number {
  const raw = nonEmpty(env, name) ?? fallback;
  if (raw === '0' && zero !== 'refused') return 0;
  const match = DURATION.exec(raw);
  const ms = match ? Number(match[1]) * DURATION_UNIT_MS[match[2] as keyof typeof DURATION_UNIT_MS] : NaN;
  if (!Number.isSafeInteger(ms) || ms < minMs || ms > MAX_DURATION_MS) {
    const range = `from ${minMs / 1000}s to 168h${zero === 'off' ? ', or 0 to turn it off' : zero === 'allowed' ? ', or 0' : ''}`;
    throw new ConfigError(`${name} must be a duration such as 30s, 10m or 1h (${range}), got "${raw}"`);
  }
  return ms;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env, name) ?? fallback;
  const value = allowed.find((candidate) => candidate === raw.toUpperCase());
  if (value === undefined) throw new ConfigError(`${name} must be ${allowed.join(' or ')}, got "${raw}"`);
  return value;
}

/** A path on the Revox API such as `/call/search`; with `withId`, it must hold `{id}`. */
function urlPath(env: NodeJS.ProcessEnv, name: string, fallback: string, withId: boolean): string {
  const raw = nonEmpty(env, name) ?? fallback;
  if (!/^\/[\w\-./{}]*$/.test(raw) || raw.includes('..')) {
    throw new ConfigError(`${name} must be a path such as ${fallback}, got "${raw}"`);
  }
  if (withId !== raw.includes('{id}')) {
    throw new ConfigError(`${name} must ${withId ? '' : 'not '}contain {id}, got "${raw}"`);
  }
  return raw;
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function optionalInteger(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  return nonEmpty(env, name) === undefined ? undefined : integer(env, name, min, min, max);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** A comma-separated list of exact origins (`https://app.example.com`, no path), or `*`. */
function origins(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '')
    .map((origin) => {
      if (origin === '*') return origin;
      let parsed: URL | undefined;
      try {
        parsed = new URL(origin);
      } catch {
        // Reported below.
      }
      if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin.replace(/\/$/, '').toLowerCase()) {
        throw new ConfigError(`${name} must list origins such as https://app.example.com (scheme, host and port only), got "${origin}"`);
      }
      return parsed.origin;
    });
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    // The value may hold a password: name the variable, never echo it.
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}
