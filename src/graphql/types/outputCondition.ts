/** Structured output in filters and statistics: the `OutputCondition` input and the `OutputValueCount` of `byOutput`. */
import {
  MAX_OUTPUT_CONDITIONS,
  MAX_OUTPUT_IN_VALUES,
  MAX_OUTPUT_KEY_LENGTH,
  MAX_OUTPUT_PATH_KEYS,
  MAX_OUTPUT_VALUE_BYTES,
  MAX_SEARCH_TEXT_LENGTH,
} from '../../limits/index.ts';
import type { OutputValueCount as ReadOutputValueCount } from '../../read/stats.ts';
import { builder } from '../builder.ts';

export const OUTPUT_PATH_DESCRIPTION =
  `Object keys walked from the top of structuredOutput, e.g. ["appointment", "confirmed"] (never into an array); ` +
  `at most ${MAX_OUTPUT_PATH_KEYS} keys of ${MAX_OUTPUT_KEY_LENGTH} characters.`;

export const OutputCondition = builder.inputType('OutputCondition', {
  description:
    "A condition on the JSON value at `path` in an attempt's structuredOutput: give exactly one operator. A missing " +
    'path, a JSON null and an attempt without structured output are alike: `equals: null` and `exists: false` match ' +
    `them. At most ${MAX_OUTPUT_CONDITIONS} conditions in one filter.`,
  fields: (t) => ({
    path: t.stringList({ required: true, description: OUTPUT_PATH_DESCRIPTION }),
    equals: t.field({
      type: 'JSON',
      required: false,
      description:
        'Exactly this JSON value (`true` is not `"true"`, `1` is `1.0`; objects and arrays whole, not contained); ' +
        `null: a JSON null or no value. At most ${MAX_OUTPUT_VALUE_BYTES} bytes as JSON text.`,
    }),
    in: t.field({
      type: ['JSON'],
      required: false,
      description: `Exactly one of these JSON values, compared as \`equals\` does; at most ${MAX_OUTPUT_IN_VALUES} values.`,
    }),
    exists: t.boolean({ required: false, description: 'true: the path holds a value other than null; false: it does not.' }),
    gt: t.float({ required: false, description: 'A number greater than this (values that are not numbers never match).' }),
    gte: t.float({ required: false, description: 'A number greater than or equal to this.' }),
    lt: t.float({ required: false, description: 'A number less than this.' }),
    lte: t.float({ required: false, description: 'A number less than or equal to this.' }),
    contains: t.string({
      required: false,
      description: `A string holding this text, case-insensitive, matched literally; at most ${MAX_SEARCH_TEXT_LENGTH} characters.`,
    }),
  }),
});

export const OutputValueCount = builder.objectRef<ReadOutputValueCount>('OutputValueCount').implement({
  description: 'How many attempts hold one JSON value at a path of their structuredOutput.',
  fields: (t) => ({
    value: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The value; null for the attempts where the path is missing or holds null.',
      resolve: (counted) => counted.value,
    }),
    count: t.exposeInt('count'),
  }),
});
