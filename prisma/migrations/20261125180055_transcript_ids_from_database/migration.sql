-- AlterTable
ALTER TABLE "transcript_messages" ALTER COLUMN "id" SET DEFAULT gen_random_uuid();
