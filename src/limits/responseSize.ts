/** A hard cap on the size of each response and of each subscription event, behind the cost limit. */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';

export interface ResponseSizeLimitOptions {
  /** Largest result, as UTF-8 JSON, that is sent; a larger one is replaced by an error. */
  maxBytes: number;
}

/**
 * The size of `value` as UTF-8 JSON. One native JSON.stringify: a walk of the result in JavaScript cost more CPU than
 * executing the page query itself, and the cost limit already bounds how large a result can be built.
 */
export function jsonByteLength(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

/**
 * Replaces any result larger than `maxBytes` with an error saying so: a query result over HTTP or graphql-ws, and
 * each event of a subscription, which stays open.
 */
export function useResponseSizeLimit({ maxBytes }: ResponseSizeLimitOptions): Plugin {
  const refuseTooLarge = ({ result, setResult }: { result: unknown; setResult: (result: ExecutionResult) => void }) => {
    if (jsonByteLength(result) > maxBytes) setResult({ errors: [tooLargeError(maxBytes)] });
  };
  return {
    onExecute: () => ({ onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, refuseTooLarge) }),
    onSubscribe: () => ({ onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, refuseTooLarge) }),
  };
}

function tooLargeError(maxBytes: number): GraphQLError {
  return new GraphQLError(
    `Response too large: it is over the limit of ${maxBytes.toLocaleString('en-US')} bytes per response, so it was not sent. ` +
      'Ask for fewer items with first/last, or fewer fields.',
    { extensions: { code: 'RESPONSE_TOO_LARGE', maxBytes, http: { spec: true, status: 400 } } },
  );
}
