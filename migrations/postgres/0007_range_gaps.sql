-- In step with migrations/0021_range_gaps.sql: the idle stretches of each endpoint's minute
-- series, for the dashboard's custom time ranges. See the SQLite migration for the
-- definitions (gaps, levels, the -2^40 / 2^40 ends left by retention).
--
-- One difference: PostgreSQL fires AFTER ROW triggers once the whole statement has run, when
-- a trigger would see every minute of a multi-row insert or delete at once. These triggers
-- fire BEFORE each row instead, where the rows the statement handled before are visible and
-- this one is not yet (inserted) or still is (deleted). A BEFORE INSERT trigger also fires
-- for a row that ON CONFLICT turns into an update: it changes nothing when the minute is
-- already there.

CREATE TABLE endpoint_gaps (
    endpoint_id BIGINT NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    lo          BIGINT NOT NULL,
    hi          BIGINT NOT NULL,
    lvl         BIGINT NOT NULL,
    PRIMARY KEY (endpoint_id, lo)
);
CREATE INDEX endpoint_gaps_level ON endpoint_gaps (lvl, lo, hi, endpoint_id);

-- floor(log4(len)) for len >= 2, 0 to 20 (as the SQLite migration's sum of comparisons).
CREATE FUNCTION shadowtap_gap_level(len BIGINT) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT COUNT(*)::BIGINT FROM generate_series(1, 20) k WHERE len >= power(4::numeric, k)
$$;

INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
SELECT endpoint_id, prev, minute, shadowtap_gap_level(minute - prev)
FROM (SELECT endpoint_id, minute,
             LAG(minute) OVER (PARTITION BY endpoint_id ORDER BY minute) AS prev
      FROM endpoint_minutes) s
WHERE prev IS NOT NULL AND minute - prev > 1;
INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
SELECT m.endpoint_id, -1099511627776, m.first_minute, shadowtap_gap_level(m.first_minute + 1099511627776)
FROM (SELECT endpoint_id, MIN(minute) AS first_minute FROM endpoint_minutes GROUP BY endpoint_id) m
JOIN endpoints e ON e.id = m.endpoint_id
WHERE floor(e.first_seen / 60000000000.0) < m.first_minute;
INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
SELECT e.id, -1099511627776, 1099511627776, 20 FROM endpoints e
WHERE e.first_seen IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM endpoint_minutes m WHERE m.endpoint_id = e.id);

CREATE FUNCTION shadowtap_gaps() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e   BIGINT;
    m   BIGINT;
    p   BIGINT;
    n   BIGINT;
    glo BIGINT;
    ghi BIGINT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.endpoint_id IS DISTINCT FROM OLD.endpoint_id OR NEW.minute IS DISTINCT FROM OLD.minute THEN
            RAISE EXCEPTION 'endpoint_minutes rows are inserted and deleted, never moved (endpoint_gaps)';
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' THEN
        e := NEW.endpoint_id;
        m := NEW.minute;
        IF EXISTS (SELECT 1 FROM endpoint_minutes WHERE endpoint_id = e AND minute = m) THEN
            RETURN NEW; -- ON CONFLICT: an update of a minute already there
        END IF;
        SELECT g.lo, g.hi INTO glo, ghi FROM endpoint_gaps g
        WHERE g.endpoint_id = e AND g.lo < m ORDER BY g.lo DESC LIMIT 1;
        IF glo IS NOT NULL AND ghi > m THEN
            -- Inside an idle stretch: split it.
            DELETE FROM endpoint_gaps WHERE endpoint_id = e AND lo = glo;
            IF m - glo > 1 THEN
                INSERT INTO endpoint_gaps VALUES (e, glo, m, shadowtap_gap_level(m - glo));
            END IF;
            IF ghi - m > 1 THEN
                INSERT INTO endpoint_gaps VALUES (e, m, ghi, shadowtap_gap_level(ghi - m));
            END IF;
            RETURN NEW;
        END IF;
        SELECT MAX(minute) INTO p FROM endpoint_minutes WHERE endpoint_id = e AND minute < m;
        SELECT MIN(minute) INTO n FROM endpoint_minutes WHERE endpoint_id = e AND minute > m;
        IF n IS NULL AND p IS NOT NULL AND m - p > 1 THEN
            INSERT INTO endpoint_gaps VALUES (e, p, m, shadowtap_gap_level(m - p));
        ELSIF p IS NULL AND n IS NOT NULL AND n - m > 1 THEN
            INSERT INTO endpoint_gaps VALUES (e, m, n, shadowtap_gap_level(n - m));
        END IF;
        RETURN NEW;
    END IF;
    -- DELETE: the stretches on either side of the minute become one.
    e := OLD.endpoint_id;
    m := OLD.minute;
    DELETE FROM endpoint_gaps WHERE endpoint_id = e AND lo = m;
    DELETE FROM endpoint_gaps WHERE endpoint_id = e AND hi = m
        AND lo = (SELECT MAX(lo) FROM endpoint_gaps WHERE endpoint_id = e AND lo < m);
    IF EXISTS (SELECT 1 FROM endpoints WHERE id = e) THEN
        SELECT COALESCE(MAX(minute), -1099511627776) INTO p FROM endpoint_minutes
        WHERE endpoint_id = e AND minute < m;
        SELECT COALESCE(MIN(minute), 1099511627776) INTO n FROM endpoint_minutes
        WHERE endpoint_id = e AND minute > m;
        IF n - p > 1 THEN
            INSERT INTO endpoint_gaps VALUES (e, p, n, shadowtap_gap_level(n - p));
        END IF;
    END IF;
    RETURN OLD;
END;
$$;

CREATE TRIGGER minutes_gap_insert BEFORE INSERT ON endpoint_minutes
    FOR EACH ROW EXECUTE FUNCTION shadowtap_gaps();
CREATE TRIGGER minutes_gap_delete BEFORE DELETE ON endpoint_minutes
    FOR EACH ROW EXECUTE FUNCTION shadowtap_gaps();
CREATE TRIGGER minutes_gap_move BEFORE UPDATE OF endpoint_id, minute ON endpoint_minutes
    FOR EACH ROW EXECUTE FUNCTION shadowtap_gaps();
