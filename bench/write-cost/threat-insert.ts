/**
 * Threat events as live ingestion writes them, generated in PostgreSQL: `$1` rows with
 * times within `window` (an SQL interval) of now, sources skewed towards a few thousand
 * addresses, five countries and categories, twelve ports.
 */
export const threatInsertSql = (
  window: string,
) => `INSERT INTO threat_events (source_ip, destination_ip, destination_port, protocol,
    threat_type, severity, confidence, occurred_at, country_code, latitude, longitude, geo_approximate, category,
    category_confidence, classification_method)
  SELECT ('100.' || (k / 250 % 250) || '.' || (k % 250) || '.1')::inet, '10.0.0.1'::inet,
         (ARRAY[22,23,80,443,445,3389,8080,5900,25,53,3306,6379])[1 + (k + g % 2) % 12], 'tcp',
         'type-' || (k % 8), 1 + k % 10, 0.9, now() - random() * ${window}, (ARRAY['US','CN','RU','DE','FR'])[1 + k % 5],
         (ARRAY[39.8,35.0,61.5,51.2,46.2])[1 + k % 5], (ARRAY[-98.6,103.8,105.3,10.5,2.2])[1 + k % 5], true,
         (ARRAY['BRUTEFORCE','SCAN','EXPLOIT','MALWARE','OTHER'])[1 + k % 5]::"ThreatCategory", 0.8, 'RULES'
  FROM generate_series(1, $1::int) g, LATERAL (SELECT floor(power(random(), 3) * 20000)::int + 0 * g AS k) r`;
