/**
 * Full-text search over transcripts, in web-search syntax: the condition and the relevance the attempt reads use,
 * and the highlights of a page's attempts.
 *
 * An attempt's whole transcript is one tsvector (`call_attempts.transcript_search`, kept by triggers: see
 * src/db/transcriptSearch.sql), so every word of a query may occur in a different turn, and the GIN index answers the
 * condition. Both sides lose their accents (`unaccent`) and go through the configured text search configuration
 * (`callboard_search_config()`), so the query is read exactly as the transcripts were indexed.
 */
import { Prisma, type PrismaClient } from '../db/generated/prisma/client.ts';
import { runStatement } from '../db/statements.ts';
import { column, type SqlOnlyCondition } from './filter.ts';
import { ReadRequestError } from './readRequestError.ts';

function hasWord(query: string): boolean {
  return /[\p{L}\p{N}]/u.test(query);
}

/**
 * The text search configuration, as a scalar subquery: PostgreSQL evaluates it once per statement (an InitPlan),
 * where a call of the function itself would be evaluated, and its name looked up, once per row.
 */
const SEARCH_CONFIG = Prisma.sql`(SELECT callboard_search_config())`;

/**
 * The query as a tsquery, after checking that it has something to search for (else PostgreSQL matches nothing).
 * A scalar subquery too: parsed once per statement, not once per ranked row.
 */
function tsQuery(query: string): Prisma.Sql {
  if (!hasWord(query)) {
    throw new ReadRequestError(
      `The search ${JSON.stringify(query.slice(0, 40))} has no word to search for: give at least one word, such as rendez-vous.`,
    );
  }
  return Prisma.sql`(SELECT websearch_to_tsquery(${SEARCH_CONFIG}, unaccent(${query})))`;
}

/** Attempts whose transcript matches `query` (on `call_attempts` under `alias`). */
export function transcriptMatchCondition(alias: string, query: string): SqlOnlyCondition {
  return { sql: Prisma.sql`${column(alias, 'transcript_search')} @@ ${tsQuery(query)}` };
}

/**
 * How well an attempt's transcript matches `query`: `ts_rank_cd`, which rewards matched words that stand close
 * together. It is a pure function of the stored vector and the query, so a cursor row's rank is the same number when
 * it is read again for the next page.
 */
export function relevance(alias: string, query: string): Prisma.Sql {
  return Prisma.sql`ts_rank_cd(${column(alias, 'transcript_search')}, ${tsQuery(query)})`;
}

/** Most highlights one attempt may ask for. */
export const MAX_HIGHLIGHTS = 20;
/** Longest snippet: a longer turn is cut to a window around its first match. */
export const MAX_SNIPPET_LENGTH = 240;
/** How much of the window comes before the first match, when the turn is cut. */
const CONTEXT_BEFORE_MATCH = 60;
const ELLIPSIS = '…';

export interface TextRange {
  start: number;
  end: number;
}

export interface TranscriptHighlight {
  position: number;
  role: string;
  snippet: string;
  /** In UTF-16 code units (JavaScript string indices) of `snippet`, `end` exclusive. */
  matches: TextRange[];
}

/**
 * The words of a web-search query that a highlight marks: all of it but the OR keywords and the excluded terms
 * (`-word`, `-"a phrase"`), whose occurrences are not what was searched for.
 */
export function wantedWords(query: string): string {
  const terms = query.match(/-?"[^"]*"?|\S+/g) ?? [];
  return terms
    .filter((term) => !term.startsWith('-') && term !== 'OR')
    .map((term) => term.replaceAll('"', ''))
    .join(' ');
}

/** Parser token types whose parts come next as tokens of their own: `rendez-vous`, then `rendez`, `-`, `vous`. */
const COMPOUND_TOKENS = new Set(['asciihword', 'hword', 'numhword', 'url']);
const PART_TOKENS = new Set(['hword_asciipart', 'hword_part', 'hword_numpart', 'host', 'url_path']);

interface TurnRow {
  attemptId: string;
  position: number;
  role: string;
  content: string;
  /** The turn as PostgreSQL's parser cut it: [token, its type, whether it is a wanted word]. */
  tokens: [string, string, boolean][];
}

/**
 * The best turns of each attempt for `query`, at most `first` each: the turns holding the most distinct wanted words,
 * earlier turns first among equals. One statement for every attempt of a page.
 */
