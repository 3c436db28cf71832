-- Feed validators: what a feed's ETag is made of, so a poll answered 304 reads a few
-- rows instead of every row of the feed.
--
-- `feed_versions` counts, per table a feed reads, the committed transactions that changed
-- a column some feed shows. Each transaction that does adds 1 to one counter, in the
-- same transaction as its writes (a deferred constraint trigger, so at commit: the
-- counter's row lock is the last lock the transaction takes and is held only while it
-- commits, and a transaction that wrote many rows bumps it once). A snapshot sees a
-- counter's increment exactly when it sees the writes, and counters only grow, so two
-- snapshots with equal sums saw the same committed writes. The counters are spread over
-- 16 rows by backend (pg_backend_pid() % 16) so concurrent writers rarely wait on one
-- another; a reader sums them.
--
-- Rows also leave feeds by time alone (a decision expiring, a verdict expiring), which
-- no write marks: the indexes below give the next such instant in one index probe each, and
-- the validator includes it (see src/feeds/feed-repository.ts).

CREATE TABLE "feed_versions" (
  "shard"         INTEGER PRIMARY KEY,
  "iocs"          BIGINT NOT NULL DEFAULT 0,
  "iocs_blocklist" BIGINT NOT NULL DEFAULT 0,
  "decisions"     BIGINT NOT NULL DEFAULT 0,
  "threat_events" BIGINT NOT NULL DEFAULT 0,
  "alerts"        BIGINT NOT NULL DEFAULT 0
);
INSERT INTO "feed_versions" ("shard") SELECT g FROM generate_series(0, 15) g;

-- Adds 1 to the counter TG_ARGV[0] once per transaction.
CREATE FUNCTION "feed_versions_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  flag TEXT := 'threatwire.feed_bumped_' || TG_ARGV[0];
BEGIN
  IF current_setting(flag, true) IS DISTINCT FROM 'on' THEN
    PERFORM set_config(flag, 'on', true);
    EXECUTE format('UPDATE feed_versions SET %1$I = %1$I + 1 WHERE shard = $1', TG_ARGV[0])
      USING pg_backend_pid() % 16;
  END IF;
  RETURN NULL;
END $$;

-- TRUNCATE has no rows to defer on: bumped at once (it holds the table exclusively anyway).
CREATE FUNCTION "feed_versions_bump_now"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE feed_versions SET %1$I = %1$I + 1 WHERE shard = $1', TG_ARGV[0])
    USING pg_backend_pid() % 16;
  RETURN NULL;
END $$;

-- IOCs, as the CSV and STIX feeds show them.
CREATE CONSTRAINT TRIGGER "iocs_feed_insert_delete" AFTER INSERT OR DELETE ON "iocs"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "feed_versions_bump"('iocs');
CREATE CONSTRAINT TRIGGER "iocs_feed_update" AFTER UPDATE ON "iocs"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD."type" IS DISTINCT FROM NEW."type" OR OLD."value" IS DISTINCT FROM NEW."value"
     OR OLD."risk_score" IS DISTINCT FROM NEW."risk_score" OR OLD."risk_level" IS DISTINCT FROM NEW."risk_level"
     OR OLD."categories" IS DISTINCT FROM NEW."categories" OR OLD."first_seen_at" IS DISTINCT FROM NEW."first_seen_at"
     OR OLD."last_enriched_at" IS DISTINCT FROM NEW."last_enriched_at" OR OLD."sources" IS DISTINCT FROM NEW."sources"
     OR OLD."verdict" IS DISTINCT FROM NEW."verdict")
  EXECUTE FUNCTION "feed_versions_bump"('iocs');
-- IOCs, as the blocklist shows them (address IOCs and their score).
CREATE CONSTRAINT TRIGGER "iocs_feed_blocklist_insert_delete" AFTER INSERT OR DELETE ON "iocs"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "feed_versions_bump"('iocs_blocklist');
CREATE CONSTRAINT TRIGGER "iocs_feed_blocklist_update" AFTER UPDATE ON "iocs"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD."type" IS DISTINCT FROM NEW."type" OR OLD."value" IS DISTINCT FROM NEW."value"
     OR OLD."risk_score" IS DISTINCT FROM NEW."risk_score")
  EXECUTE FUNCTION "feed_versions_bump"('iocs_blocklist');
CREATE TRIGGER "iocs_feed_truncate" AFTER TRUNCATE ON "iocs"
  FOR EACH STATEMENT EXECUTE FUNCTION "feed_versions_bump_now"('iocs');
CREATE TRIGGER "iocs_feed_blocklist_truncate" AFTER TRUNCATE ON "iocs"
  FOR EACH STATEMENT EXECUTE FUNCTION "feed_versions_bump_now"('iocs_blocklist');

