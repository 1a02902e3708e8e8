/**
 * The Yoga plugin that runs each query's resolvers as one request's database work (src/db/requestWork.ts): a few
 * statements at a time, on the pool of API reads, cancelled when the client goes away. Mutations and subscriptions
 * are left out: mutations (erasure, keys) must not be cut short, and a subscription's events are resolved one by one,
 * long after the operation started.
 */
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { RequestWork, withRequestWork } from '../db/requestWork.ts';

export function useRequestDatabaseWork(): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      // Over HTTP, Yoga's request, whose signal aborts when the client disconnects; over WebSocket, none.
      const request = (args.contextValue as { request?: Request }).request;
      const work = new RequestWork(request?.signal ?? new AbortController().signal);
      setExecuteFn((executeArgs) => withRequestWork(work, () => executeFn(executeArgs)));
    },
  };
}
