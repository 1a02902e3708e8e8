/**
 * A list-aware cost for GraphQL operations, and the Yoga plugin that refuses operations costing more than a maximum.
 *
 * The cost is an upper bound on the number of values a response can hold: every selected field counts 1, and what is
 * selected below a list counts once per item the list can hold. A connection's `nodes` and `edges` hold `first` (or
 * `last`) items, or the default page size when neither is given; a list field declares its size with `listSize`;
 * any other list is assumed to hold `assumedListSize` items. Fragments count where they are spread, as many times as
 * they are spread. A field whose resolver makes the database work more than its values show (an aggregate over many
 * rows, a lookup per id) declares that work with `databaseWork`, which counts like that many values each time the
 * field is resolved.
 *
 * The same pass refuses, whatever is selected under them, a `first` or `last` outside 0..maxPageSize on any
 * connection, and a string or list argument (or input field) longer than it declares with `maxLength`.
 */
import {
  getArgumentValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

const LIST_SIZE = 'listSize';
const DATABASE_WORK = 'databaseWork';
const MAX_LENGTH = 'maxLength';
const MEASURES_PER_DOCUMENT = 32;

/** A count for the cost model: a number, or computed from the field's arguments. */
export type ListSize = number | ((args: Record<string, unknown>) => number);

/** Field `extensions` declaring how many items a list field holds, for fields that are not connections. */
export function listSize(size: ListSize): { [LIST_SIZE]: ListSize } {
  return { [LIST_SIZE]: size };
}

/** Field `extensions` declaring, in values, the database work of resolving the field once, beyond its values. */
export function databaseWork(cost: ListSize): { [DATABASE_WORK]: ListSize } {
  return { [DATABASE_WORK]: cost };
}

/** Argument or input field `extensions`: the most characters (of a string) or items (of a list) it accepts. */
export function maxLength(length: number): { [MAX_LENGTH]: number } {
  return { [MAX_LENGTH]: length };
}

export interface CostModel {
  /** Items a connection holds when the query gives neither `first` nor `last`. */
  defaultPageSize: number;
  /** Largest `first`/`last` a connection accepts. */
  maxPageSize: number;
  /** Items assumed for a list field that is not a connection's and declares no `listSize`. */
  assumedListSize: number;
}

export interface CostLimitOptions extends CostModel {
  maxCost: number;
}

export interface OperationMeasure {
  cost: number;
  /** The first `first`/`last` outside 0..maxPageSize, or argument longer than its `maxLength`, as an error for the client. */
  inputError?: GraphQLError;
}

/**
 * The cost of the operation `operationName` selects in `document`, with the request's variables; undefined when
 * there is no such operation or the variables do not fit it (execution then reports the problem).
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
  model: CostModel,
): OperationMeasure | undefined {
  const operation = getOperationAST(document, operationName);
  const rootType = operation && schema.getRootType(operation.operation);
  if (!operation || !rootType) return undefined;
  const variables = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  if (variables.errors) return undefined;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  // A fragment spread many times is costed once per type and page size: a document that nests fragments cannot
  // make this computation exponential, though its cost is.
  const known = new Map<SelectionSetNode, Map<string, number>>();
  const inProgress = new Set<SelectionSetNode>();
  let inputError: GraphQLError | undefined;

  /** `pageSize`: the items of the connection this selection set belongs to, which its `nodes`/`edges` hold. */
  function selectionSetCost(selectionSet: SelectionSetNode, type: GraphQLNamedType, pageSize: number | undefined): number {
    const key = `${type.name} ${pageSize}`;
    const cached = known.get(selectionSet)?.get(key);
    if (cached !== undefined) return cached;
    // Validation refuses fragment cycles before execution; this only keeps an unvalidated document from looping.
    if (inProgress.has(selectionSet)) return Number.POSITIVE_INFINITY;
    inProgress.add(selectionSet);
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += fieldCost(selection, type, pageSize);
      } else {
        const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
        if (!fragment) continue;
        const condition = fragment.typeCondition && schema.getType(fragment.typeCondition.name.value);
        cost += selectionSetCost(fragment.selectionSet, condition ?? type, pageSize);
      }
    }
    inProgress.delete(selectionSet);
    if (!known.has(selectionSet)) known.set(selectionSet, new Map());
    known.get(selectionSet)!.set(key, cost);
    return cost;
  }

  function fieldCost(node: FieldNode, parentType: GraphQLNamedType, pageSize: number | undefined): number {
    const field = fieldDefinition(parentType, node.name.value);
    // __typename, or a field validation has refused.
    if (!field) return 1;
    const args = argumentValues(field, node);
    const tooLong = firstTooLong(field.args, args, '');
    if (tooLong) inputError ??= badInput(tooLong);
    const fieldType = getNullableType(field.type);
    const items = isListType(fieldType) ? listItems(field, args, pageSize) : 1;
    const itemCost = node.selectionSet ? selectionSetCost(node.selectionSet, getNamedType(fieldType), connectionPageSize(field, args)) : 0;
    const values = isListType(fieldType) && !node.selectionSet ? 1 + items : 1 + items * itemCost;
    return values + declaredCount(field, DATABASE_WORK, args);
  }

  /** Introspection's entry points are not among the query type's fields, and their lists count like any other. */
  function fieldDefinition(parentType: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
    if (parentType === schema.getQueryType() && name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (parentType === schema.getQueryType() && name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    return isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[name] : undefined;
  }

  function argumentValues(field: GraphQLField<unknown, unknown>, node: FieldNode): Record<string, unknown> {
    try {
      return getArgumentValues(field, node, variables.coerced);
    } catch {
      // Execution refuses these arguments too, and resolves nothing below the field.
      return {};
    }
  }

  function listItems(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>, pageSize: number | undefined): number {
    return field.extensions[LIST_SIZE] === undefined
      ? Math.max(0, pageSize ?? model.assumedListSize)
      : declaredCount(field, LIST_SIZE, args);
  }

  function declaredCount(field: GraphQLField<unknown, unknown>, extension: string, args: Record<string, unknown>): number {
    const declared = field.extensions[extension] as ListSize | undefined;
    const count = typeof declared === 'function' ? declared(args) : (declared ?? 0);
    // A negative count (a negative `first`) must not lower the cost of the rest of the operation.
    return Math.max(0, count);
  }

  /** The items a connection field returns; undefined for a field that is not a connection. */
  function connectionPageSize(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number | undefined {
    if (!field.args.some((arg) => arg.name === 'first' || arg.name === 'last')) return undefined;
    for (const name of ['first', 'last'] as const) {
      const size = args[name];
      if (typeof size === 'number' && (size < 0 || size > model.maxPageSize)) {
        inputError ??= badInput(`${name} must be between 0 and ${model.maxPageSize}, got ${size}`);
      }
    }
    const sizes = [args.first, args.last].filter((size): size is number => typeof size === 'number');
    return sizes.length > 0 ? Math.min(...sizes) : model.defaultPageSize;
  }

  const cost = selectionSetCost(operation.selectionSet, rootType, undefined);
  return inputError ? { cost, inputError } : { cost };
}

/**
 * Finds the first value longer than its input's `maxLength`, in arguments and, at any depth, in input objects, and
 * says what is wrong with it (named from `path`, e.g. `filter.`); undefined when every value fits. The export checks
 * its filter with it too, so that both accept the same values.
 */
export function firstTooLong(
  inputs: readonly (GraphQLArgument | GraphQLInputField)[],
  values: Record<string, unknown>,
  path: string,
): string | undefined {
  for (const input of inputs) {
    const value = values[input.name];
    if (value === undefined || value === null) continue;
    const name = `${path}${input.name}`;
    const max = input.extensions[MAX_LENGTH] as number | undefined;
    const length = typeof value === 'string' || Array.isArray(value) ? value.length : 0;
    if (max !== undefined && length > max) {
      const unit = typeof value === 'string' ? 'characters' : 'items';
      return `${name} may hold at most ${max} ${unit}, got ${length}`;
    }
    const type = getNamedType(input.type);
    if (!isInputObjectType(type)) continue;
    const fields = Object.values(type.getFields());
    for (const item of Array.isArray(value) ? value : [value]) {
      const tooLong = firstTooLong(fields, item as Record<string, unknown>, `${name}.`);
      if (tooLong) return tooLong;
    }
  }
  return undefined;
}

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { spec: true, status: 400 } } });
}

