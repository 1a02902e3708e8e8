/** Subscription.callCompleted: one event per attempt newly stored in a finished status, after its commit. */
import type { CallCompletedPayload } from '../../events/eventBus.ts';
import { findCallAttemptById } from '../../read/callAttempt.ts';
import { findCallOrderById } from '../../read/callOrder.ts';
import { builder } from '../builder.ts';
import { CallDirection, CallResult } from './enums.ts';

const CallCompletedFilter = builder.inputType('CallCompletedFilter', {
  description: 'Every condition given must hold; the server sends only matching events.',
  fields: (t) => ({
    callOrderRevoxId: t.string({ required: false }),
    phoneNumber: t.string({ required: false, description: "The order's from or to number, or the attempt's number." }),
    direction: t.field({ type: [CallDirection.ref], required: false }),
    result: t.field({ type: [CallResult.ref], required: false }),
    orderCompleted: t.boolean({ required: false, description: 'true: only events whose order is finished.' }),
  }),
});

type Filter = typeof CallCompletedFilter.$inferInput;

function matches(event: CallCompletedPayload, wanted: Filter | null | undefined): boolean {
  if (!wanted) return true;
  if (wanted.callOrderRevoxId && event.callRevoxId !== wanted.callOrderRevoxId) return false;
  if (wanted.phoneNumber && !event.phoneNumbers.includes(wanted.phoneNumber)) return false;
  if (wanted.direction && !wanted.direction.includes(CallDirection.fromRaw(event.direction))) return false;
  if (wanted.result && (event.result === null || !wanted.result.includes(CallResult.fromRaw(event.result)))) return false;
  if (wanted.orderCompleted !== null && wanted.orderCompleted !== undefined && event.orderCompleted !== wanted.orderCompleted) {
    return false;
  }
  return true;
}

/**
 * Every subscription (a WebSocket hub, an SSE stream) receives the same event object. Those that select the same
 * fields share one load per event, even when their filters or scopes differ and so their executions cannot be shared.
 */
const sharedLoads = new WeakMap<CallCompletedPayload, Map<string, Promise<unknown>>>();

function loadOnce<T>(event: CallCompletedPayload, key: string, load: () => Promise<T>): Promise<T> {
  let loads = sharedLoads.get(event);
  if (!loads) sharedLoads.set(event, (loads = new Map()));
  let loaded = loads.get(key);
  if (!loaded) loads.set(key, (loaded = load()));
  return loaded as Promise<T>;
}

const CallCompletedEvent = builder.objectRef<CallCompletedPayload>('CallCompletedEvent').implement({
  description: 'A call attempt finished. Both records are loaded when the event is delivered, as committed.',
  fields: (t) => ({
    callOrder: t.prismaField({
      type: 'CallOrder',
      resolve: (query, event, _args, { prisma }) =>
        loadOnce(event, `order ${JSON.stringify(query)}`, () => findCallOrderById(prisma, query, event.callOrderId)),
    }),
    attempt: t.prismaField({
      type: 'CallAttempt',
      resolve: (query, event, _args, { prisma }) =>
        loadOnce(event, `attempt ${JSON.stringify(query)}`, () => findCallAttemptById(prisma, query, event.attemptId)),
    }),
  }),
});

builder.subscriptionField('callCompleted', (t) =>
  t.field({
    type: CallCompletedEvent,
    description: 'Fires once for each call attempt newly stored as COMPLETED or ERROR, never for a duplicate delivery.',
    authScopes: { 'calls:read': true },
    args: { filter: t.arg({ type: CallCompletedFilter }) },
    subscribe: (_root, args, { events, transport }) =>
      events.subscribeCallCompleted({
        wanted: (event) => matches(event, args.filter),
        transport: transport.name,
        onOverflow: transport.cutOff,
      }),
    resolve: (event) => event,
  }),
);
