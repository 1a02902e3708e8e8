-- Full-text search over whole transcripts: call_attempts.transcript_search holds each attempt's transcript as a
-- tsvector, kept by the triggers on transcript_messages, so that every writer of a turn (a delivery, an erasure, a
-- retention purge) keeps it in step without knowing it exists.

-- The text search configuration transcripts are indexed and searched with: the `transcript_search_language` setting,
-- which the server sets at start from TRANSCRIPT_SEARCH_LANGUAGE (src/db/searchLanguage.ts).
CREATE OR REPLACE FUNCTION callboard_search_config() RETURNS regconfig LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT value FROM settings WHERE name = 'transcript_search_language'), 'simple')::regconfig
$$;

-- An attempt's transcript as a tsvector: its turns in order, without accents (null without turns). Only the first
-- 200,000 characters are indexed: a tsvector holds at most 1 MB, and a longer transcript must not fail its delivery.
CREATE OR REPLACE FUNCTION callboard_transcript_vector(attempt uuid) RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT to_tsvector(callboard_search_config(), unaccent(left(string_agg(content, E'\n' ORDER BY position), 200000)))
  FROM transcript_messages WHERE call_attempt_id = attempt
$$;

-- After each statement that writes turns: the attempts whose turns changed get their vector again, once each.
CREATE OR REPLACE FUNCTION callboard_index_transcripts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE call_attempts a SET transcript_search = callboard_transcript_vector(a.id)
    WHERE a.id IN (SELECT call_attempt_id FROM written_turns);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE call_attempts a SET transcript_search = callboard_transcript_vector(a.id)
    WHERE a.id IN (SELECT call_attempt_id FROM removed_turns);
  ELSE
    UPDATE call_attempts a SET transcript_search = callboard_transcript_vector(a.id)
    WHERE a.id IN (SELECT call_attempt_id FROM written_turns UNION SELECT call_attempt_id FROM removed_turns);
  END IF;
  RETURN NULL;
END
$$;
