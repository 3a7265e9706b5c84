-- CreateTable
CREATE TABLE "RunDataset" (
    "runId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "characters" INTEGER NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RunDataset_pkey" PRIMARY KEY ("runId")
);

-- AddForeignKey
ALTER TABLE "RunDataset" ADD CONSTRAINT "RunDataset_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

