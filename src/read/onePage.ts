/**
 * A page of rows in one SQL statement, shaped as Prisma would return them. PostgreSQL builds the JSON: each row
 * selects only the columns asked for, and its relations come from correlated subqueries (the latest attempt is
 * limited to one row before its transcript is aggregated). Prisma's own paging rules are kept to the letter
 * (`take` negative to page backwards, `skip`, a cursor row that must exist), so a page read here is the page
 * `findMany` would read.
 *
 * Every table, column and alias in the statement comes from the constants below; request values travel as
 * parameters only. The orders of the relations are written in Prisma's terms and exported: the GraphQL types ask
 * Prisma for the same relations in the same order.
 */
import { getDatamodel } from '../db/generated/pothos-types.ts';
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import { runStatement } from '../db/statements.ts';

export type ModelName = 'CallOrder' | 'CallAttempt' | 'TranscriptMessage';
export type RelationName = 'lastAttempt' | 'transcript' | 'callOrder';

/** What to read of each row: model fields (Prisma's names), and relations with what to read of theirs. */
export interface RowShape {
  fields: string[];
  relations: Partial<Record<RelationName, RowShape>>;
}

interface Model {
  table: string;
  fields: ReadonlySet<string>;
  /** Fields PostgreSQL's JSON gives as text that Prisma gives as a Date. */
  dates: ReadonlySet<string>;
  relations: Partial<Record<RelationName, Relation>>;
}

interface Relation {
  model: ModelName;
  /** Where Prisma puts the related rows in the parent row. */
  key: string;
  /** The parent field the join reads. */
  parentField: string;
  childField: string;
  kind: 'list' | 'one';
  /** The order of a list. */
  order?: readonly FieldOrder[];
  limit?: number;
}

/**
 * One field of an order, in Prisma's terms: `{ id: 'desc' }`, `{ startedAt: { sort: 'desc', nulls: 'first' } }`.
 * Partial, as TypeScript sees a list of such objects as objects whose other keys are undefined.
 */
type FieldOrder = Partial<Record<string, Prisma.SortOrder | { sort: Prisma.SortOrder; nulls?: Prisma.NullsOrder }>>;

/** Most recent first; attempts not started yet (null) come first, as they are the newest. */
export const ATTEMPTS_MOST_RECENT_FIRST = [
  { startedAt: { sort: 'desc', nulls: 'first' } },
  { id: 'desc' },
] satisfies Prisma.CallAttemptOrderByWithRelationInput[];

/** A transcript's turns as they were spoken. */
export const TURNS_IN_ORDER = [{ position: 'asc' }] satisfies Prisma.TranscriptMessageOrderByWithRelationInput[];

const { models } = getDatamodel().datamodel;

/** The model's DateTime fields, which PostgreSQL's JSON gives as text. */
function dateFields(model: ModelName): ReadonlySet<string> {
  return new Set(models[model]!.fields.filter((field) => field.type === 'DateTime').map((field) => field.name));
}

const MODELS: Record<ModelName, Model> = {
  CallOrder: {
    table: 'call_orders',
    fields: new Set(Object.values(Prisma.CallOrderScalarFieldEnum)),
    dates: dateFields('CallOrder'),
    relations: {
      lastAttempt: {
        model: 'CallAttempt',
        key: 'attempts',
        parentField: 'id',
        childField: 'callOrderId',
        kind: 'list',
        order: ATTEMPTS_MOST_RECENT_FIRST,
        limit: 1,
      },
    },
  },
  CallAttempt: {
    table: 'call_attempts',
    fields: new Set(Object.values(Prisma.CallAttemptScalarFieldEnum)),
    dates: dateFields('CallAttempt'),
    relations: {
      transcript: {
        model: 'TranscriptMessage',
        key: 'transcript',
        parentField: 'id',
        childField: 'callAttemptId',
        kind: 'list',
        order: TURNS_IN_ORDER,
      },
      callOrder: { model: 'CallOrder', key: 'callOrder', parentField: 'callOrderId', childField: 'id', kind: 'one' },
    },
  },
  TranscriptMessage: {
    table: 'transcript_messages',
    fields: new Set(Object.values(Prisma.TranscriptMessageScalarFieldEnum)),
    dates: dateFields('TranscriptMessage'),
    relations: {},
  },
};

