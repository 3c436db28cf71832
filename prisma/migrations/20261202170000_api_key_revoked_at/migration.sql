-- Every instance polls for keys revoked since its last look (about once a second).
-- CreateIndex
CREATE INDEX "api_keys_revoked_at_idx" ON "api_keys"("revoked_at");
