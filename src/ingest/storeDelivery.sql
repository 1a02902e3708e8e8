-- The source of the database function callboard_store_delivery, which src/ingest/store.ts calls to store a delivery.
--
-- To change the function, edit it here, then run `npm run db:migration -- <name>`: the new migration carries this
-- definition, with the comment just above it (and after any change to prisma/schema.prisma). Never edit a migration
-- already written. test/db/migrations.test.ts fails while this file and the latest migration that defines the
-- function disagree, compared as written from the function's name to the closing `$$;`: any edit there, even to
-- spacing, goes into the next migration. CREATE OR REPLACE can change neither the arguments (that would define a
-- second function) nor the return type: for those, add a DROP FUNCTION before the definition in the new migration.
-- The helpers it calls, such as callboard_uuid_v7, are defined in prisma/migrations/.

-- src/ingest/store.ts sends `SELECT callboard_store_delivery($1::jsonb)`, and the statement, run in autocommit, is the
-- whole transaction. The argument holds the records src/ingest/payload.ts made of the delivery (validated, without
-- secrets; keys as its parsers name them), the keyed hashes of its numbers and the archive entry.
--
-- Deliveries for one order are serialised by a transaction-scoped advisory lock on its Revox id, so concurrent
-- deliveries end as they would one by one; every statement below takes a fresh snapshot (the function is VOLATILE),
-- so it sees what the delivery that held the lock before committed. A record is replaced only by a version with a
-- greater key (compared byte by byte, as in TypeScript), so a late delivery changes nothing.
--
-- A delivery for an order created before the erasure of a number it mentions (`numberHashes`: the keyed hashes of
-- every number in it, src/ingest/numberHashes.ts) is old data an erasure removed: nothing is written, and the answer is
-- {"erased": true}. An attempt whose content retention purged keeps none from a delivery of it that ended before.
--
-- Returns {"duplicate", "deliveryId", "order": {id, direction, isCompleted, fromPhoneNumber, toPhoneNumber, change},
-- "attempts": [{id, change, previousStatus}] in the argument's order}, or {"foreignAttempt": {index, ownerRevoxId}}
-- with nothing written when an attempt belongs to another order.
CREATE OR REPLACE FUNCTION callboard_store_delivery(delivery jsonb) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  incoming record;
  archive record;
  attempt record;
  stored record;
  prior record;
  foreign_attempt record;
  duplicate boolean;
  order_change text;
  attempt_id uuid;
  attempt_change text;
  attempt_results jsonb := '[]';
  delivery_id uuid;
BEGIN
  SELECT * INTO incoming FROM jsonb_to_record(delivery -> 'order') AS o(
    "revoxId" text, "fromPhoneNumber" text, "toPhoneNumber" text, direction text, "isCompleted" boolean,
    "isCancelled" boolean, "callsCount" integer, "nextCallAt" timestamptz, "scheduledAt" timestamptz,
    "createdAt" timestamptz, status text, outcome text, metadata jsonb, "retryConfig" jsonb, "llmModel" jsonb,
    extra jsonb, "versionKey" text);
  SELECT * INTO archive FROM jsonb_to_record(delivery -> 'archive') AS a(
    "requestId" text, body text, "bodyBytes" bigint, headers jsonb, "contentHash" text, "callRevoxId" text,
    source text, "replayOf" uuid);

  PERFORM pg_advisory_xact_lock(hashtextextended(incoming."revoxId", 0));

  -- Under the order's lock, which an erasure takes too: an erasure of this order commits before or after, whole.
  IF EXISTS (
    SELECT 1 FROM erasures
    WHERE phone_number_hash IN (SELECT jsonb_array_elements_text(delivery -> 'numberHashes'))
      AND erased_at >= incoming."createdAt") THEN
    RETURN jsonb_build_object('erased', true);
  END IF;

  duplicate := EXISTS (
    SELECT 1 FROM webhook_deliveries
    WHERE content_hash = archive."contentHash" AND outcome IN ('accepted', 'duplicate')
      AND (archive."replayOf" IS NULL OR id <> archive."replayOf"));

  SELECT id, version_key INTO stored FROM call_orders WHERE revox_id = incoming."revoxId";

  IF NOT duplicate THEN
    -- Revox attempt ids are unique across orders: one claimed by another order means the delivery is wrong.
    SELECT e.index - 1 AS index, owner.revox_id AS "ownerRevoxId" INTO foreign_attempt
    FROM jsonb_array_elements(delivery -> 'attempts') WITH ORDINALITY AS e(value, index)
    JOIN call_attempts ON call_attempts.revox_id = e.value ->> 'revoxId'
    JOIN call_orders owner ON owner.id = call_attempts.call_order_id
    WHERE call_attempts.call_order_id IS DISTINCT FROM stored.id
    ORDER BY e.index
    LIMIT 1;
    IF FOUND THEN
      RETURN jsonb_build_object('foreignAttempt', to_jsonb(foreign_attempt));
    END IF;
  END IF;

  IF stored.id IS NULL THEN
    INSERT INTO call_orders (id, revox_id, from_phone_number, to_phone_number, direction, is_completed, is_cancelled,
      calls_count, next_call_at, scheduled_at, created_at, status, outcome, metadata, retry_config, llm_model, extra,
      version_key, updated_at)
    VALUES (callboard_uuid_v7(), incoming."revoxId", incoming."fromPhoneNumber", incoming."toPhoneNumber",
      incoming.direction, incoming."isCompleted", incoming."isCancelled", incoming."callsCount", incoming."nextCallAt",
      incoming."scheduledAt", incoming."createdAt", incoming.status, incoming.outcome, incoming.metadata,
      incoming."retryConfig", incoming."llmModel", incoming.extra, incoming."versionKey", now())
    RETURNING id INTO stored;
    order_change := 'created';
  ELSIF stored.version_key COLLATE "C" >= incoming."versionKey" THEN
    order_change := 'unchanged';
  ELSE
    UPDATE call_orders SET from_phone_number = incoming."fromPhoneNumber", to_phone_number = incoming."toPhoneNumber",
      direction = incoming.direction, is_completed = incoming."isCompleted", is_cancelled = incoming."isCancelled",
      calls_count = incoming."callsCount", next_call_at = incoming."nextCallAt", scheduled_at = incoming."scheduledAt",
      created_at = incoming."createdAt", status = incoming.status, outcome = incoming.outcome,
      metadata = incoming.metadata, retry_config = incoming."retryConfig", llm_model = incoming."llmModel",
      extra = incoming.extra, version_key = incoming."versionKey", updated_at = now()
    WHERE id = stored.id;
    order_change := 'updated';
  END IF;

  IF NOT duplicate THEN
    FOR attempt IN SELECT * FROM jsonb_to_recordset(delivery -> 'attempts') AS a(
      "revoxId" text, "phoneNumber" text, status text, result text, "dialError" text, "endedBy" text,
      "endReason" text, "recordingUrl" text, "startedAt" timestamptz, "answeredAt" timestamptz,
      "endedAt" timestamptz, "structuredOutput" jsonb, "handledByAi" boolean, "handledByHuman" boolean,
      extra jsonb, "versionKey" text, transcript jsonb)
    LOOP
      SELECT id, status, version_key, purged_at INTO prior FROM call_attempts WHERE revox_id = attempt."revoxId";
      attempt_id := prior.id;
      IF prior.id IS NULL THEN
        INSERT INTO call_attempts (id, revox_id, call_order_id, phone_number, status, result, dial_error, ended_by,
          end_reason, recording_url, started_at, answered_at, ended_at, structured_output, handled_by_ai,
          handled_by_human, extra, version_key, updated_at)
        VALUES (callboard_uuid_v7(), attempt."revoxId", stored.id, attempt."phoneNumber", attempt.status,
          attempt.result, attempt."dialError", attempt."endedBy", attempt."endReason", attempt."recordingUrl",
          attempt."startedAt", attempt."answeredAt", attempt."endedAt", attempt."structuredOutput",
          attempt."handledByAi", attempt."handledByHuman", attempt.extra, attempt."versionKey", now())
        RETURNING id INTO attempt_id;
        attempt_change := 'created';
      ELSIF prior.version_key COLLATE "C" >= attempt."versionKey"
        OR COALESCE(attempt."endedAt", '-infinity') < prior.purged_at THEN
        attempt_change := 'unchanged';
      ELSE
        UPDATE call_attempts SET phone_number = attempt."phoneNumber", status = attempt.status,
          result = attempt.result, dial_error = attempt."dialError", ended_by = attempt."endedBy",
          end_reason = attempt."endReason", recording_url = attempt."recordingUrl", started_at = attempt."startedAt",
          answered_at = attempt."answeredAt", ended_at = attempt."endedAt",
          structured_output = attempt."structuredOutput", handled_by_ai = attempt."handledByAi",
          handled_by_human = attempt."handledByHuman", extra = attempt.extra, version_key = attempt."versionKey",
          updated_at = now()
        WHERE id = attempt_id;
        -- A newer version's transcript replaces the stored one whole.
        DELETE FROM transcript_messages WHERE call_attempt_id = attempt_id;
        attempt_change := 'updated';
      END IF;

      IF attempt_change <> 'unchanged' THEN
        INSERT INTO transcript_messages (call_attempt_id, position, role, content, tool_name, tool_arguments,
          tool_is_error, extra)
        SELECT attempt_id, turn.position, turn.role, turn.content, turn."toolName", turn."toolArguments",
          turn."toolIsError", turn.extra
        FROM jsonb_to_recordset(attempt.transcript) AS turn(position integer, role text, content text,
          "toolName" text, "toolArguments" jsonb, "toolIsError" boolean, extra jsonb);
      END IF;

      attempt_results := attempt_results
        || jsonb_build_object('id', attempt_id, 'change', attempt_change, 'previousStatus', prior.status);
    END LOOP;
  END IF;

  IF archive."replayOf" IS NULL THEN
    INSERT INTO webhook_deliveries (id, request_id, body, body_bytes, headers, content_hash, call_revox_id, source,
      outcome, http_status)
    VALUES (callboard_uuid_v7(), archive."requestId", archive.body, archive."bodyBytes", archive.headers,
      archive."contentHash", archive."callRevoxId", COALESCE(archive.source, 'webhook'),
      CASE WHEN duplicate THEN 'duplicate' ELSE 'accepted' END, 200)
    RETURNING id INTO delivery_id;
  ELSE
    -- A replay updates the archived delivery it replays; its source stays unless the replay names one.
    UPDATE webhook_deliveries SET request_id = archive."requestId", body = archive.body,
      body_bytes = archive."bodyBytes", headers = archive.headers, content_hash = archive."contentHash",
      call_revox_id = archive."callRevoxId", source = COALESCE(archive.source, source),
      outcome = CASE WHEN duplicate THEN 'duplicate' ELSE 'accepted' END, http_status = 200, error = NULL,
      replayed_at = now()
    WHERE id = archive."replayOf"
    RETURNING id INTO delivery_id;
    IF delivery_id IS NULL THEN
      RAISE EXCEPTION 'archived delivery % not found', archive."replayOf";
    END IF;
  END IF;

  RETURN jsonb_build_object(
    'duplicate', duplicate,
    'deliveryId', delivery_id,
    'order', (SELECT jsonb_build_object('id', id, 'direction', direction, 'isCompleted', is_completed,
      'fromPhoneNumber', from_phone_number, 'toPhoneNumber', to_phone_number, 'change', order_change)
      FROM call_orders WHERE id = stored.id),
    'attempts', attempt_results);
END;
$$;
