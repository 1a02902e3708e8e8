/**
 * `useUnsupportedMediaType`: a POST whose Content-Type Yoga cannot read gets a GraphQL error body with its 415, like
 * every other refusal at /graphql; Yoga's own 415 has no body at all.
 */
import { createGraphQLError, type Plugin } from 'graphql-yoga';

export function useUnsupportedMediaType(): Plugin {
  return {
    onRequestParse({ request, requestParser }) {
      // Other methods are Yoga's to refuse (405).
      if (requestParser || request.method !== 'POST') return;
      const got = JSON.stringify((request.headers.get('content-type') ?? 'none').slice(0, 100));
      throw createGraphQLError(`Content-Type must be application/json, got ${got}`, {
        extensions: { code: 'UNSUPPORTED_MEDIA_TYPE', http: { status: 415 } },
      });
    },
  };
}
