/**
 * Third parties' secrets never reach the database, the archive or the API, however a delivery spells them, and
 * removing them never changes anything else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayArchived } from '../../src/ingest/replay.ts';
import { isSecretName, mayHoldSecretName } from '../../src/ingest/thirdPartySecrets.ts';
import { deliveryMaker } from '../../support/deliveries.ts';
import { expectNowhere } from '../helpers/leftovers.ts';
import { startTestServer, storedOrder, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

const delivery = deliveryMaker('secret');
/** Makes each test's secret unique, so that finding it anywhere points at that test. */
let secretSequence = 0;

const archiveRow = (requestId: string) => server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { requestId } });

const model = { type: 'custom', api_url: 'https://llm.example.com/v1', model_name: 'agent' };

describe('duplicate keys', () => {
  it.each([
    [
      'api_key twice',
      (secret: string) => (d: any) => JSON.stringify(d).replace('"type":"custom"', `"api_key":"${secret}","type":"custom","api_key":"x"`),
    ],
    [
      'llm_model twice',
      (secret: string) => (d: any) =>
        JSON.stringify(d).replace('"llm_model":', `"llm_model":{"type":"custom","api_key":"${secret}"},"llm_model":`),
    ],
    ['call twice', (secret: string) => (d: any) => `{"call":{"llm_model":{"api_key":"${secret}"}},${JSON.stringify(d).slice(1)}`],
  ])('%s: the copy JSON.parse ignores is not archived either', async (_name, spell) => {
    const secret = `sk-duplicate-${++secretSequence}-0123456789`;
    const d = delivery((x) => (x.call.llm_model = model));
    const response = await server.deliver(null, { raw: spell(secret)(d) });
    expect(response.status).toBe(200);
    const archived = await archiveRow(response.body.requestId);
    expect(JSON.parse(archived.body!).call.llm_model).toEqual(model);
    await expectNowhere(server, secret);
  });
});

describe('bodies that are not JSON', () => {
  it.each([
    ['a \\u-escaped key', (secret: string) => `{"call": {"llm_model": {"api\\u005fkey": "${secret}"`],
    ['an unquoted value', (secret: string) => `{"call": {"llm_model": {"api_key": ${secret}}}}`],
    ['an unquoted key', (secret: string) => `{call: {llm_model: {apiKey: "${secret}"}}}`],
    ['a single-quoted key', (secret: string) => `{'call': {'llm_model': {'API-KEY': '${secret}'}}}`],
  ])('with %s are withheld from the archive, and the row says so', async (_name, spell) => {
    const secret = `sk-notjson-${++secretSequence}-0123456789`;
    const response = await server.deliver(null, { raw: spell(secret) });
    expect(response.status).toBe(400);
    const archived = await archiveRow(response.body.requestId);
    expect(archived).toMatchObject({ outcome: 'rejected', httpStatus: 400, body: null });
    expect(archived.error).toContain('body not archived');
    await expectNowhere(server, secret);
  });

  it('without anything secret-named are archived as received', async () => {
    const raw = `{"call": {"id": "x", 'note': "my order"`;
    const response = await server.deliver(null, { raw });
    expect(response.status).toBe(400);
    expect((await archiveRow(response.body.requestId)).body).toBe(raw);
  });
});

