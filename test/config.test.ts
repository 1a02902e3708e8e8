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
      corsOrigins: undefined,
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
    [{ HOST: '0.0.0.0' }, /HOST=0.0.0.0 would expose the GraphQL API.*set API_TOKENS/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must start with postgres:\/\/ or postgresql:\/\//],
    [{ DATABASE_URL: 'postgres://user:hunter2@[bad' }, /^DATABASE_URL is not a valid URL$/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL must start with redis:\/\//],
    [{ WEBHOOK_MAX_BODY_BYTES: '-1' }, /WEBHOOK_MAX_BODY_BYTES must be a whole number/],
    [{ CORS_ORIGINS: 'dashboard.example.com' }, /CORS_ORIGINS must list origins such as https:\/\/app.example.com.*got "dashboard.example.com"/],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, /CORS_ORIGINS must list origins/],
    [{ CORS_ORIGINS: 'ftp://app.example.com' }, /CORS_ORIGINS must list origins/],
    [{ SSE_MAX_CONNECTIONS: '0' }, /SSE_MAX_CONNECTIONS must be a whole number from 1/],
  ])('rejects %o with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
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
