/** A cap on the size of a GraphQL request body, checked before the body is parsed. */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Refuses a GraphQL request whose body is over `maxBytes` with 413.
 *
 * A body that declares its length is judged by that header alone: Node's HTTP parser never delivers more than
 * Content-Length bytes, and refuses a malformed length or one beside `chunked`, so counting again adds nothing. Yoga's
 * own `maxRequestBodySize` pipes every body through a counting stream, about 5% of a small query's CPU. Only a body
 * without a length (chunked) is counted here, as it arrives, and reading stops at the first byte over the cap.
 */
export function useRequestBodyLimit(maxBytes: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const declared = request.headers.get('content-length');
      if (declared !== null) {
        if (Number(declared) > maxBytes) throw tooLarge(maxBytes);
        return;
      }
      if (!requestParser || !request.body) return;
      setRequestParser(async (unmeasured) => {
        const body = await readAtMost(unmeasured.body!, maxBytes);
        const { method, headers, signal, url } = unmeasured;
        return requestParser(new fetchAPI.Request(url, { method, headers, signal, body }));
      });
    },
  };
}

/** The body as text (every GraphQL request body is: JSON, a document or a form), if it is at most `maxBytes`. */
async function readAtMost(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    length += read.value.byteLength;
    if (length > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks, length).toString('utf8');
}

function tooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(`Request body too large: the limit is ${maxBytes.toLocaleString('en-US')} bytes.`, {
    extensions: { code: 'REQUEST_ENTITY_TOO_LARGE', http: { status: 413 } },
  });
}
