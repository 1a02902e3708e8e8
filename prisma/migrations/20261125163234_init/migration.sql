-- CreateExtension
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateTable
CREATE TABLE "call_orders" (
    "id" UUID NOT NULL,
    "revox_id" TEXT NOT NULL,
    "from_phone_number" TEXT NOT NULL,
    "to_phone_number" TEXT NOT NULL,
    "direction" TEXT NOT NULL,
    "is_completed" BOOLEAN NOT NULL,
    "is_cancelled" BOOLEAN,
    "calls_count" INTEGER NOT NULL,
    "next_call_at" TIMESTAMPTZ(3),
    "scheduled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "status" TEXT,
    "outcome" TEXT,
    "metadata" JSONB,
    "retry_config" JSONB,
    "llm_model" JSONB,
    "extra" JSONB NOT NULL DEFAULT '{}',
    "version_key" TEXT NOT NULL,
    "first_stored_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "call_orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "call_attempts" (
    "id" UUID NOT NULL,
    "revox_id" TEXT NOT NULL,
    "call_order_id" UUID NOT NULL,
    "phone_number" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "result" TEXT,
    "dial_error" TEXT,
    "ended_by" TEXT,
    "end_reason" TEXT,
    "recording_url" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "answered_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "structured_output" JSONB,
    "handled_by_ai" BOOLEAN,
    "handled_by_human" BOOLEAN,
    "extra" JSONB NOT NULL DEFAULT '{}',
    "version_key" TEXT NOT NULL,
    "first_stored_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "call_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "transcript_messages" (
    "id" UUID NOT NULL,
    "call_attempt_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "tool_name" TEXT,
    "tool_arguments" JSONB,
    "tool_is_error" BOOLEAN,
    "extra" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "transcript_messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "request_id" TEXT NOT NULL,
    "body" TEXT,
    "body_bytes" INTEGER NOT NULL,
    "headers" JSONB NOT NULL,
    "content_hash" TEXT,
    "call_revox_id" TEXT,
    "outcome" TEXT NOT NULL,
    "http_status" INTEGER NOT NULL,
    "error" TEXT,
    "replayed_at" TIMESTAMPTZ(3),

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "call_orders_revox_id_key" ON "call_orders"("revox_id");

-- CreateIndex
CREATE INDEX "call_orders_from_phone_number_idx" ON "call_orders"("from_phone_number");

-- CreateIndex
CREATE INDEX "call_orders_to_phone_number_idx" ON "call_orders"("to_phone_number");

-- CreateIndex
CREATE INDEX "call_orders_direction_created_at_id_idx" ON "call_orders"("direction", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "call_orders_is_completed_created_at_id_idx" ON "call_orders"("is_completed", "created_at" DESC, "id");

-- CreateIndex
CREATE INDEX "call_orders_created_at_id_idx" ON "call_orders"("created_at" DESC, "id");

-- CreateIndex
CREATE UNIQUE INDEX "call_attempts_revox_id_key" ON "call_attempts"("revox_id");

-- CreateIndex
CREATE INDEX "call_attempts_call_order_id_started_at_idx" ON "call_attempts"("call_order_id", "started_at" DESC);

-- CreateIndex
CREATE INDEX "call_attempts_phone_number_idx" ON "call_attempts"("phone_number");

-- CreateIndex
CREATE INDEX "call_attempts_status_ended_at_idx" ON "call_attempts"("status", "ended_at" DESC);

-- CreateIndex
CREATE INDEX "call_attempts_result_ended_at_idx" ON "call_attempts"("result", "ended_at" DESC);

-- CreateIndex
CREATE INDEX "call_attempts_ended_at_id_idx" ON "call_attempts"("ended_at" DESC, "id");

-- CreateIndex
CREATE INDEX "transcript_messages_content_idx" ON "transcript_messages" USING GIN ("content" gin_trgm_ops);

-- CreateIndex
CREATE UNIQUE INDEX "transcript_messages_call_attempt_id_position_key" ON "transcript_messages"("call_attempt_id", "position");

-- CreateIndex
CREATE INDEX "webhook_deliveries_content_hash_idx" ON "webhook_deliveries"("content_hash");

-- CreateIndex
CREATE INDEX "webhook_deliveries_outcome_received_at_idx" ON "webhook_deliveries"("outcome", "received_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_call_revox_id_idx" ON "webhook_deliveries"("call_revox_id");

-- AddForeignKey
ALTER TABLE "call_attempts" ADD CONSTRAINT "call_attempts_call_order_id_fkey" FOREIGN KEY ("call_order_id") REFERENCES "call_orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "transcript_messages" ADD CONSTRAINT "transcript_messages_call_attempt_id_fkey" FOREIGN KEY ("call_attempt_id") REFERENCES "call_attempts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
