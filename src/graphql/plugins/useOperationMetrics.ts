/**
 * `useOperationMetrics`: counts operations by type, name and result, and times queries and mutations; new names count
 * against their caller.
 */
import { getOperationAST, type ExecutionArgs } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Metrics } from '../../metrics.ts';
import type { Context } from '../builder.ts';

export interface OperationMetricsOptions {
  /** The registry that counts operations (graphqlOperation), and bounds the operation names each caller brings in. */
  metrics: Metrics;
}

type OperationArgs = Pick<ExecutionArgs, 'document' | 'operationName'> & { contextValue: Context };

export function useOperationMetrics({ metrics }: OperationMetricsOptions): Plugin<Context> {
  const describe = ({ document, operationName, contextValue }: OperationArgs) => {
    const operation = getOperationAST(document, operationName);
    return {
      type: operation?.operation ?? 'unknown',
      name: operation?.name?.value ?? operationName,
      caller: contextValue.principal?.name ?? 'nobody',
    };
  };
  return {
    onExecute({ args }) {
      const started = performance.now();
      const { type, name, caller } = describe(args);
      return {
        onExecuteDone({ result }) {
          const failed = 'errors' in result && (result.errors?.length ?? 0) > 0;
          metrics.graphqlOperation(type, name, caller, failed ? 'error' : 'ok', (performance.now() - started) / 1000);
        },
      };
    },
    onSubscribe({ args }) {
      const { type, name, caller } = describe(args);
      return {
        onSubscribeResult({ result }) {
          metrics.graphqlOperation(type, name, caller, isAsyncIterable(result) ? 'ok' : 'error');
        },
        onSubscribeError: () => metrics.graphqlOperation(type, name, caller, 'error'),
      };
    },
  };
}
