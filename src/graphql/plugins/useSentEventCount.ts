/**
 * `useSentEventCount`: tells the event bus (and the metrics) when a subscription result has been produced for its
 * subscriber. A subscription hub's result is not one subscriber's: the hub counts what it writes to each.
 */
import type { Plugin } from 'graphql-yoga';
import type { CallEventSource } from '../../events/eventBus.ts';
import type { Metrics } from '../../metrics.ts';
import type { Context } from '../builder.ts';
import type { GraphQLServerContext } from '../context.ts';

export interface SentEventCountOptions {
  /** The bus, which counts a subscriber's event as in flight until it is told the event was sent. */
  events: CallEventSource;
  /** Counts the events sent, by transport. */
  metrics: Metrics;
}

export function useSentEventCount({ events, metrics }: SentEventCountOptions): Plugin<Context> {
  return {
    onSubscribe: ({ args }) =>
      (args.contextValue as Context & GraphQLServerContext).subscriptionHub
        ? undefined
        : {
            onSubscribeResult: () => ({
              onNext: () => {
                events.eventSent();
                metrics.eventSent(args.contextValue.transport.name);
              },
            }),
          },
  };
}
