/**
 * `llmModel.raw` never serves a secret-named key, even from a row stored before removal covered every depth; a
 * `type` named like an Object property is just another unknown type.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveryMaker } from '../../support/deliveries.ts';
import { fixture, startTestServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

it('removes nested credentials from a stored llm_model when serving it', async () => {
  const delivery = fixture('outbound-attempt-1-voicemail');
  expect((await server.deliver(delivery)).status).toBe(200);
  // What an older version stored: only the top-level api_key was removed.
  await server.database.prisma.callOrder.update({
    where: { revoxId: delivery.call.id },
    data: {
      llmModel: {
        type: 'custom',
        api_url: 'https://svc:pw-old-row@llm.example.com/?key=key-old-row',
        credentials: { api_key: 'sk-old-row' },
        Client_Secret: 'cs-old-row',
        nested: [{ password: 'pw-old-row', kept: 1 }],
      },
    },
  });
  const { body } = await server.graphql(`{ callOrder(revoxId: "${delivery.call.id}") { llmModel { ... on CustomLlm { apiUrl raw } } } }`);
  const raw = body.data.callOrder.llmModel.raw;
  expect(raw).toEqual({ type: 'custom', api_url: 'https://llm.example.com/', nested: [{ kept: 1 }] });
  expect(body.data.callOrder.llmModel.apiUrl).toBe('https://llm.example.com/');
  expect(JSON.stringify(body)).not.toMatch(/old-row/);
});

const modelDelivery = deliveryMaker('llm_type');

it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('a type of "%s" is OtherLlm, served without error', async (type) => {
  const delivery = modelDelivery((d) => (d.call.llm_model = { type, name: 'x' }));
  expect((await server.deliver(delivery)).status).toBe(200);
  const { body } = await server.graphql(
    `{ callOrder(revoxId: "${delivery.call.id}") { llmModel { __typename ... on OtherLlm { type raw } } } }`,
  );
  expect(body.errors).toBeUndefined();
  expect(body.data.callOrder.llmModel).toEqual({ __typename: 'OtherLlm', type, raw: { type, name: 'x' } });
});
