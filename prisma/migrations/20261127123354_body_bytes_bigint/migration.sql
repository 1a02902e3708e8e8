-- AlterTable
ALTER TABLE "webhook_deliveries" ALTER COLUMN "body_bytes" SET DATA TYPE BIGINT;