-- Decisions, as the blocklist reads them.
CREATE CONSTRAINT TRIGGER "crowdsec_decisions_feed_insert_delete" AFTER INSERT OR DELETE ON "crowdsec_decisions"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "feed_versions_bump"('decisions');
CREATE CONSTRAINT TRIGGER "crowdsec_decisions_feed_update" AFTER UPDATE ON "crowdsec_decisions"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD."value" IS DISTINCT FROM NEW."value" OR OLD."scope" IS DISTINCT FROM NEW."scope"
     OR OLD."type" IS DISTINCT FROM NEW."type" OR OLD."simulated" IS DISTINCT FROM NEW."simulated"
     OR OLD."expires_at" IS DISTINCT FROM NEW."expires_at" OR OLD."deleted_at" IS DISTINCT FROM NEW."deleted_at")
  EXECUTE FUNCTION "feed_versions_bump"('decisions');
CREATE TRIGGER "crowdsec_decisions_feed_truncate" AFTER TRUNCATE ON "crowdsec_decisions"
  FOR EACH STATEMENT EXECUTE FUNCTION "feed_versions_bump_now"('decisions');

-- Threat events and alerts, as STIX sightings count them.
CREATE CONSTRAINT TRIGGER "threat_events_feed_insert_delete" AFTER INSERT OR DELETE ON "threat_events"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "feed_versions_bump"('threat_events');
CREATE CONSTRAINT TRIGGER "threat_events_feed_update" AFTER UPDATE ON "threat_events"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD."source_ip" IS DISTINCT FROM NEW."source_ip" OR OLD."occurred_at" IS DISTINCT FROM NEW."occurred_at")
  EXECUTE FUNCTION "feed_versions_bump"('threat_events');
CREATE TRIGGER "threat_events_feed_truncate" AFTER TRUNCATE ON "threat_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "feed_versions_bump_now"('threat_events');
CREATE CONSTRAINT TRIGGER "crowdsec_alerts_feed_insert_delete" AFTER INSERT OR DELETE ON "crowdsec_alerts"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "feed_versions_bump"('alerts');
CREATE CONSTRAINT TRIGGER "crowdsec_alerts_feed_update" AFTER UPDATE ON "crowdsec_alerts"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD."source_ip" IS DISTINCT FROM NEW."source_ip" OR OLD."source_value" IS DISTINCT FROM NEW."source_value"
     OR OLD."start_at" IS DISTINCT FROM NEW."start_at")
  EXECUTE FUNCTION "feed_versions_bump"('alerts');
CREATE TRIGGER "crowdsec_alerts_feed_truncate" AFTER TRUNCATE ON "crowdsec_alerts"
  FOR EACH STATEMENT EXECUTE FUNCTION "feed_versions_bump_now"('alerts');

-- The next instant a decision leaves the blocklist by expiring: one probe of this index
-- (the conditions on its first two columns are equalities, so it is read in expiry order).
CREATE INDEX "crowdsec_decisions_deleted_at_simulated_expires_at_idx"
  ON "crowdsec_decisions"("deleted_at", "simulated", "expires_at");

-- The next instant an analyst verdict stops counting: each IOC whose verdict has an
-- expiry has a row here, kept by a trigger on the verdict column, read through its index.
CREATE TABLE "feed_verdict_expiries" (
  "ioc_id"     UUID PRIMARY KEY,
  "expires_at" TIMESTAMPTZ(3) NOT NULL
);
CREATE INDEX "feed_verdict_expiries_expires_at_idx" ON "feed_verdict_expiries"("expires_at");
INSERT INTO "feed_verdict_expiries" ("ioc_id", "expires_at")
  SELECT "id", ("verdict"->>'expiresAt')::timestamptz FROM "iocs" WHERE "verdict"->>'expiresAt' IS NOT NULL;

CREATE FUNCTION "iocs_feed_verdict_expiry"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM feed_verdict_expiries WHERE ioc_id = OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.verdict->>'expiresAt' IS NOT NULL THEN
    INSERT INTO feed_verdict_expiries (ioc_id, expires_at)
      VALUES (NEW.id, (NEW.verdict->>'expiresAt')::timestamptz)
      ON CONFLICT (ioc_id) DO UPDATE SET expires_at = EXCLUDED.expires_at;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER "iocs_feed_verdict_expiry_insert" AFTER INSERT ON "iocs"
  FOR EACH ROW WHEN (NEW."verdict" IS NOT NULL) EXECUTE FUNCTION "iocs_feed_verdict_expiry"();
CREATE TRIGGER "iocs_feed_verdict_expiry_update" AFTER UPDATE OF "verdict", "id" ON "iocs"
  FOR EACH ROW WHEN (OLD."verdict" IS DISTINCT FROM NEW."verdict" OR OLD."id" IS DISTINCT FROM NEW."id")
  EXECUTE FUNCTION "iocs_feed_verdict_expiry"();
CREATE TRIGGER "iocs_feed_verdict_expiry_delete" AFTER DELETE ON "iocs"
  FOR EACH ROW WHEN (OLD."verdict" IS NOT NULL) EXECUTE FUNCTION "iocs_feed_verdict_expiry"();
CREATE FUNCTION "feed_verdict_expiries_clear"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM feed_verdict_expiries;
  RETURN NULL;
END $$;
CREATE TRIGGER "iocs_feed_verdict_expiry_truncate" AFTER TRUNCATE ON "iocs"
  FOR EACH STATEMENT EXECUTE FUNCTION "feed_verdict_expiries_clear"();
