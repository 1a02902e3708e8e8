/** Limits on what one GraphQL operation may ask for and receive, as one Yoga plugin. */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { Plugin } from 'graphql-yoga';
import { useCostLimit } from './cost.ts';
import { useRequestDatabaseWork } from './databaseWork.ts';
import { ASSUMED_LIST_SIZE, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, OPERATION_LIMITS } from './limits.ts';
import { useResponseSizeLimit } from './responseSize.ts';

export {
  databaseWork,
  firstTooLong,
  listSize,
  maxLength,
  measureOperation,
  useCostLimit,
  type CostLimitOptions,
  type CostModel,
  type ListSize,
  type OperationMeasure,
} from './cost.ts';
export * from './limits.ts';
export { useRequestDatabaseWork } from './databaseWork.ts';
export { useRequestBodyLimit } from './requestBody.ts';
export { useResponseSizeLimit, type ResponseSizeLimitOptions } from './responseSize.ts';

/**
 * The limits of OPERATION_LIMITS, applied to every operation over every transport: parse and validation limits
 * (tokens, depth, aliases, directives; no field suggestions to someone probing the schema), then page sizes and the
 * cost limit before execution, the bounds on a query's database work during it, then the size cap on each result
 * and subscription event.
 */
export function useOperationLimits(): Plugin {
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(
        EnvelopArmorPlugin({
          maxTokens: { n: OPERATION_LIMITS.maxTokens },
          maxDepth: { n: OPERATION_LIMITS.maxDepth, ignoreIntrospection: true },
          maxAliases: { n: OPERATION_LIMITS.maxAliases },
          maxDirectives: { n: OPERATION_LIMITS.maxDirectives },
          // Armor's cost does not multiply by list sizes; useCostLimit below does.
          costLimit: { enabled: false },
          blockFieldSuggestion: { enabled: true },
        }),
      );
      addPlugin(
        useCostLimit({
          maxCost: OPERATION_LIMITS.maxCost,
          defaultPageSize: DEFAULT_PAGE_SIZE,
          maxPageSize: MAX_PAGE_SIZE,
          assumedListSize: ASSUMED_LIST_SIZE,
        }),
      );
      addPlugin(useRequestDatabaseWork());
      addPlugin(useResponseSizeLimit({ maxBytes: OPERATION_LIMITS.maxResponseBytes }));
    },
  };
}
