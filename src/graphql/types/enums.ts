/**
 * Revox's enum-like values, stored as sent. Each GraphQL enum lists the values this code knows plus OTHER, so a
 * value from a newer Revox never fails a query; the `...Raw` field next to each enum field shows the value itself.
 */
import type { FieldRef } from '@pothos/core';
import type { RawValueSelection } from '../../read/filter.ts';
import { builder } from '../builder.ts';
import { reads } from '../readShape.ts';

/** A GraphQL enum over raw Revox values: `members` maps each GraphQL name to the value Revox sends. */
export function revoxEnum<const Members extends Record<string, string>>(name: string, description: string, members: Members) {
  type Value = keyof Members | 'OTHER';
  const byRaw = new Map(Object.entries(members).map(([member, raw]) => [raw, member as Value]));
  const ref = builder.enumType(name, {
    description,
    values: Object.fromEntries([
      ...Object.entries(members).map(([member, raw]) => [member, { value: member, description: `Revox: \`${raw}\`` }]),
      ['OTHER', { value: 'OTHER', description: 'A value this version of Callboard does not know yet; see the matching `...Raw` field.' }],
    ]) as Record<Value & string, { value: Value & string; description: string }>,
  });
  const knownRaw = Object.values(members);
  return {
    ref,
    /** The GraphQL value for a stored raw value. */
    fromRaw: (raw: string): Value & string => (byRaw.get(raw) ?? 'OTHER') as Value & string,
    /** What a filter on these GraphQL values matches: known raw values, and with OTHER any value not listed. */
    selection: (values: readonly string[]): RawValueSelection => ({
      known: values.filter((v) => v !== 'OTHER').map((v) => members[v as keyof Members] as string),
      other: values.includes('OTHER'),
      allKnown: knownRaw,
    }),
  };
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** Options of a pair over a field that may be null: both fields are nullable. */
type PairOptions<Value> = null extends Value
  ? [options: { nullable: true; rawDescription?: string }]
  : [options?: { nullable?: false; rawDescription?: string }];

/**
 * The two GraphQL fields over one stored Revox value: `field`, the enum (OTHER for a value this code does not know),
 * and `fieldRaw`, the value as sent. Spread into a type's fields.
 */
export function revoxEnumFields<Field extends string, Shape extends { [Key in Field]: string | null }>(
  t: Pick<PothosSchemaTypes.RootFieldBuilder<Types, Shape, 'PrismaObject'>, 'field' | 'string'>,
  field: Field,
  values: Pick<ReturnType<typeof revoxEnum>, 'ref' | 'fromRaw'>,
  ...[options]: PairOptions<Shape[Field]>
) {
  // Typed as nullable, as the resolvers return null where the value is; PairOptions makes the schema say so then.
  const nullable = (options?.nullable ?? false) as true;
  const raw = (parent: Shape) => parent[field];
  const enumField = t.field({
    type: values.ref,
    nullable,
    extensions: reads(field),
    resolve: (parent) => {
      const value = raw(parent);
      return value === null ? null : values.fromRaw(value);
    },
  });
  const rawField = t.string({ nullable, description: options?.rawDescription, extensions: reads(field), resolve: raw });
  return { [field]: enumField, [`${field}Raw`]: rawField } as Record<Field | `${Field}Raw`, FieldRef<Types, unknown, 'PrismaObject'>>;
}

export const CallDirection = revoxEnum('CallDirection', 'Who placed the call.', { INBOUND: 'inbound', OUTBOUND: 'outbound' });

export const CallOrderStatus = revoxEnum('CallOrderStatus', 'Where a call order stands.', {
  INITIALIZING: 'initializing',
  QUEUED_FOR_CALLING: 'queued_for_calling',
  CALLING: 'calling',
  SCHEDULED: 'scheduled',
  COMPLETED: 'completed',
  CANCELLED: 'cancelled',
  ERRORED: 'errored',
});

export const CallOrderOutcome = revoxEnum('CallOrderOutcome', 'What a call order achieved.', {
  NOT_INTERESTED: 'not_interested',
  INTERESTED: 'interested',
  COMPLETED: 'completed',
  REQUESTED_CALLBACK_LATER: 'requested_callback_later',
  NONE: 'none',
});

export const CallAttemptStatus = revoxEnum('CallAttemptStatus', 'Where a call attempt stands; COMPLETED and ERROR are final.', {
  QUEUED: 'queued',
  RINGING: 'ringing',
  ONGOING: 'ongoing',
  COMPLETED: 'completed',
  ERROR: 'error',
});

export const CallResult = revoxEnum('CallResult', 'Who or what answered the call.', {
  IVR: 'IVR',
  VOICEMAIL: 'voicemail',
  HUMAN: 'human',
  UNKNOWN: 'unknown',
  IOS_SCREENING_FILTER: 'ios-screening-filter',
});

export const DialError = revoxEnum('DialError', 'Why a call could not be placed.', {
  NUMBER_NON_ATTRIBUTED: 'number_non_attributed',
  TOO_MANY_CALLS: 'too_many_calls',
  BUSY: 'busy',
  TEMPORARILY_UNAVAILABLE: 'temporarily_unavailable',
  NO_ANSWER: 'no_answer',
  NO_INTERNATIONAL_PERMISSION: 'no_international_permission',
  PRECONDITION_FAILED: 'precondition_failed',
  NON_CLASSIFIED_ERROR: 'non_classified_error',
});

export const CallEndedBy = revoxEnum('CallEndedBy', 'Who hung up.', { AGENT: 'agent', USER: 'user', SYSTEM: 'system' });

export const TranscriptRole = revoxEnum('TranscriptRole', 'Who spoke a transcript turn.', {
  USER: 'user',
  ASSISTANT: 'assistant',
  TOOL: 'tool',
});
