/**
 * Subscription hubs: clients that subscribe to the same operation share one execution per event.
 *
 * A hub is keyed by everything that can change an event's result (see `hubKey`). The first subscriber starts it, the
 * last one to leave tears it down. The hub's one execution takes its events from one stream of the bus (so an event
 * is matched against the operation's filter once per hub), and each result is serialised once: every member gets the
 * same JSON, which its transport wraps in its own frame. Backpressure stays per member: each has its own bounded
 * queue (EventBus.openSubscriber) and is cut off alone when it falls behind.
 *
 * The hub's execution gets one context, made when the hub starts and shared by its events: nothing in it belongs to
 * one member (no request, no socket, no key; the scopes are part of the key). Only graphql-ws subscribers use hubs.
 * Server-Sent Events streams stay one execution each: Yoga writes their responses and serialises their results, they
 * are capped at SSE_MAX_CONNECTIONS, and streams selecting the same fields still share their loads (callCompleted.ts).
 */
import { describeError, type Logger } from '../log.ts';
import type { CallEventSource, EventBus } from './eventBus.ts';

/** What makes two subscriptions' results equal, event for event. */
export interface HubOperation {
  document: string;
  operationName?: string | null;
  variables?: Readonly<Record<string, unknown>> | null;
  /** The caller's scopes: field access (transcripts:read...) depends on them. */
  scopes: Iterable<string>;
}

/** Equal operations get equal keys, whatever the order of their variables' keys or scopes. */
export function hubKey({ document, operationName, variables, scopes }: HubOperation): string {
  return JSON.stringify([document, operationName ?? null, sortedKeys(variables ?? {}), [...scopes].sort()]);
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
  );
}

export interface HubMember {
  /** For the counts by transport and the log line when the member is cut off. */
  transport: string;
  /** Writes one result, already serialised as JSON, to the member's client; resolves once written. */
  send(resultJson: string): Promise<void>;
  /** Tells the client it was cut off for falling behind (e.g. closes its WebSocket with 4008). */
  cutOff(): void;
}

/** What a hub gives the execution it starts. */
export interface HubExecution {
  /** The hub's own stream of events, for the execution's context: not counted as a subscriber. */
  events: CallEventSource;
  /** Cuts off every member: the execution itself fell too far behind. */
  cutOff(): void;
}

/**
 * Starts a hub's execution: resolves with its stream of results, one per event, or with the one result that refuses
 * the operation (an error such as a missing scope), which every subscriber who asked receives.
 */
export type StartExecution = (hub: HubExecution) => Promise<AsyncIterable<unknown> | unknown>;

type HubBus = Pick<EventBus, 'subscribeCallCompleted' | 'openSubscriber' | 'eventSent'>;

export function createSubscriptionHubs(bus: HubBus, logger: Logger) {
  const hubs = new Map<string, ReturnType<typeof openHub>>();
  let executions = 0;

  function openHub(key: string, start: StartExecution) {
    /** Each member, by the function that makes it leave: how to queue a result for it, and how to cut it off. */
    const members = new Map<() => void, { push(resultJson: string): void; cutOff(): void }>();
    let results: AsyncIterator<unknown> | undefined;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      if (hubs.get(key) === hub) hubs.delete(key);
      void results?.return?.();
      for (const leave of [...members.keys()]) leave();
    };
    const fanOut = async (stream: AsyncIterator<unknown>) => {
      try {
        for (let next = await stream.next(); !next.done; next = await stream.next()) {
          executions += 1;
          const resultJson = JSON.stringify(next.value);
          for (const { push } of members.values()) push(resultJson);
          // The hub's event is handed on: each member's copy is now in flight on its own.
          bus.eventSent();
        }
      } catch (error) {
        logger.error('events.hub_failed', { error: describeError(error) });
      }
      close();
    };
    const events: CallEventSource = {
      subscribeCallCompleted: (options) => bus.subscribeCallCompleted({ ...options, hub: true }),
      eventSent: bus.eventSent,
    };
    const cutOffEveryMember = () => {
      for (const { cutOff } of [...members.values()]) cutOff();
    };
    const started: Promise<{ refused: false } | { refused: true; result: unknown }> = start({ events, cutOff: cutOffEveryMember }).then(
      (outcome) => {
        if (!isAsyncIterable(outcome)) {
          close();
          return { refused: true, result: outcome };
        }
        results = outcome[Symbol.asyncIterator]();
        // Everyone may have left while it started.
        if (members.size === 0) close();
        else void fanOut(results);
        return { refused: false };
      },
      (error: unknown) => {
        close();
        throw error;
      },
    );

    const hub = {
      started,
      /** Adds a member: returns how it leaves, and a promise settled once it has. */
      add(member: HubMember) {
        let markLeft: () => void = () => {};
        const left = new Promise<void>((resolve) => (markLeft = resolve));
        const cutOff = () => {
          leave();
          member.cutOff();
        };
        const queue = bus.openSubscriber<string>({ transport: member.transport, onOverflow: cutOff });
        const leave = () => {
          if (!members.delete(leave)) return;
          void queue.return?.();
          markLeft();
          if (members.size === 0) close();
        };
        members.set(leave, { push: (resultJson) => queue.push(resultJson), cutOff });
        void (async () => {
          for await (const resultJson of queue) {
            try {
              await member.send(resultJson);
            } catch {
              leave();
            } finally {
              bus.eventSent();
            }
          }
        })();
        return { leave, left };
      },
    };
    return hub;
  }

  return {
    /**
     * Adds `member` to the hub of `key`, starting that hub's execution with `start` if there is none. Resolves with
     * the member's subscription, an iterator that yields nothing (the hub writes to the member) and is done once the
     * member has left or been cut off; its `return()` makes the member leave. Or resolves with the result that
     * refused the operation.
     */
    async join(key: string, start: StartExecution, member: HubMember): Promise<AsyncIterableIterator<never> | unknown> {
      let hub = hubs.get(key);
      if (!hub) hubs.set(key, (hub = openHub(key, start)));
      const { leave, left } = hub.add(member);
      const outcome = await hub.started;
      if (outcome.refused) {
        leave();
        return outcome.result;
      }
      const subscription: AsyncIterableIterator<never> = {
        next: () => left.then(() => ({ done: true, value: undefined })),
        return: () => {
          leave();
          return Promise.resolve({ done: true, value: undefined });
        },
        [Symbol.asyncIterator]: () => subscription,
      };
      return subscription;
    },
    /** Hubs running now, and results executed since start (one per event per hub, however many members). */
    stats: () => ({ hubs: hubs.size, executions }),
  };
}

export type SubscriptionHubs = ReturnType<typeof createSubscriptionHubs>;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
