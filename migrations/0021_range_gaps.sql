-- The dashboard's custom time ranges (`from` and `to` both inside the traffic): which endpoints
-- were called within a range, without one lookup in the minute series per endpoint.
--
-- An endpoint whose calls span a range on both sides was called within it unless the range
-- lies inside one of its idle stretches: two consecutive minutes of its series with no call
-- between them. `endpoint_gaps` keeps every such stretch of at least one idle minute, as the
-- pair of called minutes (`lo`, `hi`) around it; "not called within [a, b]" is then "a gap
-- with lo < a and hi > b". Minutes deleted by retention leave an idle stretch that starts at
-- -2^40 (an unknown past), and an endpoint whose whole series was deleted keeps one stretch
-- from -2^40 to 2^40: for a range there, the series has no call, as before.
--
-- Which gaps contain a range is a stabbing query; a B-tree answers it with levels: a gap of
-- length L (hi - lo, at least 2) is on level floor(log4(L)) (0 to 20: lengths below 4^21
-- minutes). On level k a gap containing [a, b] starts after b - 4^(k+1), so each level is
-- one range scan of (lvl, lo) over a window a few of its gap lengths wide, in which one
-- endpoint has at most a few gaps of that level (its gaps do not overlap). Endpoints busy
-- in every minute have no gap at all, and a range costs nothing for them.
--
-- Kept by triggers on endpoint_minutes, whose rows are only inserted and deleted (a row
-- never changes its endpoint or minute: that would now be refused).

CREATE TABLE endpoint_gaps (
    endpoint_id INTEGER NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    lo          INTEGER NOT NULL,   -- called minute before the idle stretch (or -2^40)
    hi          INTEGER NOT NULL,   -- called minute after it (or 2^40)
    lvl         INTEGER NOT NULL,   -- floor(log4(hi - lo))
    PRIMARY KEY (endpoint_id, lo)
) WITHOUT ROWID;
CREATE INDEX endpoint_gaps_level ON endpoint_gaps (lvl, lo, hi, endpoint_id);

-- The idle stretches of the series as it stands.
INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
SELECT endpoint_id, prev, minute, ((minute - prev >= 4) + (minute - prev >= 16) + (minute - prev >= 64) + (minute - prev >= 256) + (minute - prev >= 1024) + (minute - prev >= 4096) + (minute - prev >= 16384) + (minute - prev >= 65536) + (minute - prev >= 262144) + (minute - prev >= 1048576) + (minute - prev >= 4194304) + (minute - prev >= 16777216) + (minute - prev >= 67108864) + (minute - prev >= 268435456) + (minute - prev >= 1073741824) + (minute - prev >= 4294967296) + (minute - prev >= 17179869184) + (minute - prev >= 68719476736) + (minute - prev >= 274877906944) + (minute - prev >= 1099511627776))
FROM (SELECT endpoint_id, minute,
             LAG(minute) OVER (PARTITION BY endpoint_id ORDER BY minute) AS prev
      FROM endpoint_minutes)
WHERE prev IS NOT NULL AND minute - prev > 1;
-- Series whose start retention deleted: idle since an unknown past.
INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
SELECT m.endpoint_id, -1099511627776, m.first_minute, ((m.first_minute + 1099511627776 >= 4) + (m.first_minute + 1099511627776 >= 16) + (m.first_minute + 1099511627776 >= 64) + (m.first_minute + 1099511627776 >= 256) + (m.first_minute + 1099511627776 >= 1024) + (m.first_minute + 1099511627776 >= 4096) + (m.first_minute + 1099511627776 >= 16384) + (m.first_minute + 1099511627776 >= 65536) + (m.first_minute + 1099511627776 >= 262144) + (m.first_minute + 1099511627776 >= 1048576) + (m.first_minute + 1099511627776 >= 4194304) + (m.first_minute + 1099511627776 >= 16777216) + (m.first_minute + 1099511627776 >= 67108864) + (m.first_minute + 1099511627776 >= 268435456) + (m.first_minute + 1099511627776 >= 1073741824) + (m.first_minute + 1099511627776 >= 4294967296) + (m.first_minute + 1099511627776 >= 17179869184) + (m.first_minute + 1099511627776 >= 68719476736) + (m.first_minute + 1099511627776 >= 274877906944) + (m.first_minute + 1099511627776 >= 1099511627776))
FROM (SELECT endpoint_id, MIN(minute) AS first_minute FROM endpoint_minutes GROUP BY endpoint_id) m
JOIN endpoints e ON e.id = m.endpoint_id
WHERE e.first_seen / 60000000000 - (e.first_seen % 60000000000 < 0) < m.first_minute;
-- Called endpoints with no minute left.
INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
SELECT e.id, -1099511627776, 1099511627776, 20 FROM endpoints e
WHERE e.first_seen IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM endpoint_minutes m WHERE m.endpoint_id = e.id);

