/**
 * `CallAttempt.transcriptHighlights`: the turns of an attempt that match a full-text search, with the matched words'
 * offsets. The attempts of one page that ask with the same arguments are read together, in one statement.
 */
import type { PrismaClient } from '../../db/generated/prisma/client.ts';
import { listSize, MAX_SEARCH_TEXT_LENGTH, maxLength } from '../../limits/index.ts';
import { ReadRequestError } from '../../read/readRequestError.ts';
import {
  MAX_HIGHLIGHTS,
  MAX_SNIPPET_LENGTH,
  transcriptHighlights,
  type TextRange as TextRangeValue,
  type TranscriptHighlight as TranscriptHighlightValue,
} from '../../read/transcriptSearch.ts';
import { builder, type Context } from '../builder.ts';
import { reads } from '../readShape.ts';
import { TranscriptRole } from './enums.ts';

const DEFAULT_HIGHLIGHTS = 3;

const TextRange = builder.objectRef<TextRangeValue>('TextRange').implement({
  description: 'A range of a text, in UTF-16 code units (JavaScript string indices): `start` inclusive, `end` exclusive.',
  fields: (t) => ({ start: t.exposeInt('start'), end: t.exposeInt('end') }),
});

const TranscriptHighlight = builder.objectRef<TranscriptHighlightValue>('TranscriptHighlight').implement({
  description: 'A transcript turn that matches a search.',
  fields: (t) => ({
    position: t.exposeInt('position', { description: "The turn's position in the transcript, from 0." }),
    role: t.field({ type: TranscriptRole.ref, resolve: (highlight) => TranscriptRole.fromRaw(highlight.role) }),
    snippet: t.exposeString('snippet', {
      description: `The turn's text, or a window of at most ${MAX_SNIPPET_LENGTH} characters around its first match, cut ends marked with …. Plain text.`,
    }),
    matches: t.field({ type: [TextRange], description: "The matched words' ranges in `snippet`.", resolve: (h) => h.matches }),
  }),
});

interface Batch {
  ids: Set<string>;
  result: Promise<Map<string, TranscriptHighlightValue[]>>;
}

/** Per request: the batches being gathered, by arguments. */
const pending = new WeakMap<Context, Map<string, Batch>>();

/**
 * The highlights of one attempt, read with every other attempt of the request that asks with the same arguments
 * before the batch is sent (on the next turn of the event loop, once the page's resolvers have all run).
 */
function highlightsOf(context: Context, prisma: PrismaClient, attemptId: string, query: string, first: number) {
  const batches = pending.get(context) ?? new Map<string, Batch>();
  pending.set(context, batches);
  const key = JSON.stringify([query, first]);
  let batch = batches.get(key);
  if (!batch) {
    const ids = new Set<string>();
    const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      batches.delete(key);
      return transcriptHighlights(prisma, [...ids], query, first);
    });
    batch = { ids, result };
    batches.set(key, batch);
  }
  batch.ids.add(attemptId);
  return batch.result.then((highlights) => highlights.get(attemptId) ?? []);
}

builder.prismaObjectField('CallAttempt', 'transcriptHighlights', (t) =>
  t.field({
    type: [TranscriptHighlight],
    authScopes: { 'transcripts:read': true },
    description:
      'The turns that match `query` (web-search syntax, as `transcriptMatches`), best first: those holding the most ' +
      `distinct searched words, earlier turns first among equals. At most \`first\` (at most ${MAX_HIGHLIGHTS}).`,
    args: {
      query: t.arg.string({ required: true, extensions: maxLength(MAX_SEARCH_TEXT_LENGTH) }),
      first: t.arg.int({ defaultValue: DEFAULT_HIGHLIGHTS }),
    },
    select: { id: true },
    extensions: { ...listSize(MAX_HIGHLIGHTS), ...reads('id') },
    resolve: (attempt, { query, first }, context) => {
      const count = first ?? DEFAULT_HIGHLIGHTS;
      if (count < 0 || count > MAX_HIGHLIGHTS) {
        throw new ReadRequestError(`transcriptHighlights(first: ${count}) must be between 0 and ${MAX_HIGHLIGHTS}.`);
      }
      if (count === 0) return [];
      return highlightsOf(context, context.prisma, attempt.id, query, count);
    },
  }),
);
