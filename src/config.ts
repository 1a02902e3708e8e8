import { isIP } from 'node:net';
import path from 'node:path';

/** Everything the server is configured with, read and validated once at start. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Unset: generated once and kept in `dataDir` (see webhook/secret.ts). */
  webhookSecret: string | undefined;
  /** Tokens with every scope. With none, and no API key created, the API is open: only allowed on a loopback host. */
  apiTokens: string[];
  /** Largest webhook body accepted, in bytes. */
  maxBodyBytes: number;
  /** Authenticated WebSocket connections allowed at once; more are closed with 1013 (try again later). */
  maxWebSocketConnections: number;
  /** Open Server-Sent Events streams allowed at once; more are answered 503. */
  maxSseConnections: number;
  /** Origins whose pages may call the API (`*` for any); undefined: loopback pages in open mode, any with tokens. */
  corsOrigins: string[] | undefined;
  /** Days after which transcripts, recording URLs and structured output are deleted; undefined: kept forever. */
  retentionDays: number | undefined;
  /** Days after which archived delivery bodies are deleted; undefined: `retentionDays`. */
  archiveRetentionDays: number | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const MIB = 1024 * 1024;

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
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    retentionDays: optionalInteger(env, 'RETENTION_DAYS', 1, 36_500),
    archiveRetentionDays: optionalInteger(env, 'ARCHIVE_RETENTION_DAYS', 1, 36_500),
  };
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
