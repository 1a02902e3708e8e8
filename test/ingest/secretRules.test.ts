/**
 * The secrets that the third security review found kept: credentials in a URL (user info, query parameters such as
 * `key` and `sig`), headers written as name/value pairs, and names such as `auth`, `bearer`, `api_keys`,
 * `openai_key` and `X-Custom-Auth`. Removed from a webhook's llm_model and from a REST call's assistant alike, in the
 * records, the API and the archive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestCall } from '../../src/revox/ingestCall.ts';
import { isSecretName, mayHoldSecretName } from '../../src/ingest/thirdPartySecrets.ts';
import { restCall } from '../revox/fakeRevox.ts';
import { deliveryMaker } from '../../support/deliveries.ts';
import { expectNowhere } from '../helpers/leftovers.ts';
import { startTestServer, storedOrder, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

const delivery = deliveryMaker('secret_rules');

/** A third party's configuration holding every kind of secret the review found, each marked with `tag`. */
function configuration(tag: string) {
  const secrets = ['url-password', 'url-key', 'url-sig', 'header-bearer', 'auth', 'bearer', 'api-keys', 'openai', 'custom-auth'].map(
    (name) => `${name}-${tag}-0123456789`,
  );
  const [urlPassword, urlKey, urlSig, headerBearer, auth, bearer, apiKeys, openai, customAuth] = secrets;
  return {
    secrets,
    dirty: {
      api_url: `https://svc:${urlPassword}@llm.example.com/v1?key=${urlKey}&sig=${urlSig}&model=agent`,
      headers: [
        { name: 'Authorization', value: `Bearer ${headerBearer}` },
        { name: 'Accept', value: 'application/json' },
      ],
      auth,
      bearer,
      api_keys: [apiKeys],
      openai_key: openai,
      'X-Custom-Auth': customAuth,
      max_tokens: 512,
    },
    clean: {
      api_url: 'https://llm.example.com/v1?model=agent',
      headers: [{ name: 'Authorization' }, { name: 'Accept', value: 'application/json' }],
      max_tokens: 512,
    },
  };
}

describe('a webhook llm_model', () => {
  it('keeps none of these secrets in the record, llmModel.raw, apiUrl or the archive', async () => {
    const { secrets, dirty, clean } = configuration('webhook');
    const d = delivery((x) => (x.call.llm_model = { type: 'custom', model_name: 'agent', ...dirty }));
    const response = await server.deliver(d);
    expect(response.status).toBe(200);

    const expected = { type: 'custom', model_name: 'agent', ...clean };
    expect((await storedOrder(server, d.call.id))!.llmModel).toEqual(expected);
    const api = await server.graphql(`{ callOrder(revoxId: "${d.call.id}") { llmModel { ... on CustomLlm { apiUrl raw } } } }`);
    expect(api.body.data.callOrder.llmModel).toEqual({ apiUrl: clean.api_url, raw: expected });
    const archived = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { requestId: response.body.requestId } });
    expect(JSON.parse(archived.body!).call.llm_model).toEqual(expected);
    for (const secret of secrets) await expectNowhere(server, secret);
  });
});

describe("a REST call's assistant, read by the sync or the reconciliation", () => {
  it("keeps none of these secrets, nor its tools' headers and basic-auth credentials, in the order or the archive", async () => {
    const { secrets, dirty, clean } = configuration('rest');
    const toolSecrets = ['tool-header-0123456789', 'tool-password-0123456789', 'tool-url-token-0123456789'];
    const assistant = {
      id: 'asst_rest',
      ...dirty,
      tools: [
        {
          type: 'webhook',
          url: `https://hooks.example.com/tool?token=${toolSecrets[2]}`,
          headers: [{ key: 'X-Api-Key', value: toolSecrets[0] }],
          basic_auth: { username: 'svc', password: toolSecrets[1] },
        },
      ],
    };
    const outcome = await ingestCall(server.database.prisma, restCall('call_rest_secrets', [{ id: 'att_rest_secrets' }], 0, { assistant }));
    expect(outcome.kind).toBe('stored');

    const expected = { id: 'asst_rest', ...clean, tools: [{ type: 'webhook', url: 'https://hooks.example.com/tool', headers: [{}] }] };
    expect(((await storedOrder(server, 'call_rest_secrets'))!.extra as any).assistant).toEqual(expected);
    const archived = await server.database.prisma.webhookDelivery.findFirstOrThrow({ where: { callRevoxId: 'call_rest_secrets' } });
    expect(archived.source).toBe('sync');
    expect(JSON.parse(archived.body!).call.assistant).toEqual(expected);
    for (const secret of [...secrets, ...toolSecrets]) await expectNowhere(server, secret);
  });
});

describe('the naming rule', () => {
  it.each(['auth', 'bearer', 'api_keys', 'openai_key', 'OpenAiKey', 'X-Custom-Auth', 'basic_auth', 'key', 'sig', 'X-Amz-Signature'])(
    '%s is secret-named',
    (name) => expect(isSecretName(name)).toBe(true),
  );
  it.each(['monkey', 'hotkey', 'keyboard', 'author', 'max_tokens', 'signal'])('%s is not', (name) =>
    expect(isSecretName(name)).toBe(false),
  );

  it('a text that may hold such a secret is found, so the archive keeps the cleaned JSON and not the text', () => {
    for (const text of [
      '{"api_url": "https://svc:pw@llm.example.com/v1"}',
      '{"api_url": "https:\\/\\/svc:pw@llm.example.com"}',
      '{"url": "https://llm.example.com/v1?key=AIza"}',
      '{"headers": [{"name": "Authorization", "value": "Bearer sk"}]}',
      '{"headers": [{"value": "Bearer sk", "name": "X-Custom-Auth"}]}',
      '{"openAiKey": "sk"}',
      '{"api_keys": ["sk"]}',
    ]) {
      expect(mayHoldSecretName(text), text).toBe(true);
    }
    for (const text of ['{"note": "see https://example.com/a @bob, the key, please"}', '{"name": "monkey", "value": 1}']) {
      expect(mayHoldSecretName(text), text).toBe(false);
    }
  });
});
