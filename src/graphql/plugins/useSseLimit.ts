/** `useSseLimit`: a cap on the Server-Sent Events streams open at once (WebSocket connections have their own cap). */
import { createGraphQLError, isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../builder.ts';

export interface SseLimitOptions {
  /** Streams allowed at once; a subscription past that is answered 503 with Retry-After. */
  maxStreams: number;
}

/** Counts a stream from the start of its subscription to its end (or to its failure to start). */
export function useSseLimit({ maxStreams }: SseLimitOptions): Plugin<Context> {
  let open = 0;
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      if (args.contextValue.transport.name !== 'sse') return;
      if (open >= maxStreams) {
        setResultAndStopExecution({
          errors: [
            createGraphQLError(`Too many event streams are open (${maxStreams}); try again later`, {
              extensions: { code: 'TOO_MANY_STREAMS', http: { status: 503, headers: { 'retry-after': '5' } } },
            }),
          ],
        });
        return;
      }
      open += 1;
      let closed = false;
      const release = () => {
        if (!closed) open -= 1;
        closed = true;
      };
      return {
        onSubscribeResult: ({ result }) => {
          if (!isAsyncIterable(result)) release();
          return { onEnd: release };
        },
        onSubscribeError: release,
      };
    },
  };
}
