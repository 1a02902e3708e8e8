-- Full-text search over transcripts reads them without accents.
CREATE EXTENSION IF NOT EXISTS unaccent;

-- AlterTable
ALTER TABLE "call_attempts" ADD COLUMN     "transcript_search" tsvector;

-- CreateIndex
CREATE INDEX "call_attempts_transcript_search_idx" ON "call_attempts" USING GIN ("transcript_search");

-- callboard_search_config, from src/db/transcriptSearch.sql.

-- The text search configuration transcripts are indexed and searched with: the `transcript_search_language` setting,
-- which the server sets at start from TRANSCRIPT_SEARCH_LANGUAGE (src/db/searchLanguage.ts).
CREATE OR REPLACE FUNCTION callboard_search_config() RETURNS regconfig LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT value FROM settings WHERE name = 'transcript_search_language'), 'simple')::regconfig
$$;
-- callboard_transcript_vector, from src/db/transcriptSearch.sql.

-- An attempt's transcript as a tsvector: its turns in order, without accents (null without turns). Only the first
-- 200,000 characters are indexed: a tsvector holds at most 1 MB, and a longer transcript must not fail its delivery.
CREATE OR REPLACE FUNCTION callboard_transcript_vector(attempt uuid) RETURNS tsvector LANGUAGE sql STABLE AS $$
  SELECT to_tsvector(callboard_search_config(), unaccent(left(string_agg(content, E'\n' ORDER BY position), 200000)))
  FROM transcript_messages WHERE call_attempt_id = attempt
$$;
-- callboard_index_transcripts, from src/db/transcriptSearch.sql.

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

-- One trigger per event: a trigger with transition tables may fire on one event only.
CREATE TRIGGER transcript_messages_indexed_after_insert AFTER INSERT ON transcript_messages
  REFERENCING NEW TABLE AS written_turns FOR EACH STATEMENT EXECUTE FUNCTION callboard_index_transcripts();
CREATE TRIGGER transcript_messages_indexed_after_update AFTER UPDATE ON transcript_messages
  REFERENCING NEW TABLE AS written_turns OLD TABLE AS removed_turns FOR EACH STATEMENT EXECUTE FUNCTION callboard_index_transcripts();
CREATE TRIGGER transcript_messages_indexed_after_delete AFTER DELETE ON transcript_messages
  REFERENCING OLD TABLE AS removed_turns FOR EACH STATEMENT EXECUTE FUNCTION callboard_index_transcripts();

-- The transcripts stored before this migration.
UPDATE call_attempts a SET transcript_search = callboard_transcript_vector(a.id)
WHERE EXISTS (SELECT 1 FROM transcript_messages m WHERE m.call_attempt_id = a.id);
