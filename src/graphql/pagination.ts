import { GraphQLError } from 'graphql';

/** Page sizes for every connection: a sane default, and a hard maximum that is an error, not a silent cut. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const size = args[name];
    if (size !== null && size !== undefined && (size < 0 || size > MAX_PAGE_SIZE)) {
      throw new GraphQLError(`${name} must be between 0 and ${MAX_PAGE_SIZE}, got ${size}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
  }
}
