/**
 * A read the request asked for that cannot be answered as asked (src/read/readRequestError.ts) reaches the client
 * with its message and `BAD_USER_INPUT`, and is no unexpected error to log; everything else is masked as Yoga does.
 */
import { GraphQLError } from 'graphql';
import { maskError, type YogaServerOptions } from 'graphql-yoga';
import { ReadRequestError } from '../read/readRequestError.ts';

export function isUserError(error: unknown): boolean {
  return error instanceof ReadRequestError;
}

export const maskErrors: NonNullable<YogaServerOptions<object, object>['maskedErrors']> = {
  maskError: (error, message, isDev) => {
    const cause = error instanceof GraphQLError ? error.originalError : error;
    if (!isUserError(cause) || !(error instanceof GraphQLError)) return maskError(error, message, isDev);
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code: 'BAD_USER_INPUT' },
    });
  },
};
