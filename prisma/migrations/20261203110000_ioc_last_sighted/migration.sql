-- Every order of the iocs list becomes an index scan with keyset pagination: the newest
-- sighting is kept on the IOC row (maintained by the triggers below as threat events and
-- CrowdSec alerts and decisions are written) instead of being computed for every
-- filtered IOC at read time, and score, enrichment and sighting orders get (key, id)
-- indexes. (risk_score, id) also serves the minScore filter, so the single-column index goes.
ALTER TABLE "iocs" ADD COLUMN "last_sighted_at" TIMESTAMPTZ(3);

DROP INDEX "iocs_risk_score_idx";
CREATE INDEX "iocs_risk_score_id_idx" ON "iocs"("risk_score", "id");
CREATE INDEX "iocs_last_enriched_at_id_idx" ON "iocs"("last_enriched_at", "id");
CREATE INDEX "iocs_last_sighted_at_id_idx" ON "iocs"("last_sighted_at", "id");

-- Existing IOCs: their newest sighting so far.
UPDATE "iocs" SET "last_sighted_at" = GREATEST(
  (SELECT max(e.occurred_at) FROM threat_events e
    WHERE iocs.type IN ('IPV4', 'IPV6')
      AND e.source_ip = (CASE WHEN iocs.type IN ('IPV4', 'IPV6') THEN iocs.value::inet END)),
  (SELECT max(a.start_at) FROM crowdsec_alerts a WHERE a.source_value = iocs.value OR a.source_ip = iocs.value),
  (SELECT max(d.created_at) FROM crowdsec_decisions d WHERE d.value = iocs.value));

-- Moves IOCs' last_sighted_at forward to the newest of (value, at) pairs. Rows are locked in
-- id order, so concurrent writers touching the same IOCs never deadlock; IOCs already
-- sighted later are not written at all. Values that are not IOCs cost one index probe.
CREATE FUNCTION "iocs_sighted"("sighted" text[], "ats" timestamptz[]) RETURNS void
LANGUAGE sql AS $$
  WITH s AS (
    SELECT u.value, max(u.at) AS at FROM unnest(sighted, ats) AS u(value, at)
    WHERE u.value IS NOT NULL AND u.at IS NOT NULL GROUP BY u.value),
  l AS (
    SELECT i.id, s.at FROM iocs i JOIN s ON i.value = s.value
    WHERE i.last_sighted_at IS NULL OR i.last_sighted_at < s.at
    ORDER BY i.id FOR UPDATE OF i)
  UPDATE iocs SET last_sighted_at = GREATEST(iocs.last_sighted_at, l.at) FROM l WHERE iocs.id = l.id
$$;

-- One call per statement (transition tables), not per row.
CREATE FUNCTION "threat_events_sight_iocs"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM iocs_sighted(array_agg(host(n.source_ip)), array_agg(n.occurred_at)) FROM new_rows n;
  RETURN NULL;
END $$;

CREATE FUNCTION "crowdsec_alerts_sight_iocs"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM iocs_sighted(array_agg(v.value), array_agg(v.at))
    FROM new_rows n CROSS JOIN LATERAL (VALUES (n.source_value, n.start_at), (n.source_ip, n.start_at)) AS v(value, at);
  RETURN NULL;
END $$;

CREATE FUNCTION "crowdsec_decisions_sight_iocs"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM iocs_sighted(array_agg(n.value), array_agg(n.created_at)) FROM new_rows n;
  RETURN NULL;
END $$;

CREATE TRIGGER "threat_events_sight_iocs" AFTER INSERT ON "threat_events"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION threat_events_sight_iocs();
CREATE TRIGGER "crowdsec_alerts_sight_iocs" AFTER INSERT ON "crowdsec_alerts"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crowdsec_alerts_sight_iocs();
CREATE TRIGGER "crowdsec_decisions_sight_iocs" AFTER INSERT ON "crowdsec_decisions"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crowdsec_decisions_sight_iocs();
