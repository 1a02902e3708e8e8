/** A hard cap on the size of each response and of each subscription event, behind the cost limit. */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';

export interface ResponseSizeLimitOptions {
  /** Largest result, as UTF-8 JSON, that is sent; a larger one is replaced by an error. */
  maxBytes: number;
}

/**
 * The size of `value` as UTF-8 JSON, counted until it passes `stopAbove`: then any number above it, so that measuring
 * a huge result costs no more than measuring one at the limit.
 */
export function jsonByteLength(value: unknown, stopAbove: number): number {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && bytes <= stopAbove) {
    const popped = stack.pop();
    // Errors (and any Date) are written as their toJSON() says.
    const item =
      typeof (popped as { toJSON?: unknown } | null)?.toJSON === 'function' ? (popped as { toJSON(): unknown }).toJSON() : popped;
    if (typeof item === 'string') {
      bytes += Buffer.byteLength(JSON.stringify(item));
    } else if (typeof item === 'number' || typeof item === 'boolean' || item === null) {
      bytes += JSON.stringify(item).length;
    } else if (Array.isArray(item)) {
      // Brackets and commas; an undefined or function item is written as null.
      bytes += 2 + Math.max(0, item.length - 1);
      for (const element of item) stack.push(element === undefined || typeof element === 'function' ? null : element);
    } else if (typeof item === 'object') {
      const entries = Object.entries(item).filter(([, v]) => v !== undefined && typeof v !== 'function');
      bytes += 2 + Math.max(0, entries.length - 1);
      for (const [key, v] of entries) {
        bytes += Buffer.byteLength(JSON.stringify(key)) + 1;
        stack.push(v);
      }
    }
  }
  return bytes;
}

/**
 * Replaces any result larger than `maxBytes` with an error saying so: a query result over HTTP or graphql-ws, and
 * each event of a subscription, which stays open.
 */
export function useResponseSizeLimit({ maxBytes }: ResponseSizeLimitOptions): Plugin {
  const refuseTooLarge = ({ result, setResult }: { result: unknown; setResult: (result: ExecutionResult) => void }) => {
    if (jsonByteLength(result, maxBytes) > maxBytes) setResult({ errors: [tooLargeError(maxBytes)] });
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
