/**
 * From a connection's GraphQL selection to the shape of the rows it reads (src/read/onePage.ts), so that the hot
 * pages are read in one SQL statement. Each field says what it reads: an exposed field its model field (Pothos
 * records it), a computed one through `reads(...)`, a relation through `readsRelation(...)`. A selection holding
 * any field that says nothing, or a relation the one statement does not know, gets no shape and is read the Prisma
 * way; both give the same rows.
 */
import {
  getNamedType,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import { isReadable, type ModelName, type RelationName, type RowShape } from '../read/onePage.ts';

const READS = 'callboardReads';
const READS_RELATION = 'callboardReadsRelation';

/** Extensions of a computed field: the model fields its resolver reads. */
export function reads(...fields: string[]) {
  return { [READS]: fields };
}

/** Extensions of a relation field that the one statement can read. */
export function readsRelation(relation: RelationName) {
  return { [READS_RELATION]: relation };
}

/** The fields that are the selection of a connection, not of its nodes. */
const CONNECTION_FIELDS = new Set(['pageInfo', 'totalCount', '__typename']);
const EDGE_FIELDS = new Set(['cursor', '__typename']);

/** The shape of the nodes of the connection `info` resolves, or null when one statement cannot read them. */
export function connectionShape(info: GraphQLResolveInfo, model: ModelName): RowShape | null {
  const nodeType = info.schema.getType(model);
  if (!isObjectType(nodeType)) return null;
  const nodeSelections: SelectionSetNode[] = [];
  for (const connection of fieldsOf(
    info.fieldNodes.flatMap((node) => node.selectionSet ?? []),
    info,
  )) {
    const name = connection.name.value;
    if (name === 'nodes' && connection.selectionSet) nodeSelections.push(connection.selectionSet);
    else if (name === 'edges') {
      for (const edge of fieldsOf(connection.selectionSet ? [connection.selectionSet] : [], info)) {
        if (edge.name.value === 'node' && edge.selectionSet) nodeSelections.push(edge.selectionSet);
        else if (!EDGE_FIELDS.has(edge.name.value)) return null;
      }
    } else if (!CONNECTION_FIELDS.has(name)) return null;
  }
  const shape = shapeOf(nodeType, nodeSelections, info);
  return shape && isReadable(model, shape) ? shape : null;
}

function shapeOf(type: GraphQLObjectType, selections: SelectionSetNode[], info: GraphQLResolveInfo): RowShape | null {
  const fields = new Set<string>();
  const related = new Map<RelationName, { type: GraphQLObjectType; selections: SelectionSetNode[] }>();
  const definitions = type.getFields();
  for (const node of fieldsOf(selections, info)) {
    const name = node.name.value;
    if (name === '__typename') continue;
    const definition = definitions[name];
    if (!definition) return null;
    const extensions = definition.extensions as Record<string, unknown>;
    const relation = extensions[READS_RELATION] as RelationName | undefined;
    if (relation) {
      const target = getNamedType(definition.type);
      if (!isObjectType(target)) return null;
      const entry = related.get(relation) ?? { type: target, selections: [] };
      if (node.selectionSet) entry.selections.push(node.selectionSet);
      related.set(relation, entry);
    } else {
      const read = fieldReads(name, extensions);
      if (!read) return null;
      for (const field of read) fields.add(field);
    }
  }
  const relations: RowShape['relations'] = {};
  for (const [relation, { type: target, selections: nested }] of related) {
    const shape = shapeOf(target, nested, info);
    if (!shape) return null;
    relations[relation] = shape;
  }
  return { fields: [...fields], relations };
}

/** The model fields a field's resolver reads, or undefined when it does not say. */
function fieldReads(name: string, extensions: Record<string, unknown>): string[] | undefined {
  if (Array.isArray(extensions[READS])) return extensions[READS] as string[];
  // Pothos marks exposed fields with the model field they show.
  if (typeof extensions.pothosPrismaVariant === 'string') return [extensions.pothosPrismaVariant];
  // The global id of a Relay node (prismaNode's `id: { field: 'id' }`).
  if (name === 'id') return ['id'];
  return undefined;
}

/** The fields of selection sets, through fragments (directives are not evaluated: a skipped field is read anyway). */
function fieldsOf(selections: readonly SelectionSetNode[], info: GraphQLResolveInfo): FieldNode[] {
  const fields: FieldNode[] = [];
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) fields.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else {
        const fragment = info.fragments[selection.name.value];
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  for (const set of selections) visit(set);
  return fields;
}
