-- Stream positions of threat events and CrowdSec alerts without a trigger call per row:
-- the column's default takes the next value of the stream's sequence, and a BEFORE
-- INSERT trigger FOR EACH STATEMENT takes the stream's transaction-level advisory lock
-- before the statement evaluates any row (and so any default). The guarantee of the
-- migration `stream_positions` holds unchanged: a transaction takes positions only
-- while it holds its stream's lock, which it keeps until it ends, so positions are
-- commit-ordered. Writers never set the column themselves.
-- (Decisions keep their row trigger: a decision inserted already deleted takes two positions.)

DROP TRIGGER "threat_events_take_position" ON "threat_events";
DROP FUNCTION "threat_events_take_position"();
ALTER TABLE "threat_events" ALTER COLUMN "stream_position" SET DEFAULT nextval('threat_events_stream_position_seq');
ALTER SEQUENCE "threat_events_stream_position_seq" OWNED BY "threat_events"."stream_position";
CREATE FUNCTION "threat_events_lock_stream"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1953955842, 1);
  RETURN NULL;
END $$;
CREATE TRIGGER "threat_events_lock_stream" BEFORE INSERT ON "threat_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "threat_events_lock_stream"();

DROP TRIGGER "crowdsec_alerts_take_position" ON "crowdsec_alerts";
DROP FUNCTION "crowdsec_alerts_take_position"();
ALTER TABLE "crowdsec_alerts" ALTER COLUMN "stream_position" SET DEFAULT nextval('crowdsec_alerts_stream_position_seq');
ALTER SEQUENCE "crowdsec_alerts_stream_position_seq" OWNED BY "crowdsec_alerts"."stream_position";
CREATE FUNCTION "crowdsec_alerts_lock_stream"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1953955842, 3);
  RETURN NULL;
END $$;
CREATE TRIGGER "crowdsec_alerts_lock_stream" BEFORE INSERT ON "crowdsec_alerts"
  FOR EACH STATEMENT EXECUTE FUNCTION "crowdsec_alerts_lock_stream"();
