-- IOC sightings match an alert by its source value or its source IP: with this index the
-- OR is a BitmapOr of two index scans instead of a scan of every alert.
CREATE INDEX "crowdsec_alerts_source_ip_start_at_idx" ON "crowdsec_alerts"("source_ip", "start_at");
