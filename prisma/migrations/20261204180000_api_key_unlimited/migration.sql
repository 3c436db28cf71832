-- A per-key switch that turns request rate limiting off for that key (trusted internal
-- services an ADMIN creates a key for). Set when the key is created, never changed.
ALTER TABLE "api_keys" ADD COLUMN "unlimited" BOOLEAN NOT NULL DEFAULT false;
