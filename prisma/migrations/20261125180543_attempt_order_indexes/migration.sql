-- DropIndex
DROP INDEX "call_attempts_ended_at_id_idx";

-- DropIndex
DROP INDEX "call_attempts_result_ended_at_idx";

-- DropIndex
DROP INDEX "call_attempts_status_ended_at_idx";

-- CreateIndex
CREATE INDEX "call_attempts_status_ended_at_id_idx" ON "call_attempts"("status", "ended_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "call_attempts_result_ended_at_id_idx" ON "call_attempts"("result", "ended_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "call_attempts_ended_at_id_idx" ON "call_attempts"("ended_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "call_attempts_started_at_id_idx" ON "call_attempts"("started_at" DESC, "id" DESC);
