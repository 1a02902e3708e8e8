/** A hard cap on the size of each response and of each subscription event, behind the cost limit. */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';

/** Yoga's ExecutionResultWithSerializer (not exported): Yoga writes such a result with its own `stringify`. */
type ExecutionResultWithSerializer = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

export interface ResponseSizeLimitOptions {
  /** Largest result, as UTF-8 JSON, that is sent; a larger one is replaced by an error. */
  maxBytes: number;
}

/**
 * Replaces any result larger than `maxBytes` with an error saying so: a query result over HTTP or graphql-ws, and
 * each event of a subscription, which stays open. The result is measured as the JSON it is sent as, written once by
 * native JSON.stringify (a walk in JavaScript cost more than executing the page query), and Yoga is handed that
 * string to send (its `stringify` hook), so a result is serialised once, not once here and again there.
 */
export function useResponseSizeLimit({ maxBytes }: ResponseSizeLimitOptions): Plugin {
  const refuseTooLarge = ({ result, setResult }: { result: unknown; setResult: (result: ExecutionResult) => void }) => {
    const json = JSON.stringify(result);
    if (Buffer.byteLength(json) > maxBytes) return setResult({ errors: [tooLargeError(maxBytes)] });
    // Yoga rewrites errors and drops internal extensions before it writes a result: only a plain one goes as measured.
    const { errors, extensions } = result as ExecutionResult;
    if (errors || extensions) return;
    const measured: ExecutionResultWithSerializer = { ...(result as ExecutionResult), stringify: () => json };
    setResult(measured);
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
