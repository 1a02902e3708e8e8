-- CreateIndex
CREATE INDEX "call_attempts_structured_output_idx" ON "call_attempts" USING GIN ("structured_output" jsonb_path_ops);