export async function transcriptHighlights(
  prisma: PrismaClient,
  attemptIds: string[],
  query: string,
  first: number,
): Promise<Map<string, TranscriptHighlight[]>> {
  tsQuery(query);
  const words = wantedWords(query);
  // Only excluded words: there is nothing to mark.
  if (!hasWord(words)) return new Map();
  const config = SEARCH_CONFIG;
  // A token's own lexeme: the first of its vector (a compound's vector also holds its parts', after it). Spaces and
  // punctuation (`blank`) have none, and are not looked up.
  const lexemeOf = (token: Prisma.Sql) =>
    Prisma.sql`(SELECT u.lexeme FROM unnest(to_tsvector(${config}, unaccent(${token}))) u WHERE 1 = ANY(u.positions))`;
  const rows = await runStatement<TurnRow>(
    prisma,
    Prisma.sql`
    WITH wanted AS (
      SELECT coalesce(array_agg(DISTINCT ${lexemeOf(Prisma.sql`p.token`)}), '{}') AS lexemes
      FROM ts_parse('default', ${words}) p JOIN ts_token_type('default') k ON k.tokid = p.tokid
      WHERE k.alias <> ALL(${[...PART_TOKENS]}::text[])
    ),
    turns AS (
      SELECT m.call_attempt_id, m.position, m.role, m.content,
             cardinality(ARRAY(
               SELECT unnest(tsvector_to_array(to_tsvector(${config}, unaccent(m.content)))) INTERSECT SELECT unnest(w.lexemes)
             )) AS hits
      FROM transcript_messages m, wanted w
      WHERE m.call_attempt_id = ANY(${attemptIds}::uuid[])
    ),
    best AS (
      SELECT t.*, row_number() OVER (PARTITION BY t.call_attempt_id ORDER BY t.hits DESC, t.position) AS rank
      FROM turns t WHERE t.hits > 0
    )
    SELECT b.call_attempt_id::text AS "attemptId", b.position, b.role, b.content,
           (SELECT json_agg(json_build_array(p.token, k.alias,
                     k.alias <> 'blank' AND coalesce(${lexemeOf(Prisma.sql`p.token`)} = ANY(w.lexemes), false)) ORDER BY p.n)
            FROM ts_parse('default', b.content) WITH ORDINALITY AS p(tokid, token, n)
            JOIN ts_token_type('default') k ON k.tokid = p.tokid) AS tokens
    FROM best b, wanted w
    WHERE b.rank <= ${first}
    ORDER BY b.call_attempt_id, b.rank`,
  );
  const highlights = new Map<string, TranscriptHighlight[]>();
  for (const row of rows) {
    const list = highlights.get(row.attemptId) ?? [];
    list.push(highlight(row));
    highlights.set(row.attemptId, list);
  }
  return highlights;
}

/**
 * The turn's wanted words as ranges of its text, found by walking the parser's tokens through it. A compound
 * (`rendez-vous`) is marked whole when it was searched for; otherwise its searched parts are.
 */
function matchedRanges(content: string, tokens: TurnRow['tokens']): TextRange[] {
  const ranges: TextRange[] = [];
  let next = 0;
  // The compound being walked: where its next part starts, where it ends, and whether it is marked whole.
  let compound: { from: number; end: number; marked: boolean } | null = null;
  for (const [token, type, wanted] of tokens) {
    if (compound) {
      const at = content.indexOf(token, compound.from);
      if (at >= 0 && at + token.length <= compound.end) {
        compound.from = at + token.length;
        if (wanted && PART_TOKENS.has(type) && !compound.marked) ranges.push({ start: at, end: at + token.length });
        continue;
      }
      compound = null;
    }
    const start = content.indexOf(token, next);
    if (start < 0) continue;
    next = start + token.length;
    if (wanted) ranges.push({ start, end: next });
    if (COMPOUND_TOKENS.has(type)) compound = { from: start, end: next, marked: wanted };
  }
  return ranges;
}

function highlight({ position, role, content, tokens }: TurnRow): TranscriptHighlight {
  const matches = matchedRanges(content, tokens ?? []);
  if (content.length <= MAX_SNIPPET_LENGTH) return { position, role, snippet: content, matches };
  const firstMatch = matches[0]?.start ?? 0;
  let start = Math.max(0, firstMatch - CONTEXT_BEFORE_MATCH);
  let end = Math.min(content.length, start + MAX_SNIPPET_LENGTH);
  start = Math.max(0, end - MAX_SNIPPET_LENGTH);
  // Room for the marks of the cut ends, and never half of a surrogate pair.
  if (start > 0) start += 1;
  if (end < content.length) end -= 1;
  if (isLowSurrogate(content.charCodeAt(start))) start += 1;
  if (isLowSurrogate(content.charCodeAt(end))) end -= 1;
  const prefix = start > 0 ? ELLIPSIS : '';
  const snippet = `${prefix}${content.slice(start, end)}${end < content.length ? ELLIPSIS : ''}`;
  const shift = prefix.length - start;
  return {
    position,
    role,
    snippet,
    matches: matches
      .filter((range) => range.start >= start && range.end <= end)
      .map((range) => ({ start: range.start + shift, end: range.end + shift })),
  };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
