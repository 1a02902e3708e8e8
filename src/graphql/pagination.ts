import { GraphQLError } from 'graphql';
import { MAX_PAGE_SIZE } from '../limits/limits.ts';

/** Page sizes for every connection, set with the other limits: a default, and a maximum that is an error, not a cut. */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../limits/limits.ts';

export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const size = args[name];
    if (size !== null && size !== undefined && (size < 0 || size > MAX_PAGE_SIZE)) {
      throw new GraphQLError(`${name} must be between 0 and ${MAX_PAGE_SIZE}, got ${size}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
  }
}
