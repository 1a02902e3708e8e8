/**
 * `useErrorLogging`: logs every error that Yoga masks as "Unexpected error." (a resolver's exception, a database
 * failure) as one JSON line with the request id: the client learns nothing, the operator everything but the stack,
 * which can hold SQL parameters. It sees results before the masking plugin, which Yoga runs after user plugins.
 */
import { GraphQLError } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { describeError, type Logger } from '../../log.ts';
import type { Context } from '../builder.ts';
import { isUserError } from '../userErrors.ts';

export interface ErrorLoggingOptions {
  /** Where each unexpected error goes, as `graphql.unexpected_error`. */
  logger: Logger;
}

export function useErrorLogging({ logger }: ErrorLoggingOptions): Plugin<Context> {
  const logUnexpected = (errors: readonly GraphQLError[] | undefined, context: Context) => {
    for (const error of errors ?? []) {
      const cause = error.originalError;
      if (!cause || cause instanceof GraphQLError || isUserError(cause)) continue;
      logger.error('graphql.unexpected_error', {
        requestId: context.requestId,
        transport: context.transport.name,
        path: error.path?.join('.'),
        error: describeError(cause),
      });
    }
  };
  const onDone = (context: Context) => (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
    handleStreamOrSingleExecutionResult(payload, ({ result }) => logUnexpected(result.errors, context));
  return {
    onExecute: ({ args }) => ({ onExecuteDone: onDone(args.contextValue) }),
    onSubscribe: ({ args }) => ({ onSubscribeResult: onDone(args.contextValue) }),
  };
}