describe('secret-named keys at any depth of llm_model', () => {
  it('are removed from the record, the API and the archive; everything else is kept', async () => {
    const secrets = [
      'sk-nested-0123456789',
      'sk-upper-0123456789',
      'sk-camel-0123456789',
      'sk-client-0123456789',
      'sk-bearer-0123456789',
      'sk-pw-0123456789',
    ];
    const d = delivery((x) => {
      x.call.llm_model = {
        type: 'custom',
        api_url: 'https://llm.example.com/v1',
        max_tokens: 512,
        credentials: { api_key: secrets[0] },
        'API-KEY': secrets[1],
        options: [{ temperature: 0.2, ApiKey: secrets[2], auth: { client_secret: secrets[3], Authorization: `Bearer ${secrets[4]}` } }],
        ｐａｓｓｗｏｒｄ: secrets[5],
      };
      // Outside llm_model a key named token is the customer's own data, kept as sent.
      x.call.metadata = { token: 'order-token-42' };
    });
    const response = await server.deliver(d);
    expect(response.status).toBe(200);

    const expected = { type: 'custom', api_url: 'https://llm.example.com/v1', max_tokens: 512, options: [{ temperature: 0.2 }] };
    const order = (await storedOrder(server, d.call.id))!;
    expect(order.llmModel).toEqual(expected);
    expect(order.metadata).toEqual({ token: 'order-token-42' });
    const api = await server.graphql(`{ callOrder(revoxId: "${d.call.id}") { llmModel { ... on CustomLlm { raw } } } }`);
    expect(api.body.data.callOrder.llmModel.raw).toEqual(expected);
    const archived = JSON.parse((await archiveRow(response.body.requestId)).body!);
    expect(archived.call.llm_model).toEqual(expected);
    expect(archived.call.metadata).toEqual({ token: 'order-token-42' });
    for (const secret of secrets) await expectNowhere(server, secret);
  });

  it('the same delivery with or without its secrets is one delivery (the hash ignores them)', async () => {
    const d = delivery((x) => (x.call.llm_model = { ...model, credentials: { password: 'hunter2-0123456789' } }));
    expect((await server.deliver(d)).body.duplicate).toBe(false);
    d.call.llm_model = { ...model, credentials: { password: 'another-0123456789' } };
    expect((await server.deliver(d)).body.duplicate).toBe(true);
  });
});

describe('redaction changes nothing but the secret', () => {
  it.each([
    ['"none"', 'none', (d: any): void => void (d.call.outcome = 'none')],
    ['true', true, (d: any): void => void (d.call.is_completed = true)],
    ['"completed"', 'completed', (d: any): void => void (d.call.status = 'completed')],
  ])('an api_key of %s leaves the fields with the same value intact, and the archive replays', async (_name, value, edit) => {
    const d = delivery((x) => {
      edit(x);
      x.call.llm_model = { ...model, api_key: value };
    });
    const response = await server.deliver(d);
    expect(response.status).toBe(200);
    const before = await storedOrder(server, d.call.id);
    expect(before).toMatchObject({ outcome: d.call.outcome ?? null, isCompleted: d.call.is_completed, status: d.call.status });
    const archived = JSON.parse((await archiveRow(response.body.requestId)).body!);
    const { llm_model: _model, ...call } = d.call;
    expect(archived).toEqual({ ...d, call: { ...call, llm_model: model } });

    await server.database.prisma.webhookDelivery.updateMany({ where: { requestId: response.body.requestId }, data: { outcome: 'failed' } });
    expect((await replayArchived(server.database.prisma, 'not-accepted')).stored).toBe(1);
    expect(await storedOrder(server, d.call.id)).toEqual(before);
  });

  it('a body without secret-named keys is archived byte for byte', async () => {
    const raw = JSON.stringify(delivery(), null, 3).replace('"direction"', '"dir\\u0065ction"');
    const response = await server.deliver(null, { raw });
    expect(response.status).toBe(200);
    expect((await archiveRow(response.body.requestId)).body).toBe(raw);
  });
});

describe('the naming rule', () => {
  it.each([
    'api_key',
    'API-KEY',
    'ApiKey',
    'x-api-key',
    'client_secret',
    'access_token',
    'password',
    'Authorization',
    'credentials',
    'ｐａｓｓｗｏｒｄ',
  ])('%s is secret-named', (name) => expect(isSecretName(name)).toBe(true));
  it.each(['max_tokens', 'token_limit', 'type', 'model_name', 'secretary', 'monkey'])('%s is not', (name) =>
    expect(isSecretName(name)).toBe(false),
  );

  it('finds a secret-named key in text however it is written, and is linear on hostile text', () => {
    for (const text of ['{"api_key": 1', "{'api_key': 1", '{api_key: 1', '{"api\\u005Fkey": 1', '"{\\"token\\": 1}"', 'x-Api-Key :']) {
      expect(mayHoldSecretName(text), text).toBe(true);
    }
    expect(mayHoldSecretName('{"max_tokens": 1, "note": "keys, tokens"}')).toBe(false);
    const started = performance.now();
    mayHoldSecretName(`${'\\"'.repeat(1_000_000)}${'key'.repeat(500_000)}${':'.repeat(1_000_000)}`);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
