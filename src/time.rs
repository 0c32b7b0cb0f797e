//! Packet time.
//!
//! Everything shadowtap records is dated by the capture, never by the wall clock of the machine that
//! reads it: a pcap replayed a year later still says when the traffic happened.

use std::fmt;

/// A point in time as nanoseconds since the Unix epoch (UTC), as stamped on a captured packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from seconds and nanoseconds.
    pub fn from_parts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp(
            secs.saturating_mul(1_000_000_000)
                .saturating_add(i64::from(nanos)),
        )
    }

    /// The wall clock now (used only to expire idle state during a live capture).
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::from_parts(d.as_secs() as i64, d.subsec_nanos())
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (floor).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// `self - earlier` in nanoseconds, saturating.
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Adds a number of nanoseconds, saturating.
    pub fn plus_nanos(self, n: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(n))
    }

    /// Zeek's format: seconds with six decimals (`1320279566.452687`).
    pub fn zeek(self) -> ZeekTime {
        ZeekTime(self)
    }

    /// ISO 8601 in UTC with microseconds (`2011-11-03T00:19:26.452687Z`).
    pub fn iso8601(self) -> IsoTime {
        IsoTime(self)
    }
}

/// Display adapter for [`Timestamp::zeek`].
pub struct ZeekTime(Timestamp);

impl fmt::Display for ZeekTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(f, "{}.{:06}", t.secs(), t.subsec_nanos() / 1000)
    }
}

/// Display adapter for [`Timestamp::iso8601`].
pub struct IsoTime(Timestamp);

impl fmt::Display for IsoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let secs = t.secs();
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            y,
            m,
            d,
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60,
            t.subsec_nanos() / 1000
        )
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01; the inverse of [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 time (`2025-01-31T12:00:00Z`, `2025-01-31T12:00:00.5+02:00`; `t`, `z`
/// and a space for `T` accepted) to nanoseconds since the epoch; `None` when it is not one.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (h, mi, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() {
            return None;
        }
        for k in 0..9 {
            nanos = nanos * 10 + frac.get(k).map_or(0, |c| i64::from(c - b'0'));
        }
    }
    let offset = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (digits(i + 1..i + 3)?, digits(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2011-11-03T00:19:26.452687123Z"),
            Some(1_320_279_566_452_687_123)
        );
        assert_eq!(
            parse_rfc3339("2011-11-03T02:19:26.5+02:00"),
            Some(1_320_279_566_500_000_000)
        );
        assert_eq!(
            parse_rfc3339("1970-01-01t01:00:00-01:00"),
            Some(7_200_000_000_000)
        );
        for bad in [
            "",
            "2011-11-03",
            "2011-11-03T00:19:26",
            "2011-13-03T00:19:26Z",
            "2011-11-03T00:19:26.Z",
            "2011-11-03T00:19:26+0200",
            "2011-11-03T00:19:26Zjunk",
            "yesterday",
            "２０11-11-03T00:19:26Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats() {
        let t = Timestamp::from_parts(1_320_279_566, 452_687_123);
        assert_eq!(t.zeek().to_string(), "1320279566.452687");
        assert_eq!(t.iso8601().to_string(), "2011-11-03T00:19:26.452687Z");
        assert_eq!(
            Timestamp(0).iso8601().to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        let neg = Timestamp(-1);
        assert_eq!(neg.iso8601().to_string(), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn civil_round_trip() {
        for days in [
            -800_000i64,
            -1,
            0,
            1,
            59,
            60,
            365,
            10_957,
            19_000,
            2_932_896,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
