import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('has working defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: '127.0.0.1',
      dataDir: path.resolve('data'),
      databaseUrl: undefined,
      redisUrl: undefined,
      webhookSecret: undefined,
      apiTokens: [],
      maxBodyBytes: 5 * 1024 * 1024,
      maxWebSocketConnections: 10_000,
      maxSseConnections: 1_000,
      maxHttpConnections: 15_000,
      corsOrigins: undefined,
      retentionDays: undefined,
      archiveRetentionDays: undefined,
      revoxApiKey: undefined,
      revoxBaseUrl: 'https://www.getrevox.com/api',
      revoxRetrievePath: '/call/{id}',
      revoxSearchPath: '/call/search',
      revoxSearchMethod: 'POST',
      revoxSearchFirstPage: 0,
      revoxSearchPageSize: 100,
      revoxTimeoutMs: 60_000,
      revoxReconcileIntervalMs: 600_000,
      revoxReconcileStaleAfterMs: 1_800_000,
      revoxReconcileMaxPerMinute: 60,
      transcriptSearchLanguage: 'simple',
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      DATA_DIR: '/tmp/cb',
      DATABASE_URL: 'postgres://u:p@db:5432/callboard',
      REDIS_URL: 'redis://cache:6379',
      WEBHOOK_SECRET: 'a-secret-of-some-length',
      API_TOKENS: ' one , two,,',
    });
    expect(config).toMatchObject({ port: 0, host: '0.0.0.0', dataDir: '/tmp/cb', apiTokens: ['one', 'two'] });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be a whole number from 0 to 65535, got "70000"/],
    [{ HOST: 'not a host' }, /HOST must be an IP address/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//],
    [{ DATABASE_URL: 'postgres://user:hunter2@[bad' }, /^DATABASE_URL is not a valid URL$/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL must start with redis:\/\//],
    [{ WEBHOOK_MAX_BODY_BYTES: '-1' }, /WEBHOOK_MAX_BODY_BYTES must be a whole number/],
    [
      { CORS_ORIGINS: 'dashboard.example.com' },
      /CORS_ORIGINS must list origins such as https:\/\/app.example.com.*got "dashboard.example.com"/,
    ],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, /CORS_ORIGINS must list origins/],
    [{ CORS_ORIGINS: 'ftp://app.example.com' }, /CORS_ORIGINS must list origins/],
    [{ SSE_MAX_CONNECTIONS: '0' }, /SSE_MAX_CONNECTIONS must be a whole number from 1/],
    [{ HTTP_MAX_CONNECTIONS: '10' }, /HTTP_MAX_CONNECTIONS must be a whole number from 16 to 1000000, got "10"/],
    [{ RETENTION_DAYS: '30d' }, /RETENTION_DAYS must be a whole number from 1 to 36500, got "30d"/],
    [{ ARCHIVE_RETENTION_DAYS: '0' }, /ARCHIVE_RETENTION_DAYS must be a whole number from 1/],
    [{ REVOX_BASE_URL: 'ftp://revox.example.com' }, /REVOX_BASE_URL must start with https:\/\/ or http:\/\//],
    [
      { REVOX_RECONCILE_INTERVAL: '10 minutes' },
      /REVOX_RECONCILE_INTERVAL must be a duration such as 30s, 10m or 1h \(from 1s to 168h, or 0 to turn it off\), got "10 minutes"/,
    ],
    [{ REVOX_RECONCILE_INTERVAL: '500ms' }, /REVOX_RECONCILE_INTERVAL must be a duration/],
    [{ REVOX_RECONCILE_INTERVAL: '200h' }, /REVOX_RECONCILE_INTERVAL must be a duration/],
    [{ REVOX_TIMEOUT: '0' }, /REVOX_TIMEOUT must be a duration such as 30s, 10m or 1h \(from 1s to 168h\), got "0"/],
    [{ REVOX_RECONCILE_STALE_AFTER: '-5m' }, /REVOX_RECONCILE_STALE_AFTER must be a duration/],
    [{ REVOX_RECONCILE_MAX_PER_MINUTE: '0' }, /REVOX_RECONCILE_MAX_PER_MINUTE must be a whole number from 1 to 6000/],
    [
      { TRANSCRIPT_SEARCH_LANGUAGE: "french'; DROP TABLE x" },
      /TRANSCRIPT_SEARCH_LANGUAGE must name a PostgreSQL text search configuration/,
    ],
    [{ REVOX_SEARCH_METHOD: 'PUT' }, /REVOX_SEARCH_METHOD must be POST or GET, got "PUT"/],
    [{ REVOX_SEARCH_FIRST_PAGE: '2' }, /REVOX_SEARCH_FIRST_PAGE must be 0 or 1, got "2"/],
    [{ REVOX_SEARCH_PAGE_SIZE: '5000' }, /REVOX_SEARCH_PAGE_SIZE must be a whole number from 1 to 1000/],
    [{ REVOX_SEARCH_PATH: 'call/search' }, /REVOX_SEARCH_PATH must be a path such as \/call\/search, got "call\/search"/],
    [{ REVOX_SEARCH_PATH: '/call/{id}/search' }, /REVOX_SEARCH_PATH must not contain \{id\}/],
    [{ REVOX_RETRIEVE_PATH: '/call' }, /REVOX_RETRIEVE_PATH must contain \{id\}, got "\/call"/],
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('reads the Revox settings', () => {
    const config = loadConfig({
      REVOX_API_KEY: 'sk_live_abc',
      REVOX_BASE_URL: 'http://127.0.0.1:9999/api/',
      REVOX_RETRIEVE_PATH: '/v2/calls/{id}',
      REVOX_SEARCH_PATH: '/v2/calls',
      REVOX_SEARCH_METHOD: 'get',
      REVOX_SEARCH_FIRST_PAGE: '1',
      REVOX_SEARCH_PAGE_SIZE: '250',
      REVOX_TIMEOUT: '2500ms',
      REVOX_RECONCILE_INTERVAL: '30s',
      REVOX_RECONCILE_STALE_AFTER: '1h',
      REVOX_RECONCILE_MAX_PER_MINUTE: '120',
    });
    expect(config).toMatchObject({
      revoxApiKey: 'sk_live_abc',
      revoxBaseUrl: 'http://127.0.0.1:9999/api',
      revoxRetrievePath: '/v2/calls/{id}',
      revoxSearchPath: '/v2/calls',
      revoxSearchMethod: 'GET',
      revoxSearchFirstPage: 1,
      revoxSearchPageSize: 250,
      revoxTimeoutMs: 2_500,
      revoxReconcileIntervalMs: 30_000,
      revoxReconcileStaleAfterMs: 3_600_000,
      revoxReconcileMaxPerMinute: 120,
    });
    expect(loadConfig({ REVOX_RECONCILE_INTERVAL: '0' }).revoxReconcileIntervalMs).toBe(0);
  });

  it('never echoes the Revox API key', () => {
    expect(() => loadConfig({ REVOX_API_KEY: 'sk_live with space' })).toThrow(/REVOX_API_KEY must be printable ASCII/);
    expect(() => loadConfig({ REVOX_API_KEY: 'sk_live with space' })).not.toThrow(/sk_live/);
  });

  it('never echoes a URL that may hold a password', () => {
    let thrown: unknown;
    try {
      loadConfig({ DATABASE_URL: 'postgres://user:hunter2@[bad' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).message).toContain('DATABASE_URL');
    expect((thrown as ConfigError).message).not.toContain('hunter2');
  });

  it('accepts a short webhook secret (the server warns about it)', () => {
    expect(loadConfig({ WEBHOOK_SECRET: 'smoke-secret' }).webhookSecret).toBe('smoke-secret');
  });

  it('reads retention in days', () => {
    expect(loadConfig({ RETENTION_DAYS: '90', ARCHIVE_RETENTION_DAYS: '7' })).toMatchObject({ retentionDays: 90, archiveRetentionDays: 7 });
  });

  it('reads CORS_ORIGINS as exact origins', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://App.example.com, http://localhost:3000/' }).corsOrigins).toEqual([
      'https://app.example.com',
      'http://localhost:3000',
    ]);
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
  });

  it('allows a public HOST when API tokens protect the API', () => {
    expect(loadConfig({ HOST: '0.0.0.0', API_TOKENS: 'tok' }).host).toBe('0.0.0.0');
  });
});
