/**
 * Rows stored by an older version, whose secret removal did not cover every depth, are rewritten once at start with
 * today's rules: nested credentials leave the stored llm_model, and archived bodies keep no secret. When the rules
 * change, a database scrubbed under the old ones is scrubbed again.
 */
import { afterAll, expect, it } from 'vitest';
import { createTestDatabase } from '../../support/database.ts';
import { orderDelivery } from '../../support/deliveries.ts';
import { SECRET_RULES_VERSION } from '../../src/ingest/thirdPartySecrets.ts';
import { startTestServer, storedOrder } from '../../support/server.ts';
import { waitFor } from '../../support/subscriptions.ts';

const database = await createTestDatabase();
afterAll(() => database.dispose());

it('scrubs secrets that older versions left in stored orders and archived bodies, once', async () => {
  const first = await startTestServer({}, database);
  const delivery = orderDelivery('call_old_secrets', [{ id: 'old_secrets_a' }], 0);
  expect((await first.deliver(delivery)).status).toBe(200);
  // What an older version stored: only llm_model.api_key removed, nested credentials kept, in the row and the archive.
  const oldModel = {
    type: 'custom',
    api_url: 'https://llm.example.com',
    credentials: { api_key: 'sk-nested-old' },
    Client_Secret: 'cs-old',
  };
  await first.database.prisma.callOrder.update({ where: { revoxId: 'call_old_secrets' }, data: { llmModel: oldModel } });
  const oldBody = JSON.stringify({ ...delivery, call: { ...delivery.call, llm_model: oldModel } });
  await first.database.prisma.webhookDelivery.updateMany({ where: { callRevoxId: 'call_old_secrets' }, data: { body: oldBody } });
  const rejected = await first.database.prisma.webhookDelivery.create({
    data: {
      requestId: 'old-rejected',
      body: '{"call": {"llm_model": {"api_key": sk-unquoted-old',
      bodyBytes: 40n,
      headers: {},
      outcome: 'rejected',
      httpStatus: 400,
      error: 'malformed_body: the body is not JSON',
    },
  });
  // The marker that it already ran is what an older version never wrote.
  await first.database.prisma.setting.deleteMany({ where: { name: { startsWith: 'stored_secrets_scrubbed' } } });
  await first.stop();

  const second = await startTestServer({}, database);
  try {
    await waitFor(() => second.logs.some((line) => line.includes('"event":"secrets.scrubbed"')));
    const logged = JSON.parse(second.logs.find((line) => line.includes('"event":"secrets.scrubbed"'))!);
    expect(logged).toMatchObject({ callOrders: 1, webhookDeliveries: 2 });
    expect((await storedOrder(second, 'call_old_secrets'))!.llmModel).toEqual({ type: 'custom', api_url: 'https://llm.example.com' });
    const archived = await second.database.prisma.webhookDelivery.findMany({ select: { id: true, body: true, error: true } });
    expect(JSON.stringify(archived)).not.toMatch(/sk-nested-old|cs-old|sk-unquoted-old/);
    expect(archived.find((row) => row.id === rejected.id)).toMatchObject({
      body: null,
      error: expect.stringContaining('body not archived'),
    });
    expect(JSON.parse(archived.find((row) => row.id !== rejected.id)!.body!).call.metadata).toEqual(delivery.call.metadata);
  } finally {
    await second.stop();
  }
  // Once per database: the next start has nothing to do and says nothing.
  const third = await startTestServer({}, database);
  await third.stop();
  expect(third.logs.some((line) => line.includes('secrets.scrubbed'))).toBe(false);
});

it('scrubs again under new rules a database scrubbed under older ones: URL credentials, header pairs, the assistant', async () => {
  const first = await startTestServer({}, database);
  const delivery = orderDelivery('call_old_rules', [{ id: 'old_rules_a' }], 0);
  expect((await first.deliver(delivery)).status).toBe(200);
  // What the first rules kept: a URL's user info and `key` parameter, a header as a name/value pair, `auth`.
  const oldModel = {
    type: 'custom',
    api_url: 'https://svc:pw-old-rules@llm.example.com/v1?key=key-old-rules&model=agent',
    headers: [{ name: 'Authorization', value: 'Bearer bearer-old-rules' }],
  };
  const oldAssistant = {
    id: 'asst_old',
    tools: [{ headers: [{ key: 'X-Custom-Auth', value: 'tool-old-rules' }], auth: 'auth-old-rules' }],
  };
  await first.database.prisma.callOrder.update({
    where: { revoxId: 'call_old_rules' },
    data: { llmModel: oldModel, extra: { assistant: oldAssistant } },
  });
  const oldBody = JSON.stringify({ ...delivery, call: { ...delivery.call, llm_model: oldModel, assistant: oldAssistant } });
  await first.database.prisma.webhookDelivery.updateMany({ where: { callRevoxId: 'call_old_rules' }, data: { body: oldBody } });
  // The older rules' scrub ran; today's has not.
  await first.database.prisma.setting.deleteMany({ where: { name: { startsWith: 'stored_secrets_scrubbed' } } });
  await first.database.prisma.setting.create({ data: { name: `stored_secrets_scrubbed_v${SECRET_RULES_VERSION - 1}`, value: 'earlier' } });
  await first.stop();

  const second = await startTestServer({}, database);
  try {
    await waitFor(() => second.logs.some((line) => line.includes('"event":"secrets.scrubbed"')));
    const logged = JSON.parse(second.logs.find((line) => line.includes('"event":"secrets.scrubbed"'))!);
    expect(logged).toMatchObject({ callOrders: 1, webhookDeliveries: 1 });
    const cleanModel = { type: 'custom', api_url: 'https://llm.example.com/v1?model=agent', headers: [{ name: 'Authorization' }] };
    const cleanAssistant = { id: 'asst_old', tools: [{ headers: [{}] }] };
    const order = (await storedOrder(second, 'call_old_rules'))!;
    expect(order.llmModel).toEqual(cleanModel);
    expect(order.extra).toEqual({ assistant: cleanAssistant });
    const archived = await second.database.prisma.webhookDelivery.findFirstOrThrow({ where: { callRevoxId: 'call_old_rules' } });
    expect(JSON.parse(archived.body!).call).toMatchObject({ llm_model: cleanModel, assistant: cleanAssistant });
    const everything = await second.database.prisma.$queryRawUnsafe<{ t: string }[]>(
      "SELECT string_agg(t::text, ' ') AS t FROM (SELECT o::text AS t FROM call_orders o UNION ALL SELECT d::text FROM webhook_deliveries d) rows",
    );
    expect(everything[0]!.t).not.toMatch(/old-rules/);
  } finally {
    await second.stop();
  }
});