CREATE TRIGGER minutes_gap_insert AFTER INSERT ON endpoint_minutes
BEGIN
    -- The newest minute, after an idle stretch: a gap from the one before.
    INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
    SELECT NEW.endpoint_id, p.m, NEW.minute, ((NEW.minute - p.m >= 4) + (NEW.minute - p.m >= 16) + (NEW.minute - p.m >= 64) + (NEW.minute - p.m >= 256) + (NEW.minute - p.m >= 1024) + (NEW.minute - p.m >= 4096) + (NEW.minute - p.m >= 16384) + (NEW.minute - p.m >= 65536) + (NEW.minute - p.m >= 262144) + (NEW.minute - p.m >= 1048576) + (NEW.minute - p.m >= 4194304) + (NEW.minute - p.m >= 16777216) + (NEW.minute - p.m >= 67108864) + (NEW.minute - p.m >= 268435456) + (NEW.minute - p.m >= 1073741824) + (NEW.minute - p.m >= 4294967296) + (NEW.minute - p.m >= 17179869184) + (NEW.minute - p.m >= 68719476736) + (NEW.minute - p.m >= 274877906944) + (NEW.minute - p.m >= 1099511627776))
    FROM (SELECT MAX(minute) AS m FROM endpoint_minutes
          WHERE endpoint_id = NEW.endpoint_id AND minute < NEW.minute) p
    WHERE p.m IS NOT NULL AND NEW.minute - p.m > 1
      AND NOT EXISTS (SELECT 1 FROM endpoint_minutes
                      WHERE endpoint_id = NEW.endpoint_id AND minute > NEW.minute)
      AND NOT EXISTS (SELECT 1 FROM endpoint_gaps g
                      WHERE g.endpoint_id = NEW.endpoint_id AND g.lo < NEW.minute AND g.hi > NEW.minute
                        AND g.lo = (SELECT MAX(lo) FROM endpoint_gaps
                                    WHERE endpoint_id = NEW.endpoint_id AND lo < NEW.minute));
    -- The oldest minute, before an idle stretch (a capture read out of order): a gap to the
    -- one after.
    INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
    SELECT NEW.endpoint_id, NEW.minute, n.m, ((n.m - NEW.minute >= 4) + (n.m - NEW.minute >= 16) + (n.m - NEW.minute >= 64) + (n.m - NEW.minute >= 256) + (n.m - NEW.minute >= 1024) + (n.m - NEW.minute >= 4096) + (n.m - NEW.minute >= 16384) + (n.m - NEW.minute >= 65536) + (n.m - NEW.minute >= 262144) + (n.m - NEW.minute >= 1048576) + (n.m - NEW.minute >= 4194304) + (n.m - NEW.minute >= 16777216) + (n.m - NEW.minute >= 67108864) + (n.m - NEW.minute >= 268435456) + (n.m - NEW.minute >= 1073741824) + (n.m - NEW.minute >= 4294967296) + (n.m - NEW.minute >= 17179869184) + (n.m - NEW.minute >= 68719476736) + (n.m - NEW.minute >= 274877906944) + (n.m - NEW.minute >= 1099511627776))
    FROM (SELECT MIN(minute) AS m FROM endpoint_minutes
          WHERE endpoint_id = NEW.endpoint_id AND minute > NEW.minute) n
    WHERE n.m IS NOT NULL AND n.m - NEW.minute > 1
      AND NOT EXISTS (SELECT 1 FROM endpoint_minutes
                      WHERE endpoint_id = NEW.endpoint_id AND minute < NEW.minute)
      AND NOT EXISTS (SELECT 1 FROM endpoint_gaps g
                      WHERE g.endpoint_id = NEW.endpoint_id AND g.lo < NEW.minute AND g.hi > NEW.minute);
    -- A minute inside an idle stretch splits it: the part after it is a new gap (when at least
    -- one idle minute long), the stretch itself now ends at it, and goes when nothing is left.
    INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
    SELECT NEW.endpoint_id, NEW.minute, g.hi, ((g.hi - NEW.minute >= 4) + (g.hi - NEW.minute >= 16) + (g.hi - NEW.minute >= 64) + (g.hi - NEW.minute >= 256) + (g.hi - NEW.minute >= 1024) + (g.hi - NEW.minute >= 4096) + (g.hi - NEW.minute >= 16384) + (g.hi - NEW.minute >= 65536) + (g.hi - NEW.minute >= 262144) + (g.hi - NEW.minute >= 1048576) + (g.hi - NEW.minute >= 4194304) + (g.hi - NEW.minute >= 16777216) + (g.hi - NEW.minute >= 67108864) + (g.hi - NEW.minute >= 268435456) + (g.hi - NEW.minute >= 1073741824) + (g.hi - NEW.minute >= 4294967296) + (g.hi - NEW.minute >= 17179869184) + (g.hi - NEW.minute >= 68719476736) + (g.hi - NEW.minute >= 274877906944) + (g.hi - NEW.minute >= 1099511627776))
    FROM endpoint_gaps g
    WHERE g.endpoint_id = NEW.endpoint_id AND g.hi > NEW.minute AND g.hi - NEW.minute > 1
      AND g.lo = (SELECT MAX(lo) FROM endpoint_gaps WHERE endpoint_id = NEW.endpoint_id AND lo < NEW.minute);
    UPDATE endpoint_gaps SET hi = NEW.minute, lvl = ((NEW.minute - lo >= 4) + (NEW.minute - lo >= 16) + (NEW.minute - lo >= 64) + (NEW.minute - lo >= 256) + (NEW.minute - lo >= 1024) + (NEW.minute - lo >= 4096) + (NEW.minute - lo >= 16384) + (NEW.minute - lo >= 65536) + (NEW.minute - lo >= 262144) + (NEW.minute - lo >= 1048576) + (NEW.minute - lo >= 4194304) + (NEW.minute - lo >= 16777216) + (NEW.minute - lo >= 67108864) + (NEW.minute - lo >= 268435456) + (NEW.minute - lo >= 1073741824) + (NEW.minute - lo >= 4294967296) + (NEW.minute - lo >= 17179869184) + (NEW.minute - lo >= 68719476736) + (NEW.minute - lo >= 274877906944) + (NEW.minute - lo >= 1099511627776))
    WHERE endpoint_id = NEW.endpoint_id AND hi > NEW.minute
      AND lo = (SELECT MAX(lo) FROM endpoint_gaps WHERE endpoint_id = NEW.endpoint_id AND lo < NEW.minute);
    DELETE FROM endpoint_gaps
    WHERE endpoint_id = NEW.endpoint_id AND hi = NEW.minute AND hi - lo < 2
      AND lo = (SELECT MAX(lo) FROM endpoint_gaps WHERE endpoint_id = NEW.endpoint_id AND lo < NEW.minute);