/** The column of a field: every @map in the schema is the field's name in snake case. */
function columnOf(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Whether `shape` names only fields and relations `model` has (anything else is read the Prisma way). */
export function isReadable(model: ModelName, shape: RowShape): boolean {
  const { fields, relations } = MODELS[model];
  return (
    shape.fields.every((field) => fields.has(field)) &&
    Object.entries(shape.relations).every(([name, nested]) => {
      const relation = relations[name as RelationName];
      return relation !== undefined && isReadable(relation.model, nested);
    })
  );
}

/** The fields a row must carry: those asked for, and what its relations join on. */
function neededFields(model: ModelName, shape: RowShape): string[] {
  const needed = new Set(shape.fields);
  for (const name of Object.keys(shape.relations)) needed.add(MODELS[model].relations[name as RelationName]!.parentField);
  return [...needed];
}

function rowJson(model: ModelName, shape: RowShape, alias: string, depth: number): string {
  const pairs = neededFields(model, shape).map((field) => `'${field}', ${alias}.${columnOf(field)}`);
  for (const [name, nested] of Object.entries(shape.relations)) {
    const relation = MODELS[model].relations[name as RelationName]!;
    pairs.push(`'${relation.key}', ${relationJson(relation, nested, alias, depth + 1)}`);
  }
  return `json_build_object(${pairs.join(', ')})`;
}

function relationJson(relation: Relation, shape: RowShape, parentAlias: string, depth: number): string {
  const alias = `r${depth}`;
  const { table } = MODELS[relation.model];
  const join = `${alias}.${columnOf(relation.childField)} = ${parentAlias}.${columnOf(relation.parentField)}`;
  const row = rowJson(relation.model, shape, alias, depth);
  if (relation.kind === 'one') return `(SELECT ${row} FROM ${table} ${alias} WHERE ${join})`;
  const orderBy = relation.order ?? [{ id: 'asc' }];
  const order = sqlOrder(orderBy, alias);
  if (relation.limit === undefined) {
    return `coalesce((SELECT json_agg(${row} ORDER BY ${order}) FROM ${table} ${alias} WHERE ${join}), '[]'::json)`;
  }
  // Limited first, in a subquery of its own, so that only the rows kept are turned into JSON with their relations.
  const fields = new Set([...neededFields(relation.model, shape), ...orderBy.flatMap((entry) => Object.keys(entry))]);
  const columns = [...fields].map((field) => `${alias}.${columnOf(field)}`);
  return (
    `coalesce((SELECT json_agg(${row} ORDER BY ${order}) FROM ` +
    `(SELECT ${columns.join(', ')} FROM ${table} ${alias} WHERE ${join} ORDER BY ${order} LIMIT ${relation.limit}) ${alias}), '[]'::json)`
  );
}

/** An order in Prisma's terms as SQL on `alias`'s columns: `r1.started_at DESC NULLS FIRST, r1.id DESC`. */
function sqlOrder(order: readonly FieldOrder[], alias: string): string {
  const terms = order.flatMap((entry) =>
    Object.entries(entry).flatMap(([field, how]) => {
      if (how === undefined) return [];
      const { sort, nulls } = typeof how === 'string' ? { sort: how, nulls: undefined } : how;
      return [`${alias}.${columnOf(field)} ${sort.toUpperCase()}${nulls ? ` NULLS ${nulls.toUpperCase()}` : ''}`];
    }),
  );
  return terms.join(', ');
}

/** A page in Prisma's terms: `take` rows (negative: backwards, ending before the cursor), after skipping `skip`. */
export interface PageWindow {
  take: number;
  skip: number;
  /** The id of the row the page starts from (included, unless skipped). */
  cursor?: string;
}

/** The page as Pothos hands it to Prisma, beside the selection. */
export interface PrismaPageQuery {
  take: number;
  skip: number;
  /** Pothos's cursors are ids. */
  cursor?: { id?: string };
}

export function pageWindow({ take, skip, cursor }: PrismaPageQuery): PageWindow {
  return { take, skip, ...(cursor?.id === undefined ? {} : { cursor: cursor.id }) };
}

/** One key of a page's order: a value of the row under an alias (a column, or an expression such as a rank). */
export interface SortKey {
  value: (alias: string) => Prisma.Sql;
  /** Whether the value may be NULL, which sorts as the largest value (PostgreSQL's default order). */
  nullable: boolean;
}

/** A column of the model's table as a sort key. */
export function fieldKey(field: string, nullable: boolean): SortKey {
  return { value: (alias) => Prisma.raw(`${alias}.${columnOf(field)}`), nullable };
}

export interface PageRequest {
  model: 'CallOrder' | 'CallAttempt';
  shape: RowShape;
  /** The filter, as a condition on the model's table under the alias `alias`. */
  alias: string;
  where: Prisma.Sql;
  /** The order: its keys, then the id, all the same way. */
  sort: { keys: SortKey[]; direction: 'asc' | 'desc' };
  window: PageWindow;
}

/**
 * The rows of the page, in the requested order, shaped as `findMany` with the same selection returns them: `Row`
 * is the model's type, of which a row holds the fields and relations of its shape, as with a Prisma `select`.
 */
export async function readPage<Row>(prisma: PrismaClient, request: PageRequest): Promise<Row[]> {
  const [row] = await runStatement<{ rows: Record<string, unknown>[] }>(prisma, pageStatement(request));
  const rows = row?.rows ?? [];
  for (const record of rows) reviveDates(request.model, request.shape, record);
  return rows as Row[];
}

export function pageStatement({ model, shape: asked, alias, where, sort, window }: PageRequest): Prisma.Sql {
  const { table } = MODELS[model];
  // Cursors are made of the id.
  const shape = { ...asked, fields: [...new Set([...asked.fields, 'id'])] };
  const backwards = window.take < 0;
  const walk = (sort.direction === 'asc') !== backwards ? 'ASC' : 'DESC';
  const direction = sort.direction.toUpperCase();
  const columns = neededFields(model, shape).map((field) => Prisma.raw(`${alias}.${columnOf(field)}`));
  // Each key is selected as sort_<n>, for the outer statement to keep the page's order.
  const keys = sort.keys.map((key, n) => Prisma.sql`${key.value(alias)} AS ${Prisma.raw(`sort_${n}`)}`);
  const order = (way: string, keyAlias: string | null) =>
    Prisma.raw(
      [...sort.keys.map((_key, n) => `${keyAlias === null ? '' : `${keyAlias}.`}sort_${n} ${way}`), `${keyAlias ?? alias}.id ${way}`].join(
        ', ',
      ),
    );
  const select = (condition: Prisma.Sql | null, limit: number, offset: number) => Prisma.sql`
    SELECT ${Prisma.join([...columns, ...keys])} FROM ${Prisma.raw(`${table} ${alias}`)}
    WHERE ${where}${condition ? Prisma.sql` AND ${condition}` : Prisma.empty}
    ORDER BY ${order(walk, null)}
    LIMIT ${limit} OFFSET ${offset}`;
  const take = Math.abs(window.take);
  const alternatives = window.cursor === undefined ? [null] : cursorConditions(table, alias, sort.keys, walk, window.cursor);
  // Several alternatives exclude each other (only one of them selects anything): each is read in its own order, and
  // the page is cut from their union.
  const page =
    alternatives.length === 1
      ? select(alternatives[0]!, take, window.skip)
      : Prisma.sql`
    SELECT * FROM (${Prisma.join(
      alternatives.map((condition) => Prisma.sql`(${select(condition, take + window.skip, 0)})`),
      ' UNION ALL ',
    )}) u
    ORDER BY ${order(walk, 'u')}
    LIMIT ${take} OFFSET ${window.skip}`;
  return Prisma.sql`
    SELECT coalesce(json_agg(${Prisma.raw(rowJson(model, shape, 'p', 0))} ORDER BY ${order(direction, 'p')}), '[]'::json) AS rows
    FROM (${page}) p`;
}

/**
 * The rows from the cursor row on, walking `walk`: a row whose keys come after the cursor row's, or equal them with
 * an id not before the cursor's. NULL sorts as the largest value, as in PostgreSQL's default order. The cursor row's
 * values are read once each (InitPlans); a cursor row that does not exist (any more) selects nothing, as with Prisma.
 *
 * A row comparison says it in a form the (value, id) indexes serve directly, so that page 100 costs what page 1 does;
 * it is exact over keys without nulls, and walking down from a cursor row without nulls (a NULL key comes first
 * walking down, so the comparison's NULL leaves out exactly the rows before the cursor). Otherwise the condition
 * spells out where NULLs go, which no index range serves. Walking down over nullable keys, both are given, each
 * guarded by whether the cursor row has a NULL key: PostgreSQL checks such a guard once (a one-time filter), so only
 * the alternative that applies is read.
 */
function cursorConditions(table: string, alias: string, keys: SortKey[], walk: 'ASC' | 'DESC', cursor: string): Prisma.Sql[] {
  const cursorRow = (value: Prisma.Sql) => Prisma.sql`(SELECT ${value} FROM ${Prisma.raw(table)} c WHERE c.id = ${cursor}::uuid)`;
  const cursorExists = Prisma.sql`EXISTS (SELECT 1 FROM ${Prisma.raw(table)} c WHERE c.id = ${cursor}::uuid)`;
  const id = Prisma.raw(`${alias}.id`);
  const [past, notBefore] = walk === 'ASC' ? [Prisma.raw('>'), Prisma.raw('>=')] : [Prisma.raw('<'), Prisma.raw('<=')];
  const values = Prisma.join([...keys.map((key) => key.value(alias)), id]);
  const cursorValues = Prisma.join([...keys.map((key) => cursorRow(key.value('c'))), Prisma.sql`${cursor}::uuid`]);
  const rowComparison = Prisma.sql`${cursorExists} AND (${values}) ${notBefore} (${cursorValues})`;
  const nullable = keys.filter((key) => key.nullable);
  if (nullable.length === 0) return [rowComparison];
  // From the last key back: past the cursor's on this key, or level with it and not before it on the next ones.
  const fromKey = keys.reduceRight<Prisma.Sql>((rest, key) => {
    const value = key.value(alias);
    const cursorValue = cursorRow(key.value('c'));
    if (!key.nullable) return Prisma.sql`(${value} ${past} ${cursorValue} OR (${value} = ${cursorValue} AND ${rest}))`;
    // A NULL is past every value walking up, and every value is past a NULL walking down.
    const nullPast =
      walk === 'ASC'
        ? Prisma.sql`${value} IS NULL AND ${cursorValue} IS NOT NULL`
        : Prisma.sql`${value} IS NOT NULL AND ${cursorValue} IS NULL`;
    return Prisma.sql`(${value} ${past} ${cursorValue} OR (${nullPast})
    OR (${value} IS NOT DISTINCT FROM ${cursorValue} AND ${rest}))`;
  }, Prisma.sql`${id} ${notBefore} ${cursor}::uuid`);
  const spelledOut = Prisma.sql`${cursorExists} AND ${fromKey}`;
  if (walk === 'ASC') return [spelledOut];
  const withoutNulls = Prisma.join(
    nullable.map((key) => Prisma.sql`${cursorRow(key.value('c'))} IS NOT NULL`),
    ' AND ',
  );
  return [Prisma.sql`(${withoutNulls}) AND ${rowComparison}`, Prisma.sql`NOT (${withoutNulls}) AND ${spelledOut}`];
}

/** PostgreSQL's JSON gives timestamps as text; Prisma gives Dates. */
function reviveDates(model: ModelName, shape: RowShape, record: Record<string, unknown>) {
  const { dates, relations } = MODELS[model];
  for (const field of shape.fields) {
    const value = record[field];
    if (dates.has(field) && typeof value === 'string') record[field] = new Date(value);
  }
  for (const [name, nested] of Object.entries(shape.relations)) {
    const relation = relations[name as RelationName]!;
    const related = record[relation.key];
    const list = Array.isArray(related) ? related : related ? [related] : [];
    for (const child of list) reviveDates(relation.model, nested, child as Record<string, unknown>);
  }
}
