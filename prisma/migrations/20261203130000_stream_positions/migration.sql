-- Stream positions for resumable subscriptions (threatDetected, decisionAdded,
-- decisionDeleted, alertCreated). A row's position is taken from its table's sequence
-- by a BEFORE trigger while the trigger holds a transaction-level advisory lock of its
-- stream, so the lock is kept until the writing transaction commits or aborts: a
-- transaction that takes positions waits for every earlier one to end. Positions are
-- therefore commit-ordered — once a position is committed, every smaller position is
-- either committed too or will never be — and a reader that sees position p already
-- sees every smaller committed one. Positions of aborted transactions, and of rows an
-- ON CONFLICT skipped, leave gaps; nothing relies on positions being dense.
-- Advisory lock keys: (0x74770002 = 1953955842, stream number), apart from the
-- workers' session locks (0x74770001).

CREATE SEQUENCE "threat_events_stream_position_seq" AS BIGINT;
ALTER TABLE "threat_events" ADD COLUMN "stream_position" BIGINT NOT NULL DEFAULT 0;
UPDATE "threat_events" SET "stream_position" = nextval('threat_events_stream_position_seq');
CREATE UNIQUE INDEX "threat_events_stream_position_key" ON "threat_events"("stream_position");

CREATE FUNCTION "threat_events_take_position"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1953955842, 1);
  NEW.stream_position := nextval('threat_events_stream_position_seq');
  RETURN NEW;
END $$;
CREATE TRIGGER "threat_events_take_position" BEFORE INSERT ON "threat_events"
  FOR EACH ROW EXECUTE FUNCTION "threat_events_take_position"();

-- Decisions: one sequence and one lock for both streams (added, deleted), so a
-- transaction that adds and deletes decisions takes a single lock.
CREATE SEQUENCE "crowdsec_decisions_position_seq" AS BIGINT;
ALTER TABLE "crowdsec_decisions" ADD COLUMN "added_position" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "crowdsec_decisions" ADD COLUMN "deleted_position" BIGINT;
UPDATE "crowdsec_decisions" SET "added_position" = nextval('crowdsec_decisions_position_seq');
UPDATE "crowdsec_decisions" SET "deleted_position" = nextval('crowdsec_decisions_position_seq')
  WHERE "deleted_at" IS NOT NULL;
CREATE UNIQUE INDEX "crowdsec_decisions_added_position_key" ON "crowdsec_decisions"("added_position");
CREATE UNIQUE INDEX "crowdsec_decisions_deleted_position_key" ON "crowdsec_decisions"("deleted_position");

CREATE FUNCTION "crowdsec_decisions_take_position"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1953955842, 2);
  IF TG_OP = 'INSERT' THEN
    NEW.added_position := nextval('crowdsec_decisions_position_seq');
    IF NEW.deleted_at IS NOT NULL THEN
      NEW.deleted_position := nextval('crowdsec_decisions_position_seq');
    END IF;
  ELSE
    NEW.deleted_position := nextval('crowdsec_decisions_position_seq');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER "crowdsec_decisions_take_added_position" BEFORE INSERT ON "crowdsec_decisions"
  FOR EACH ROW EXECUTE FUNCTION "crowdsec_decisions_take_position"();
CREATE TRIGGER "crowdsec_decisions_take_deleted_position" BEFORE UPDATE OF "deleted_at" ON "crowdsec_decisions"
  FOR EACH ROW WHEN (OLD."deleted_at" IS NULL AND NEW."deleted_at" IS NOT NULL)
  EXECUTE FUNCTION "crowdsec_decisions_take_position"();

CREATE SEQUENCE "crowdsec_alerts_stream_position_seq" AS BIGINT;
ALTER TABLE "crowdsec_alerts" ADD COLUMN "stream_position" BIGINT NOT NULL DEFAULT 0;
UPDATE "crowdsec_alerts" SET "stream_position" = nextval('crowdsec_alerts_stream_position_seq');
CREATE UNIQUE INDEX "crowdsec_alerts_stream_position_key" ON "crowdsec_alerts"("stream_position");

CREATE FUNCTION "crowdsec_alerts_take_position"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1953955842, 3);
  NEW.stream_position := nextval('crowdsec_alerts_stream_position_seq');
  RETURN NEW;
END $$;
CREATE TRIGGER "crowdsec_alerts_take_position" BEFORE INSERT ON "crowdsec_alerts"
  FOR EACH ROW EXECUTE FUNCTION "crowdsec_alerts_take_position"();
