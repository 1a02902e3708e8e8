/**
 * `useHttpSubscriptionStreams`: every HTTP subscription is an SSE stream. Over HTTP, Yoga serves a subscription's events
 * as Server-Sent Events for any Accept header that admits `text/event-stream` (none, any type, `text/*`, any case; GET
 * or POST), and answers 406 for the others. So every HTTP subscription is named an SSE stream when it starts, before
 * anything reads its transport: the stream limit, the key watch and the metrics count it whatever its headers. One
 * that Yoga answers 406 is ended, since nothing reads it.
 */
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../builder.ts';

export function useHttpSubscriptionStreams(): Plugin<Context> {
  return {
    onSubscribe({ args, extendContext }) {
      if (args.contextValue.transport.name === 'http') extendContext({ transport: { name: 'sse' } });
    },
    onResultProcess({ result, resultProcessor }) {
      // Yoga's own result processors ran before this hook: none chose to stream this result.
      if (!resultProcessor && isAsyncIterable(result)) void (result as AsyncIterableIterator<unknown>).return?.();
    },
  };
}