END;

-- A minute deleted (retention deletes the oldest first): the stretches on either side of it
-- become one, from the called minute before it (or the unknown past) to the one after it
-- (or 2^40 when none is left). Nothing for an endpoint being deleted (its gaps go with it).
CREATE TRIGGER minutes_gap_delete AFTER DELETE ON endpoint_minutes
BEGIN
    DELETE FROM endpoint_gaps
    WHERE endpoint_id = OLD.endpoint_id AND hi = OLD.minute
      AND lo = (SELECT MAX(lo) FROM endpoint_gaps WHERE endpoint_id = OLD.endpoint_id AND lo < OLD.minute);
    DELETE FROM endpoint_gaps WHERE endpoint_id = OLD.endpoint_id AND lo = OLD.minute;
    INSERT INTO endpoint_gaps (endpoint_id, lo, hi, lvl)
    SELECT OLD.endpoint_id, s.lo, s.hi, ((s.hi - s.lo >= 4) + (s.hi - s.lo >= 16) + (s.hi - s.lo >= 64) + (s.hi - s.lo >= 256) + (s.hi - s.lo >= 1024) + (s.hi - s.lo >= 4096) + (s.hi - s.lo >= 16384) + (s.hi - s.lo >= 65536) + (s.hi - s.lo >= 262144) + (s.hi - s.lo >= 1048576) + (s.hi - s.lo >= 4194304) + (s.hi - s.lo >= 16777216) + (s.hi - s.lo >= 67108864) + (s.hi - s.lo >= 268435456) + (s.hi - s.lo >= 1073741824) + (s.hi - s.lo >= 4294967296) + (s.hi - s.lo >= 17179869184) + (s.hi - s.lo >= 68719476736) + (s.hi - s.lo >= 274877906944) + (s.hi - s.lo >= 1099511627776))
    FROM (SELECT COALESCE((SELECT MAX(minute) FROM endpoint_minutes
                           WHERE endpoint_id = OLD.endpoint_id AND minute < OLD.minute), -1099511627776) AS lo,
                 COALESCE((SELECT MIN(minute) FROM endpoint_minutes
                           WHERE endpoint_id = OLD.endpoint_id AND minute > OLD.minute), 1099511627776) AS hi) s
    WHERE s.hi - s.lo > 1
      AND EXISTS (SELECT 1 FROM endpoints WHERE id = OLD.endpoint_id);
END;

CREATE TRIGGER minutes_gap_move BEFORE UPDATE OF endpoint_id, minute ON endpoint_minutes
WHEN NEW.endpoint_id IS NOT OLD.endpoint_id OR NEW.minute IS NOT OLD.minute
BEGIN
    SELECT RAISE(ABORT, 'endpoint_minutes rows are inserted and deleted, never moved (endpoint_gaps)');
END;
