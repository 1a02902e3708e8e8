/** The hand-written SQL the raw baseline runs: one statement per read, building the JSON in PostgreSQL. */

/** callOrders(first: $1) { nodes { ...order lastAttempt { ...attempt transcript { role content } } } } */
export const PAGE_SQL = `
SELECT json_build_object('data', json_build_object('callOrders', json_build_object('nodes',
  coalesce(json_agg(page.node ORDER BY page.created_at DESC, page.id DESC), '[]'::json))))::text AS body
FROM (
  SELECT o.id, o.created_at, json_build_object(
    'revoxId', o.revox_id, 'createdAt', o.created_at, 'toPhoneNumber', o.to_phone_number,
    'isCompleted', o.is_completed, 'callsCount', o.calls_count,
    'lastAttempt', (
      SELECT json_build_object('revoxId', a.revox_id, 'status', a.status, 'result', a.result,
        'startedAt', a.started_at, 'endedAt', a.ended_at,
        'transcript', (SELECT coalesce(json_agg(json_build_object('role', m.role, 'content', m.content) ORDER BY m.position), '[]'::json)
                       FROM transcript_messages m WHERE m.call_attempt_id = a.id))
      FROM call_attempts a WHERE a.call_order_id = o.id
      ORDER BY a.started_at DESC NULLS FIRST, a.id DESC LIMIT 1)) AS node
  FROM call_orders o ORDER BY o.created_at DESC, o.id DESC LIMIT $1
) page`;

/**
 * callAttempts(first: $3, filter: { transcriptContains: $1, result: $2 }) { nodes { ... callOrder { revoxId } } }
 * In Callboard's order (and PostGraphile's): ended_at DESC, id DESC, PostgreSQL's null placement (unended first),
 * which walks the (ended_at, id) index.
 */
export const SEARCH_SQL = `
WITH page AS (
  SELECT a.id, a.ended_at, a.revox_id, a.phone_number, a.result, a.call_order_id FROM call_attempts a
  WHERE a.result = ANY($2::text[])
    AND EXISTS (SELECT 1 FROM transcript_messages m WHERE m.call_attempt_id = a.id AND m.content ILIKE $1)
  ORDER BY a.ended_at DESC, a.id DESC LIMIT $3)
SELECT json_build_object('data', json_build_object('callAttempts', json_build_object('nodes',
  coalesce(json_agg(json_build_object('revoxId', p.revox_id, 'phoneNumber', p.phone_number, 'result', p.result,
    'endedAt', p.ended_at, 'callOrder', json_build_object('revoxId', o.revox_id)) ORDER BY p.ended_at DESC, p.id DESC), '[]'::json))))::text AS body
FROM page p JOIN call_orders o ON o.id = p.call_order_id`;

/**
 * callAttempts(first: $2, orderBy: RELEVANCE, filter: { transcriptMatches: $1 }) { nodes { revoxId endedAt
 * transcriptHighlights(query: $1, first: 3) { position snippet } } }, as one would write it by hand: the same match
 * and rank over the indexed vectors, then for each attempt the three turns that rank best against any of the words,
 * marked by PostgreSQL's ts_headline.
 */
export const FTS_SQL = `
WITH q AS (
  SELECT websearch_to_tsquery('simple', unaccent($1)) AS query,
         replace(websearch_to_tsquery('simple', unaccent($1))::text, ' & ', ' | ')::tsquery AS any_word
),
page AS (
  SELECT a.id, a.revox_id, a.ended_at, ts_rank_cd(a.transcript_search, q.query) AS rank
  FROM call_attempts a, q WHERE a.transcript_search @@ q.query
  ORDER BY rank DESC, a.ended_at DESC, a.id DESC LIMIT $2
)
SELECT json_build_object('data', json_build_object('callAttempts', json_build_object('nodes',
  coalesce(json_agg(json_build_object('revoxId', p.revox_id, 'endedAt', p.ended_at, 'transcriptHighlights', (
    SELECT coalesce(json_agg(json_build_object('position', t.position,
             'snippet', ts_headline('simple', t.content, q.any_word, 'MaxFragments=1, MaxWords=35, MinWords=15'))
           ORDER BY t.rank DESC, t.position), '[]'::json)
    FROM (SELECT m.position, m.content, ts_rank_cd(to_tsvector('simple', unaccent(m.content)), q.any_word) AS rank
          FROM transcript_messages m WHERE m.call_attempt_id = p.id AND to_tsvector('simple', unaccent(m.content)) @@ q.any_word
          ORDER BY rank DESC, m.position LIMIT 3) t
  )) ORDER BY p.rank DESC, p.ended_at DESC, p.id DESC), '[]'::json))))::text AS body
FROM page p, q`;

/** An instant as GraphQL writes it: ISO-8601 in UTC, with milliseconds. */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * GET /export/call-attempts.csv as PostgreSQL would write it on its own: the same columns and order, every attempt,
 * `COPY ... TO STDOUT WITH CSV`; with `withContent`, the content columns too, the transcript aggregated per attempt.
 */
export function exportCopySql(withContent: boolean): string {
  const content = withContent
    ? `, a.recording_url AS "recordingUrl", a.structured_output::text AS "structuredOutput",
       (SELECT string_agg(upper(m.role) || ': ' || m.content, E'\\n' ORDER BY m.position)
        FROM transcript_messages m WHERE m.call_attempt_id = a.id) AS transcript`
    : '';
  return `COPY (
  SELECT a.revox_id AS "revoxId", o.revox_id AS "callOrderRevoxId", a.phone_number AS "phoneNumber",
    upper(o.direction) AS direction, upper(a.status) AS status, upper(a.result) AS result,
    ${iso('a.started_at')} AS "startedAt", ${iso('a.answered_at')} AS "answeredAt", ${iso('a.ended_at')} AS "endedAt",
    EXTRACT(EPOCH FROM a.ended_at - a.answered_at) AS "durationSeconds"${content}
  FROM call_attempts a JOIN call_orders o ON o.id = a.call_order_id
  ORDER BY a.ended_at DESC, a.id DESC
) TO STDOUT WITH (FORMAT csv, HEADER)`;
}

/**
 * callStats(filter: { output: [{ path, equals }] }) { byOutput(path: $2) { value count } }, by hand: $1 is the
 * condition as a containment object (`{"appointment": {"confirmed": true}}`), which the GIN index answers.
 */
export const OUTPUT_SQL = `
WITH counted AS (
  SELECT NULLIF(a.structured_output #> $2::text[], 'null'::jsonb) AS value, count(*)::int AS count
  FROM call_attempts a
  WHERE a.structured_output @> $1::jsonb
  GROUP BY 1
  ORDER BY 2 DESC, 1::text COLLATE "C" LIMIT 20
)
SELECT json_build_object('data', json_build_object('callStats', json_build_object('byOutput',
  coalesce(json_agg(json_build_object('value', value, 'count', count) ORDER BY count DESC, value::text COLLATE "C"), '[]'::json))))::text AS body
FROM counted`;