/**
 * Refuses an operation that costs more than `maxCost`, asks a connection for a page size out of range, or passes an
 * argument longer than its `maxLength`, before anything is resolved. It runs where Yoga executes and
 * subscribes, so with the request's variables and whatever the transport: HTTP, SSE and graphql-ws alike.
 */
export function useCostLimit(options: CostLimitOptions): Plugin {
  // Yoga hands the same document to every request with the same text (its parse cache), so a measure is kept with
  // the document, per operation name and variables: a dashboard's query is measured once, not once per request.
  const measured = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, OperationMeasure | undefined>>>();
  function measureOnce({ schema, document, operationName, variableValues }: ExecutionArgs): OperationMeasure | undefined {
    let byDocument = measured.get(schema);
    if (!byDocument) measured.set(schema, (byDocument = new WeakMap()));
    let byRequest = byDocument.get(document);
    if (!byRequest) byDocument.set(document, (byRequest = new Map()));
    const key = measureKey(operationName, variableValues);
    if (key !== undefined && byRequest.has(key)) return byRequest.get(key);
    const result = measureOperation(schema, document, operationName, variableValues, options);
    // A document sent with ever-new variables is measured each time rather than kept without bound; a refusal's
    // error is made anew for each request.
    if (key !== undefined && !result?.inputError && byRequest.size < MEASURES_PER_DOCUMENT) byRequest.set(key, result);
    return result;
  }
  function refuseExpensive({
    args,
    setResultAndStopExecution,
  }: {
    args: ExecutionArgs;
    setResultAndStopExecution: (result: ExecutionResult) => void;
  }) {
    const measure = measureOnce(args);
    if (measure?.inputError) setResultAndStopExecution({ errors: [measure.inputError] });
    else if (measure && measure.cost > options.maxCost) setResultAndStopExecution({ errors: [costError(measure.cost, options)] });
  }
  return { onExecute: refuseExpensive, onSubscribe: refuseExpensive };
}

/** The operation name and variables as text; undefined for variables nested too deep to serialise, never kept. */
function measureKey(operationName: string | null | undefined, variableValues: unknown): string | undefined {
  try {
    return `${operationName ?? ''} ${JSON.stringify(variableValues ?? {})}`;
  } catch {
    return undefined;
  }
}

function costError(cost: number, { maxCost, defaultPageSize }: CostLimitOptions): GraphQLError {
  const count = (n: number) => (Number.isFinite(n) ? n.toLocaleString('en-US') : 'more than can be counted');
  return new GraphQLError(
    `Operation too expensive: it may return ${count(cost)} values, over the maximum of ${count(maxCost)}. ` +
      `A list counts once per item it may hold (a connection holds first/last items, ${defaultPageSize} when neither is given), ` +
      'and statistics and node lookups count for the database work they cause. ' +
      'Ask for fewer items with first/last, fewer fields inside lists, fewer nested connections, or fewer statistics.',
    // The status GraphQL over HTTP requires when there is no data; Yoga does not send `http` to the client.
    { extensions: { code: 'OPERATION_TOO_EXPENSIVE', cost, maxCost, http: { spec: true, status: 400 } } },
  );
}
