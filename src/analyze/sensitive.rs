//! Sensitive data detection with validation.
//!
//! [`scan_text`] finds sensitive values in free text (query values, header values, JSON
//! string values); [`classify_field`] does the same for a *named* field and adds what the
//! name tells (a `password` field is a password whatever its value looks like). Every hit is
//! validated beyond its shape — Luhn and issuer prefixes for cards, the SSA rules for SSNs,
//! mod-97 for IBANs, a decodable JSON header for JWTs — and reported only in redacted form:
//! a [`Finding`] never holds the secret itself.
//!
//! The scanners are hand-rolled byte loops: each one makes a single pass over the text and
//! looks a bounded distance around each candidate, so the total cost is linear. Text past
//! [`MAX_SCAN_BYTES`] is not looked at, and one call reports at most
//! [`MAX_FINDINGS_PER_CALL`] findings; findings never overlap each other (the first scanner
//! to claim a span wins, in the order private key, JWT, AWS key, IBAN, email, card, SSN,
//! E.164 phone, SSN / dashed phone, parenthesised phone).
//!
//! Callers pass *decoded* text: percent-decoded query values, unescaped JSON strings.
//!
//! Decisions worth knowing:
//! * Email: the local part is the practical set `[A-Za-z0-9._%+-]` (no quoted strings, no
//!   `!#$&'*/=?^`{|}~`, which in free text are far more often delimiters); the domain needs
//!   at least two labels and an alphabetic (or `xn--` punycode) TLD of two or more
//!   characters. So `a@b`, `user@localhost` and `foo@1.2.3.4` are *not* emails.
//! * Phone in free text: E.164 (`+` and 8-15 digits, single spaces, dashes or dots between
//!   groups, one parenthesised group) or NANP `(555) 123-4567` / `555-123-4567` /
//!   `1-555-123-4567` with an area code starting 2-9. Dotted NANP (`555.123.4567`) is not
//!   matched in free text because it is indistinguishable from version strings. A bare run of
//!   digits is a phone only under a phone-ish field name.
//! * US SSN in free text needs the dashed `AAA-GG-SSSS` form; 9 bare digits only under an
//!   `ssn`/`social security` field name. The famous never-valid numbers `078-05-1120` and
//!   `219-09-9999` are rejected; `123-45-6789` is accepted (it is what test traffic sends).
//! * IBAN: uppercase only, electronic form or print form (groups of four, single spaces).
//! * Card: 13-19 digits, bare or grouped as printed on cards (4-4-4-4, 4-4-4-4-3, 4-6-5,
//!   4-6-4, 4-4-4-1..4) with one kind of separator; under a card-ish field name any grouping
//!   is accepted. Luhn, issuer prefix and not-all-one-digit are always required.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::util::{name_tokens, truncate_str};

/// Text beyond this many bytes of one [`scan_text`] call is not scanned.
pub const MAX_SCAN_BYTES: usize = 1 << 20;

/// At most this many findings are appended by one [`scan_text`] / [`classify_field`] call.
pub const MAX_FINDINGS_PER_CALL: usize = 64;

/// Runs of token characters longer than this are not considered as JWTs.
const MAX_JWT_SCAN_LEN: usize = 16 * 1024;

/// A class of sensitive data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveClass {
    /// An email address.
    Email,
    /// A telephone number.
    Phone,
    /// A payment card number (PAN).
    CreditCard,
    /// A US social security number.
    UsSsn,
    /// An international bank account number.
    Iban,
    /// A JSON Web Token.
    Jwt,
    /// An AWS access key id.
    AwsAccessKey,
    /// A PEM private key.
    PrivateKey,
    /// A password or other secret, recognised by its field name.
    Password,
}

impl SensitiveClass {
    /// Every class, in declaration order.
    pub const ALL: [SensitiveClass; 9] = [
        SensitiveClass::Email,
        SensitiveClass::Phone,
        SensitiveClass::CreditCard,
        SensitiveClass::UsSsn,
        SensitiveClass::Iban,
        SensitiveClass::Jwt,
        SensitiveClass::AwsAccessKey,
        SensitiveClass::PrivateKey,
        SensitiveClass::Password,
    ];

    /// The stable snake_case name (`email`, `phone`, `credit_card`, `us_ssn`, `iban`, `jwt`,
    /// `aws_access_key`, `private_key`, `password`).
    pub fn name(&self) -> &'static str {
        match self {
            SensitiveClass::Email => "email",
            SensitiveClass::Phone => "phone",
            SensitiveClass::CreditCard => "credit_card",
            SensitiveClass::UsSsn => "us_ssn",
            SensitiveClass::Iban => "iban",
            SensitiveClass::Jwt => "jwt",
            SensitiveClass::AwsAccessKey => "aws_access_key",
            SensitiveClass::PrivateKey => "private_key",
            SensitiveClass::Password => "password",
        }
    }
}

impl fmt::Display for SensitiveClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of [`SensitiveClass::from_str`]: the name is not one of the stable names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sensitive data class {0:?}")]
pub struct UnknownClass(pub String);

impl FromStr for SensitiveClass {
    type Err = UnknownClass;

    /// Parses a stable name (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SensitiveClass::ALL
            .iter()
            .copied()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownClass(super::util::sanitize(s, 64)))
    }
}

/// One sensitive value found, in redacted form only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub class: SensitiveClass,
    /// A redacted rendering that never contains the secret (see the module docs).
    pub redacted: String,
}

// ---------------------------------------------------------------------------------------
// Output sink: caps the number of findings and suppresses overlaps.

struct Sink<'a> {
    out: &'a mut Vec<Finding>,
    spans: Vec<(usize, usize)>,
}

impl Sink<'_> {
    fn full(&self) -> bool {
        self.spans.len() >= MAX_FINDINGS_PER_CALL
    }

    fn push(&mut self, start: usize, end: usize, class: SensitiveClass, redacted: String) {
        if self.full() || self.spans.iter().any(|&(s, e)| start < e && s < end) {
            return;
        }
        self.spans.push((start, end));
        self.out.push(Finding { class, redacted });
    }
}

/// Finds sensitive values in free text and appends one [`Finding`] per occurrence.
///
/// Linear in the length of `text` (of which at most [`MAX_SCAN_BYTES`] are scanned); appends
/// at most [`MAX_FINDINGS_PER_CALL`] findings.
pub fn scan_text(text: &str, out: &mut Vec<Finding>) {
    scan_into(text, out);
}

/// A [`Finding`] and where it was found: `text[start..end]`, byte offsets into the text given
/// to [`scan_text_located`] or the value given to [`classify_field_located`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// First byte of the sensitive value.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// What it is, redacted.
    pub finding: Finding,
}

/// [`scan_text`] that also tells where each finding is (for outputs that print the text with
/// the findings replaced by their redacted forms). Same findings, same order, same bounds.
pub fn scan_text_located(text: &str, out: &mut Vec<Located>) {
    let mut found = Vec::new();
    let spans = scan_into(text, &mut found);
    out.extend(
        spans
            .into_iter()
            .zip(found)
            .map(|((start, end), finding)| Located {
                start,
                end,
                finding,
            }),
    );
}

/// The scanners of [`scan_text`]; returns the span of every finding appended, in order.
fn scan_into(text: &str, out: &mut Vec<Finding>) -> Vec<(usize, usize)> {
    let text = truncate_str(text, MAX_SCAN_BYTES);
    let b = text.as_bytes();
    if b.len() < 6 {
        return Vec::new();
    }
    // One pass to learn which characters occur, so that each scanner runs only when what it
    // looks for can be there (most values are plain words or numbers).
    let (mut digits, mut upper) = (0usize, 0usize);
    let (mut at, mut dash, mut plus, mut paren, mut ey) = (false, false, false, false, false);
    for w in b.windows(1) {
        match w[0] {
            b'0'..=b'9' => digits += 1,
            b'A'..=b'Z' => upper += 1,
            b'@' => at = true,
            b'-' => dash = true,
            b'+' => plus = true,
            b'(' => paren = true,
            _ => {}
        }
    }
    if b.len() >= 20 {
        ey = memchr::memmem::find(b, b"eyJ").is_some();
    }
    let mut sink = Sink {
        out,
        spans: Vec::new(),
    };
    if dash && upper >= 10 {
        scan_private_keys(b, &mut sink);
    }
    if ey && b.len() >= 20 {
        scan_jwts(text, &mut sink);
    }
    if upper >= 4 && b.len() >= 20 {
        scan_aws_keys(b, &mut sink);
    }
    if upper >= 2 && digits >= 2 && b.len() >= 15 {
        scan_ibans(b, &mut sink);
    }
    if at {
        scan_emails(b, &mut sink);
    }
    if plus && digits >= 8 {
        scan_e164(b, &mut sink);
    }
    if digits >= 12 {
        scan_cards(b, &mut sink);
    }
    if dash && digits >= 7 {
        scan_dashed(b, &mut sink);
    }
    if paren && digits >= 10 {
        scan_paren_phones(b, &mut sink);
    }
    sink.spans
}

/// Classifies a named field (JSON key, form field, query parameter, header name) and its
/// value, appending findings to `out`.
///
/// The name adds hints on top of [`scan_text`]:
/// * `password`, `passwd`, `pwd`, `pass`, `passphrase`/`pass_phrase`, `passcode`, `secret`,
///   `*secret` (e.g. `client_secret`): a non-empty value is a [`SensitiveClass::Password`]
///   and the value is not scanned further (its content is the secret). Names whose last word
///   describes the password rather than holding it (`password_hint`, `pwd_length`,
///   `passwordChangedAt`, `secret_name`, ...) are not password fields.
/// * `ssn`, `social_security[_number]`: 9 bare digits (or spaced) are accepted as an SSN.
/// * `phone`, `mobile`, `tel`, `telephone`, `msisdn`, `cell`, `fax`: any 7-15 digit number
///   with the usual separators is a phone.
/// * `card`, `card_number`, `cardno`, `pan`, `cc_number`, `credit_card`: any grouping of
///   the digits is accepted (Luhn and issuer prefix still required).
///
/// When a hint matches the whole value only that finding is reported; otherwise the value is
/// scanned with [`scan_text`].
pub fn classify_field(name: &str, value: &str, out: &mut Vec<Finding>) {
    match field_hint(name, value) {
        FieldHint::Nothing => {}
        FieldHint::Whole(f) => out.push(f),
        FieldHint::Scan => scan_text(value, out),
    }
}

/// [`classify_field`] that also tells where each finding is in `value`: a finding the name
/// decided (a password field, a hinted card, phone or SSN) spans the whole value.
pub fn classify_field_located(name: &str, value: &str, out: &mut Vec<Located>) {
    match field_hint(name, value) {
        FieldHint::Nothing => {}
        FieldHint::Whole(finding) => out.push(Located {
            start: 0,
            end: value.len(),
            finding,
        }),
        FieldHint::Scan => scan_text_located(value, out),
    }
}

/// What the name of a field decides about its value.
enum FieldHint {
    /// Nothing to report (an empty password).
    Nothing,
    /// The whole value is this finding.
    Whole(Finding),
    /// The value must be scanned.
    Scan,
}

fn field_hint(name: &str, value: &str) -> FieldHint {
    let hints = NameHints::of(name);
    let v = value.trim();
    if hints.password {
        if !v.is_empty() {
            return FieldHint::Whole(Finding {
                class: SensitiveClass::Password,
                redacted: "[redacted]".to_string(),
            });
        }
        return FieldHint::Nothing;
    }
    let hinted = if hints.ssn {
        loose_ssn(v).map(|r| (SensitiveClass::UsSsn, r))
    } else {
        None
    }
    .or_else(|| {
        if hints.phone {
            loose_phone(v).map(|r| (SensitiveClass::Phone, r))
        } else {
            None
        }
    })
    .or_else(|| {
        if hints.card {
            loose_card(v).map(|r| (SensitiveClass::CreditCard, r))
        } else {
            None
        }
    });
    match hinted {
        Some((class, redacted)) => FieldHint::Whole(Finding { class, redacted }),
        None => FieldHint::Scan,
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct NameHints {
    password: bool,
    ssn: bool,
    phone: bool,
    card: bool,
}

/// Last words that describe a password rather than hold one.
const PASSWORD_MODIFIERS: &[&str] = &[
    "hint",
    "policy",
    "policies",
    "length",
    "len",
    "changed",
    "change",
    "reset",
    "expires",
    "expired",
    "expiry",
    "expiration",
    "updated",
    "update",
    "strength",
    "required",
    "type",
    "rule",
    "rules",
    "min",
    "max",
    "last",
    "age",
    "enabled",
    "count",
    "attempts",
    "set",
    "at",
    "url",
    "uri",
    "link",
    "label",
    "placeholder",
    "field",
    "mode",
    "status",
    "algorithm",
    "name",
    "arn",
    "id",
    "ids",
    "ref",
    "version",
    "date",
    "time",
    "timestamp",
    "exists",
    "valid",
    "invalid",
    "error",
    "errors",
    "manager",
    "less",
    "protected",
    "sent",
];

impl NameHints {
    fn of(name: &str) -> NameHints {
        let tokens = name_tokens(name);
        let compact: String = tokens.concat();
        let has = |t: &str| tokens.iter().any(|x| x == t);
        let last = tokens.last().map(String::as_str).unwrap_or("");

        let password_word = tokens.iter().any(|t| {
            matches!(
                t.as_str(),
                "password" | "passwd" | "pwd" | "pass" | "passphrase" | "passcode" | "secret"
            ) || t.ends_with("password")
                || t.ends_with("passwd")
                || t.ends_with("secret")
        }) || compact.contains("password")
            || compact.contains("passphrase");
        let password = password_word && !PASSWORD_MODIFIERS.contains(&last);

        let ssn = has("ssn") || compact.contains("socialsecurity");
        let phone = tokens.iter().any(|t| {
            matches!(
                t.as_str(),
                "phone" | "mobile" | "tel" | "telephone" | "msisdn" | "cell" | "cellphone" | "fax"
            ) || t.contains("phone")
                || t.contains("msisdn")
        });
        let card = has("pan")
            || compact == "card"
            || compact == "cc"
            || compact.contains("creditcard")
            || compact.contains("debitcard")
            || compact.contains("cardnumber")
            || compact.contains("cardno")
            || compact.contains("cardnum")
            || compact.contains("ccnumber")
            || compact.contains("ccnum")
            || compact.contains("primaryaccountnumber");
        NameHints {
            password,
            ssn,
            phone,
            card,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Byte classes and boundaries.

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_joiner(c: u8) -> bool {
    matches!(c, b'.' | b'-' | b'+' | b'/' | b':' | b',')
}

/// Whether a number starting at `start` stands alone on its left: not glued to a word, and
/// not the continuation of a number-like structure such as `1.2.3.4567`, `12:30` or
/// `2024/01/15`.
fn before_ok(b: &[u8], start: usize) -> bool {
    let Some(i) = start.checked_sub(1) else {
        return true;
    };
    let Some(&p) = b.get(i) else {
        return true;
    };
    let digit_before = i
        .checked_sub(1)
        .and_then(|j| b.get(j))
        .is_some_and(u8::is_ascii_digit);
    !(is_word(p) || (is_joiner(p) && digit_before))
}

/// Whether a number ending at `end` stands alone on its right (mirror of [`before_ok`]).
fn after_ok(b: &[u8], end: usize) -> bool {
    let Some(&n) = b.get(end) else {
        return true;
    };
    !(is_word(n) || (is_joiner(n) && b.get(end + 1).is_some_and(u8::is_ascii_digit)))
}

/// Whether the span `b[start..end]` stands alone on both sides.
fn numeric_boundary_ok(b: &[u8], start: usize, end: usize) -> bool {
    before_ok(b, start) && after_ok(b, end)
}

// ---------------------------------------------------------------------------------------
// Private keys.

fn scan_private_keys(b: &[u8], sink: &mut Sink<'_>) {
    const BEGIN: &[u8] = b"-----BEGIN ";
    for pos in memchr::memmem::find_iter(b, BEGIN) {
        if sink.full() {
            return;
        }
        let label_start = pos + BEGIN.len();
        let window = b
            .get(label_start..b.len().min(label_start + 64))
            .unwrap_or(&[]);
        let Some(rel) = memchr::memmem::find(window, b"-----") else {
            continue;
        };
        let label = window.get(..rel).unwrap_or(&[]);
        if label.ends_with(b"PRIVATE KEY")
            && label.iter().all(|&c| c.is_ascii_uppercase() || c == b' ')
        {
            let label = String::from_utf8_lossy(label);
            sink.push(
                pos,
                label_start + rel + 5,
                SensitiveClass::PrivateKey,
                format!("-----BEGIN {label}----- [redacted]"),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// JWTs.

fn is_jwt_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// Calls `f(start, end)` for each maximal run of bytes satisfying `pred`.
fn for_each_run(b: &[u8], pred: impl Fn(u8) -> bool, mut f: impl FnMut(usize, usize) -> bool) {
    let mut i = 0;
    while i < b.len() {
        if !b.get(i).is_some_and(|&c| pred(c)) {
            i += 1;
            continue;
        }
        let start = i;
        while b.get(i).is_some_and(|&c| pred(c)) {
            i += 1;
        }
        if !f(start, i) {
            return;
        }
    }
}

/// The redacted rendering of a JWT: its first three characters (header, never secret) and
/// the header's `alg`.
pub(crate) fn redact_jwt(token: &str, alg: &str) -> String {
    let prefix: String = token.chars().take(3).collect();
    let alg_ok = !alg.is_empty()
        && alg.len() <= 16
        && alg
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+'));
    let alg = if alg_ok { alg } else { "?" };
    format!("{prefix}…(alg={alg})")
}

fn scan_jwts(text: &str, sink: &mut Sink<'_>) {
    let b = text.as_bytes();
    for_each_run(b, is_jwt_char, |start, run_end| {
        if sink.full() {
            return false;
        }
        // Trailing dots are sentence punctuation, except that an unsigned token
        // (`alg: none`) legitimately ends in the dot before its empty signature.
        let mut end = run_end;
        while end > start && b.get(end - 1) == Some(&b'.') {
            end -= 1;
        }
        let Some(trimmed) = text.get(start..end) else {
            return true;
        };
        let dots = trimmed.bytes().filter(|&c| c == b'.').count();
        if dots == 1 && end < run_end {
            end += 1;
        } else if dots != 2 {
            return true;
        }
        let Some(run) = text.get(start..end) else {
            return true;
        };
        if run.len() < 10 || run.len() > MAX_JWT_SCAN_LEN {
            return true;
        }
        if let Some(info) = super::secret::decode_jwt(run) {
            let alg = info.alg().unwrap_or("");
            sink.push(start, end, SensitiveClass::Jwt, redact_jwt(run, alg));
        }
        true
    });
}

// ---------------------------------------------------------------------------------------
// AWS access key ids.

/// Whether `s` is an AWS access key id: a known 4-letter prefix (`AKIA`, `ASIA`, `AGPA`,
/// `AIDA`, `AROA`, `ANPA`, `ANVA`, `AIPA`) followed by 16 characters of `A-Z2-7`.
pub fn is_aws_access_key_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let (prefix, rest) = b.split_at(4);
    matches!(
        prefix,
        b"AKIA" | b"ASIA" | b"AGPA" | b"AIDA" | b"AROA" | b"ANPA" | b"ANVA" | b"AIPA"
    ) && rest
        .iter()
        .all(|&c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
}

fn scan_aws_keys(b: &[u8], sink: &mut Sink<'_>) {
    for_each_run(b, is_word, |start, end| {
        if sink.full() {
            return false;
        }
        let candidate = if end - start == 20 {
            b.get(start..end).and_then(|r| std::str::from_utf8(r).ok())
        } else {
            None
        };
        if let Some(s) = candidate.filter(|s| is_aws_access_key_id(s)) {
            let red = format!(
                "{}************{}",
                s.get(..4).unwrap_or(""),
                s.get(16..).unwrap_or("")
            );
            sink.push(start, end, SensitiveClass::AwsAccessKey, red);
        }
        true
    });
}

// ---------------------------------------------------------------------------------------
// IBANs.

/// The IBAN length for a country code, per the SWIFT IBAN registry.
pub fn iban_length(country: &str) -> Option<usize> {
    let n = match country.as_bytes() {
        b"AD" => 24,
        b"AE" => 23,
        b"AL" => 28,
        b"AT" => 20,
        b"AZ" => 28,
        b"BA" => 20,
        b"BE" => 16,
        b"BG" => 22,
        b"BH" => 22,
        b"BI" => 27,
        b"BR" => 29,
        b"BY" => 28,
        b"CH" => 21,
        b"CR" => 22,
        b"CY" => 28,
        b"CZ" => 24,
        b"DE" => 22,
        b"DJ" => 27,
        b"DK" => 18,
        b"DO" => 28,
        b"EE" => 20,
        b"EG" => 29,
        b"ES" => 24,
        b"FI" => 18,
        b"FK" => 18,
        b"FO" => 18,
        b"FR" => 27,
        b"GB" => 22,
        b"GE" => 22,
        b"GI" => 23,
        b"GL" => 18,
        b"GR" => 27,
        b"GT" => 28,
        b"HR" => 21,
        b"HU" => 28,
        b"IE" => 22,
        b"IL" => 23,
        b"IQ" => 23,
        b"IS" => 26,
        b"IT" => 27,
        b"JO" => 30,
        b"KW" => 30,
        b"KZ" => 20,
        b"LB" => 28,
        b"LC" => 32,
        b"LI" => 21,
        b"LT" => 20,
        b"LU" => 20,
        b"LV" => 21,
        b"LY" => 25,
        b"MC" => 27,
        b"MD" => 24,
        b"ME" => 22,
        b"MK" => 19,
        b"MN" => 20,
        b"MR" => 27,
        b"MT" => 31,
        b"MU" => 30,
        b"NI" => 28,
        b"NL" => 18,
        b"NO" => 15,
        b"OM" => 23,
        b"PK" => 24,
        b"PL" => 28,
        b"PS" => 29,
        b"PT" => 25,
        b"QA" => 29,
        b"RO" => 24,
        b"RS" => 22,
        b"RU" => 33,
        b"SA" => 24,
        b"SC" => 31,
        b"SD" => 18,
        b"SE" => 24,
        b"SI" => 19,
        b"SK" => 24,
        b"SM" => 27,
        b"SO" => 23,
        b"ST" => 25,
        b"SV" => 28,
        b"TL" => 23,
        b"TN" => 24,
        b"TR" => 26,
        b"UA" => 29,
        b"VA" => 22,
        b"VG" => 24,
        b"XK" => 20,
        b"YE" => 30,
        _ => return None,
    };
    Some(n)
}

fn is_upper_alnum(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// mod-97 of the rearranged IBAN (`BBAN + country + check`), streamed digit by digit.
fn iban_mod97(compact: &[u8]) -> Option<u32> {
    let (head, bban) = (compact.get(..4)?, compact.get(4..)?);
    let mut r: u32 = 0;
    for &c in bban.iter().chain(head) {
        r = match c {
            b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return None,
        };
    }
    Some(r)
}

fn iban_compact_valid(compact: &[u8]) -> bool {
    let Some(cc) = compact.get(..2).and_then(|c| std::str::from_utf8(c).ok()) else {
        return false;
    };
    iban_length(cc) == Some(compact.len())
        && compact
            .get(2..4)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && compact
            .get(..2)
            .is_some_and(|c| c.iter().all(u8::is_ascii_uppercase))
        && compact.iter().all(|&c| is_upper_alnum(c))
        && iban_mod97(compact) == Some(1)
}

/// Whether `s` is a valid IBAN: known country, right length, mod-97 check digits. Spaces
/// (print form) are ignored; letters must be uppercase.
pub fn is_valid_iban(s: &str) -> bool {
    let compact: Vec<u8> = s.bytes().filter(|&c| c != b' ').take(35).collect();
    iban_compact_valid(&compact)
}

fn redact_iban(compact: &[u8]) -> String {
    let head = String::from_utf8_lossy(compact.get(..4).unwrap_or(&[])).into_owned();
    let tail = String::from_utf8_lossy(
        compact
            .get(compact.len().saturating_sub(4)..)
            .unwrap_or(&[]),
    )
    .into_owned();
    format!("{head}****{tail}")
}

/// Tries to read an IBAN of length `len` starting at `i`: electronic form (one word) or
/// print form (groups of four separated by single spaces). Returns the end and compact form.
fn match_iban_at(b: &[u8], i: usize, len: usize) -> Option<(usize, [u8; 34], usize)> {
    let mut buf = [0u8; 34];
    if len > buf.len() {
        return None;
    }
    // Electronic form.
    let mut j = i;
    while b.get(j).is_some_and(u8::is_ascii_alphanumeric) && j - i <= len {
        j += 1;
    }
    if j - i == len {
        let run = b.get(i..j)?;
        buf.get_mut(..len)?.copy_from_slice(run);
        return Some((j, buf, len));
    }
    // Print form.
    let mut j = i;
    let mut n = 0;
    loop {
        let gstart = j;
        while n < len && j - gstart < 4 && b.get(j).is_some_and(|&c| is_upper_alnum(c)) {
            *buf.get_mut(n)? = *b.get(j)?;
            n += 1;
            j += 1;
        }
        if n == len {
            break;
        }
        if j - gstart != 4
            || b.get(j) != Some(&b' ')
            || !b.get(j + 1).is_some_and(|&c| is_upper_alnum(c))
        {
            return None;
        }
        j += 1;
    }
    if b.get(j).is_some_and(|&c| is_word(c)) {
        return None;
    }
    Some((j, buf, len))
}

fn scan_ibans(b: &[u8], sink: &mut Sink<'_>) {
    let mut i = 0;
    while i + 4 <= b.len() {
        if sink.full() {
            return;
        }
        let start_ok = i == 0 || b.get(i - 1).is_some_and(|&c| !is_word(c));
        let head = b.get(i..i + 4).unwrap_or(&[]);
        let shape_ok = head.len() == 4
            && head.iter().take(2).all(u8::is_ascii_uppercase)
            && head.iter().skip(2).all(u8::is_ascii_digit);
        if start_ok && shape_ok {
            let len = std::str::from_utf8(head.get(..2).unwrap_or(&[]))
                .ok()
                .and_then(iban_length);
            if let Some((end, buf, n)) = len.and_then(|len| match_iban_at(b, i, len)) {
                let compact = buf.get(..n).unwrap_or(&[]);
                if iban_compact_valid(compact) {
                    sink.push(i, end, SensitiveClass::Iban, redact_iban(compact));
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
}

// ---------------------------------------------------------------------------------------
// Emails.

fn is_local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

fn valid_local(local: &[u8]) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && local.iter().all(|&c| is_local_char(c))
        && local.first() != Some(&b'.')
        && local.last() != Some(&b'.')
        && !local.windows(2).any(|w| w == b"..")
}

fn valid_domain(domain: &[u8]) -> bool {
    if domain.is_empty() || domain.len() > 253 {
        return false;
    }
    let mut labels = 0usize;
    let mut last: &[u8] = &[];
    for label in domain.split(|&c| c == b'.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'-')
            || label.first() == Some(&b'-')
            || label.last() == Some(&b'-')
        {
            return false;
        }
        labels += 1;
        last = label;
    }
    let tld_ok = (last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic))
        || (last.len() >= 5
            && last
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"xn--")));
    labels >= 2 && tld_ok
}

/// Whether the whole of `s` is a practical email address (see the module docs for exactly
/// what is accepted).
pub fn is_valid_email(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(at) = memchr::memchr(b'@', b) else {
        return false;
    };
    let (local, domain) = (b.get(..at).unwrap_or(&[]), b.get(at + 1..).unwrap_or(&[]));
    valid_local(local) && valid_domain(domain)
}

fn redact_email(local: &[u8], domain: &[u8]) -> String {
    let first = local.first().map(|&c| char::from(c)).unwrap_or('*');
    let domain = String::from_utf8_lossy(domain).to_ascii_lowercase();
    format!("{first}***@{domain}")
}

fn scan_emails(b: &[u8], sink: &mut Sink<'_>) {
    for at in memchr::memchr_iter(b'@', b) {
        if sink.full() {
            return;
        }
        // Left: at most 65 local characters (64 allowed, one more proves "too long").
        let mut s = at;
        while s > 0 && at - s <= 64 && b.get(s - 1).is_some_and(|&c| is_local_char(c)) {
            s -= 1;
        }
        if at - s > 64 {
            continue;
        }
        while b.get(s) == Some(&b'.') {
            s += 1;
        }
        // Right: at most 254 domain characters.
        let mut e = at + 1;
        while e - at <= 254 && b.get(e).is_some_and(|&c| is_domain_char(c)) {
            e += 1;
        }
        if e - at > 254 {
            continue;
        }
        while e > at + 1 && b.get(e - 1) == Some(&b'.') {
            e -= 1;
        }
        let (Some(local), Some(domain)) = (b.get(s..at), b.get(at + 1..e)) else {
            continue;
        };
        if valid_local(local) && valid_domain(domain) {
            sink.push(s, e, SensitiveClass::Email, redact_email(local, domain));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Digit spans shared by cards, SSNs and dashed phones.

/// A maximal run of digit groups joined by single separators from a set.
struct DigitSpan<'g> {
    start: usize,
    end: usize,
    /// (start, end) of each digit group.
    groups: &'g [(usize, usize)],
}

/// Calls `f` for each maximal span of digit groups joined by single separator bytes from
/// `seps` (a separator only joins when a digit follows it). Linear: every byte is visited a
/// constant number of times, and the group buffer is reused.
fn for_each_digit_span(b: &[u8], seps: &[u8], mut f: impl FnMut(&DigitSpan<'_>) -> bool) {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        groups.clear();
        let start = i;
        loop {
            let gs = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            groups.push((gs, i));
            let sep_ok = b.get(i).is_some_and(|c| seps.contains(c))
                && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !sep_ok {
                break;
            }
            i += 1;
        }
        let span = DigitSpan {
            start,
            end: i,
            groups: &groups,
        };
        if !f(&span) {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Payment cards.

/// Luhn checksum over ASCII digits (non-digits make it fail).
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum = (sum + d) % 10;
    }
    sum.is_multiple_of(10)
}

fn prefix_num(digits: &[u8], n: usize) -> Option<u32> {
    let p = digits.get(..n)?;
    let mut v = 0u32;
    for &c in p {
        v = v * 10 + u32::from(c.checked_sub(b'0')?);
    }
    Some(v)
}

/// Whether the digits start with a known issuer prefix (Visa, Mastercard, Amex, Discover,
/// JCB, Diners Club).
pub fn known_iin(digits: &[u8]) -> bool {
    let p1 = prefix_num(digits, 1);
    let p2 = prefix_num(digits, 2);
    let p3 = prefix_num(digits, 3);
    let p4 = prefix_num(digits, 4);
    p1 == Some(4)                                             // Visa
        || p2.is_some_and(|p| (51..=55).contains(&p))         // Mastercard
        || p4.is_some_and(|p| (2221..=2720).contains(&p))     // Mastercard 2-series
        || matches!(p2, Some(34 | 37))                        // Amex
        || p4 == Some(6011)                                   // Discover
        || p2 == Some(65)
        || p3.is_some_and(|p| (644..=649).contains(&p))
        || p4.is_some_and(|p| (3528..=3589).contains(&p))     // JCB
        || p3.is_some_and(|p| (300..=305).contains(&p))       // Diners Club
        || matches!(p2, Some(36 | 38))
}

fn card_digits_valid(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len())
        && digits.iter().all(u8::is_ascii_digit)
        && !digits.iter().all(|&c| Some(&c) == digits.first())
        && known_iin(digits)
        && luhn_valid(digits)
}

/// Whether `s` is a payment card number: 13-19 digits (single spaces or dashes allowed
/// between groups), Luhn-valid, known issuer prefix, not all one digit.
pub fn is_valid_card(s: &str) -> bool {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() > 40
        || b.windows(2)
            .any(|w| matches!(w, [a, b] if !a.is_ascii_digit() && !b.is_ascii_digit()))
    {
        return false;
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_digit() || c == b' ' || c == b'-')
    {
        return false;
    }
    let digits: Vec<u8> = b.iter().copied().filter(u8::is_ascii_digit).collect();
    card_digits_valid(&digits)
}

fn redact_card(digits: &[u8]) -> String {
    let n = digits.len();
    let head = String::from_utf8_lossy(digits.get(..4).unwrap_or(&[])).into_owned();
    let tail =
        String::from_utf8_lossy(digits.get(n.saturating_sub(4)..).unwrap_or(&[])).into_owned();
    format!("{head}{}{tail}", "*".repeat(n.saturating_sub(8)))
}

/// How many digit groups starting at `lens[0]` form a card number as printed (4-4-4-4,
/// 4-4-4-4-3, 4-6-5, 4-6-4, 4-4-4-1..3), longest first.
fn card_candidate_len(lens: &[usize]) -> Option<usize> {
    // Longest patterns first.
    let fits = |pat: &[usize]| lens.len() >= pat.len() && lens.iter().zip(pat).all(|(a, b)| a == b);
    if fits(&[4, 4, 4, 4]) {
        if lens.get(4) == Some(&3) {
            return Some(5);
        }
        return Some(4);
    }
    if fits(&[4, 6, 5]) || fits(&[4, 6, 4]) {
        return Some(3);
    }
    if fits(&[4, 4, 4]) && lens.get(3).is_some_and(|&l| (1..=3).contains(&l)) {
        return Some(4);
    }
    None
}

fn scan_cards(b: &[u8], sink: &mut Sink<'_>) {
    let mut lens: Vec<usize> = Vec::new();
    for_each_digit_span(b, b" -", |span| {
        if sink.full() {
            return false;
        }
        let g = span.groups;
        lens.clear();
        lens.extend(g.iter().map(|&(s, e)| e - s));
        let mut k = 0;
        while k < g.len() {
            // A single bare group of 13-19 digits, or a printed grouping starting here.
            let take = if lens.get(k).is_some_and(|l| (13..=19).contains(l)) {
                Some(1)
            } else {
                card_candidate_len(lens.get(k..).unwrap_or(&[]))
            };
            let Some(take) = take else {
                k += 1;
                continue;
            };
            let (Some(&(cs, _)), Some(&(_, ce))) = (g.get(k), g.get(k + take - 1)) else {
                k += 1;
                continue;
            };
            // One kind of separator inside the candidate; a dash on either side glues it
            // to a neighbouring group (it is part of something longer).
            let inner: Vec<u8> = (k..k + take - 1)
                .filter_map(|j| g.get(j).and_then(|&(_, e)| b.get(e).copied()))
                .collect();
            let one_sep = inner.windows(2).all(|w| matches!(w, [a, b] if a == b));
            let glued_before = k > 0 && cs.checked_sub(1).and_then(|i| b.get(i)) == Some(&b'-');
            let glued_after = k + take < g.len() && b.get(ce) == Some(&b'-');
            // A `+` right before the digits makes it a phone number or a signed quantity.
            let plus_before = cs.checked_sub(1).and_then(|i| b.get(i)) == Some(&b'+');
            let bounded = (k > 0 || (before_ok(b, cs) && !plus_before))
                && (k + take < g.len() || after_ok(b, ce));
            if one_sep && !glued_before && !glued_after && bounded {
                let digits: Vec<u8> = b
                    .get(cs..ce)
                    .unwrap_or(&[])
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_digit)
                    .collect();
                if card_digits_valid(&digits) {
                    sink.push(cs, ce, SensitiveClass::CreditCard, redact_card(&digits));
                    k += take;
                    continue;
                }
            }
            k += 1;
        }
        true
    });
}

fn loose_card(v: &str) -> Option<String> {
    let b = v.as_bytes();
    if b.is_empty()
        || b.len() > 40
        || !b
            .iter()
            .all(|&c| c.is_ascii_digit() || c == b' ' || c == b'-')
    {
        return None;
    }
    let digits: Vec<u8> = b.iter().copied().filter(u8::is_ascii_digit).collect();
    card_digits_valid(&digits).then(|| redact_card(&digits))
}

// ---------------------------------------------------------------------------------------
// US SSNs.

/// Whether area/group/serial satisfy the SSA rules: area not 000, 666 or 900-999; group not
/// 00; serial not 0000; and not one of the famous never-valid numbers.
pub fn ssn_parts_valid(area: u32, group: u32, serial: u32) -> bool {
    area != 0
        && area != 666
        && area < 900
        && (1..=99).contains(&group)
        && (1..=9999).contains(&serial)
        && !matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999))
}

fn ssn_from_digits(d: &[u8]) -> Option<String> {
    if d.len() != 9 || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let area = prefix_num(d, 3)?;
    let group = prefix_num(d.get(3..)?, 2)?;
    let serial = prefix_num(d.get(5..)?, 4)?;
    ssn_parts_valid(area, group, serial).then(|| {
        format!(
            "***-**-{}",
            String::from_utf8_lossy(d.get(5..).unwrap_or(&[]))
        )
    })
}

/// Whether `s` is a dashed US SSN `AAA-GG-SSSS` satisfying the SSA rules.
pub fn is_valid_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || b.get(3) != Some(&b'-') || b.get(6) != Some(&b'-') {
        return false;
    }
    let digits: Vec<u8> = b.iter().copied().filter(|&c| c != b'-').collect();
    ssn_from_digits(&digits).is_some()
}

fn loose_ssn(v: &str) -> Option<String> {
    let b = v.as_bytes();
    if b.len() > 11 {
        return None;
    }
    // 9 bare digits, or 3-2-4 with one kind of separator (space or dash).
    if b.len() == 9 {
        return ssn_from_digits(b);
    }
    if b.len() == 11 {
        let sep = *b.get(3)?;
        if (sep == b'-' || sep == b' ') && b.get(6) == Some(&sep) {
            let d: Vec<u8> = b.iter().copied().filter(|&c| c != sep).collect();
            return ssn_from_digits(&d);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Dash-only spans: SSNs and NANP phones.

fn redact_phone(digits: &[u8], plus: bool) -> String {
    let n = digits.len();
    let tail =
        String::from_utf8_lossy(digits.get(n.saturating_sub(2)..).unwrap_or(&[])).into_owned();
    format!(
        "{}{}{tail}",
        if plus { "+" } else { "" },
        "*".repeat(n.saturating_sub(2))
    )
}

fn span_digits(b: &[u8], start: usize, end: usize) -> Vec<u8> {
    b.get(start..end)
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(u8::is_ascii_digit)
        .collect()
}

fn scan_dashed(b: &[u8], sink: &mut Sink<'_>) {
    for_each_digit_span(b, b"-", |span| {
        if sink.full() {
            return false;
        }
        let lens: Vec<usize> = span.groups.iter().take(5).map(|&(s, e)| e - s).collect();
        if span.groups.len() > 4 || !numeric_boundary_ok(b, span.start, span.end) {
            return true;
        }
        let digits = span_digits(b, span.start, span.end);
        match lens.as_slice() {
            [3, 2, 4] => {
                if let Some(red) = ssn_from_digits(&digits) {
                    sink.push(span.start, span.end, SensitiveClass::UsSsn, red);
                }
            }
            [3, 3, 4] | [1, 3, 3, 4] => {
                let nanp: &[u8] = if lens.len() == 4 {
                    if digits.first() != Some(&b'1') {
                        return true;
                    }
                    digits.get(1..).unwrap_or(&[])
                } else {
                    &digits
                };
                if nanp.first().is_some_and(|&c| c >= b'2') {
                    sink.push(
                        span.start,
                        span.end,
                        SensitiveClass::Phone,
                        redact_phone(&digits, false),
                    );
                }
            }
            _ => {}
        }
        true
    });
}

// ---------------------------------------------------------------------------------------
// Phones: `(555) 123-4567` and E.164.

fn digits_at(b: &[u8], i: usize, n: usize) -> bool {
    b.get(i..i + n)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

fn scan_paren_phones(b: &[u8], sink: &mut Sink<'_>) {
    for p in memchr::memchr_iter(b'(', b) {
        if sink.full() {
            return;
        }
        if p > 0 && b.get(p - 1).is_some_and(|&c| is_word(c)) {
            continue;
        }
        // (NXX) NXX-XXXX or (NXX)NXX-XXXX
        if !(digits_at(b, p + 1, 3) && b.get(p + 4) == Some(&b')')) {
            continue;
        }
        let mut i = p + 5;
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
        if !(digits_at(b, i, 3) && b.get(i + 3) == Some(&b'-') && digits_at(b, i + 4, 4)) {
            continue;
        }
        let end = i + 8;
        if !after_ok(b, end) {
            continue;
        }
        if b.get(p + 1).is_some_and(|&c| c >= b'2') {
            let digits = span_digits(b, p, end);
            sink.push(p, end, SensitiveClass::Phone, redact_phone(&digits, false));
        }
    }
}

/// Parses an E.164-style number after the `+` at `plus`: digits with single separators
/// (space, dash, dot) and at most one parenthesised group. Returns (end, digits, group lengths).
fn parse_e164(b: &[u8], plus: usize) -> Option<(usize, Vec<u8>, Vec<usize>)> {
    let mut i = plus + 1;
    let mut digits = Vec::new();
    let mut groups: Vec<usize> = Vec::new();
    let mut cur = 0usize;
    let mut in_paren = false;
    let mut parens = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        if c.is_ascii_digit() {
            digits.push(c);
            cur += 1;
            if digits.len() > 15 {
                return None;
            }
            i += 1;
        } else if matches!(c, b' ' | b'-' | b'.')
            && cur > 0
            && next.is_some_and(|n| n.is_ascii_digit() || (n == b'(' && !in_paren && parens == 0))
        {
            groups.push(std::mem::take(&mut cur));
            i += 1;
        } else if c == b'(' && !in_paren && parens == 0 && next.is_some_and(|n| n.is_ascii_digit())
        {
            if cur > 0 {
                groups.push(std::mem::take(&mut cur));
            }
            in_paren = true;
            parens += 1;
            i += 1;
        } else if c == b')' && in_paren && cur > 0 {
            groups.push(std::mem::take(&mut cur));
            in_paren = false;
            i += 1;
            if b.get(i) == Some(&b' ') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        } else {
            break;
        }
    }
    if in_paren {
        return None;
    }
    if cur > 0 {
        groups.push(cur);
    }
    Some((i, digits, groups))
}

fn scan_e164(b: &[u8], sink: &mut Sink<'_>) {
    for p in memchr::memchr_iter(b'+', b) {
        if sink.full() {
            return;
        }
        if p > 0 && b.get(p - 1).is_some_and(|&c| is_word(c) || c == b'+') {
            continue;
        }
        if !b
            .get(p + 1)
            .is_some_and(|&c| c.is_ascii_digit() || c == b'(')
        {
            continue;
        }
        let Some((end, digits, groups)) = parse_e164(b, p) else {
            continue;
        };
        let date_like = groups.as_slice() == [4, 2, 2];
        if (8..=15).contains(&digits.len())
            && digits.first() != Some(&b'0')
            && !date_like
            && after_ok(b, end)
        {
            sink.push(p, end, SensitiveClass::Phone, redact_phone(&digits, true));
        }
    }
}

fn loose_phone(v: &str) -> Option<String> {
    let b = v.as_bytes();
    if b.is_empty() || b.len() > 32 {
        return None;
    }
    let plus = b.first() == Some(&b'+');
    let body = if plus { b.get(1..)? } else { b };
    if !body
        .iter()
        .all(|&c| c.is_ascii_digit() || matches!(c, b' ' | b'-' | b'.' | b'(' | b')'))
    {
        return None;
    }
    let digits: Vec<u8> = body.iter().copied().filter(u8::is_ascii_digit).collect();
    // Reject date-like 4-2-2 groupings and decimals like `12.5`.
    let groups: Vec<usize> = body
        .split(|c| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(<[u8]>::len)
        .collect();
    let date_like = groups.as_slice() == [4, 2, 2] || groups.as_slice() == [2, 2, 4];
    let all_same = digits.iter().all(|&c| Some(&c) == digits.first());
    ((7..=15).contains(&digits.len()) && !date_like && !all_same)
        .then(|| redact_phone(&digits, plus))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<Finding> {
        let mut v = Vec::new();
        scan_text(text, &mut v);
        v
    }

    fn classes(text: &str) -> Vec<SensitiveClass> {
        scan(text).into_iter().map(|f| f.class).collect()
    }

    fn field(name: &str, value: &str) -> Vec<Finding> {
        let mut v = Vec::new();
        classify_field(name, value, &mut v);
        v
    }

    fn b64url(s: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn jwt(header: &str, payload: &str) -> String {
        format!("{}.{}.c2lnbmF0dXJl", b64url(header), b64url(payload))
    }

    #[test]
    fn class_names_round_trip() {
        for c in SensitiveClass::ALL {
            assert_eq!(c.name().parse::<SensitiveClass>(), Ok(c));
            assert_eq!(
                serde_json::to_string(&c).ok(),
                Some(format!("\"{}\"", c.name()))
            );
            assert_eq!(c.to_string(), c.name());
        }
        assert_eq!(
            "CREDIT_CARD".parse::<SensitiveClass>(),
            Ok(SensitiveClass::CreditCard)
        );
        assert!("creditcard".parse::<SensitiveClass>().is_err());
    }

    #[test]
    fn cards_positive() {
        let f = scan("card 4111 1111 1111 1111 exp 12/27");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].class, SensitiveClass::CreditCard);
        assert_eq!(f[0].redacted, "4111********1111");
        assert_eq!(classes("4111111111111111"), [SensitiveClass::CreditCard]);
        assert_eq!(classes("4111-1111-1111-1111"), [SensitiveClass::CreditCard]);
        assert_eq!(classes("5555555555554444"), [SensitiveClass::CreditCard]); // MC
        assert_eq!(classes("2223003122003222"), [SensitiveClass::CreditCard]); // MC 2-series
        assert_eq!(classes("3782 822463 10005"), [SensitiveClass::CreditCard]); // Amex 4-6-5
        assert_eq!(classes("6011111111111117"), [SensitiveClass::CreditCard]); // Discover
        assert_eq!(classes("3530111333300000"), [SensitiveClass::CreditCard]); // JCB
        assert_eq!(classes("30569309025904"), [SensitiveClass::CreditCard]); // Diners 14
        assert_eq!(
            classes("qty 2 4111111111111111"),
            [SensitiveClass::CreditCard]
        );
        assert_eq!(
            classes("4111 1111 1111 1111 12"),
            [SensitiveClass::CreditCard]
        );
        assert!(is_valid_card("4111 1111 1111 1111"));
        assert!(is_valid_card("4111-1111-1111-1111"));
    }

    #[test]
    fn cards_negative() {
        // 16-digit order number failing Luhn.
        assert!(classes("order 4111111111111112").is_empty());
        assert!(!is_valid_card("4111111111111112"));
        // All one digit (Luhn-valid zeros, and a repeated 4 with a Visa prefix).
        assert!(classes("0000000000000000").is_empty());
        assert!(classes("4444444444444444").is_empty());
        // Luhn-valid but no known issuer (prefix 1).
        assert!(classes("1234567812345670").is_empty());
        // Glued to letters or to a longer dashed number.
        assert!(classes("x4111111111111111").is_empty());
        assert!(classes("9-4111-1111-1111-1111").is_empty());
        // Mixed separators, double spaces, decimals.
        assert!(classes("4111 1111-1111 1111").is_empty());
        assert!(classes("4111  1111  1111  1111").is_empty());
        assert!(classes("0.4111111111111111").is_empty());
        // Too short / too long.
        assert!(classes("411111111111").is_empty());
        assert!(classes("41111111111111111111").is_empty());
        assert!(!is_valid_card("4111 1111 1111 111a"));
        assert!(!is_valid_card(""));
    }

    #[test]
    fn ssn_positive_and_negative() {
        let f = scan("ssn 123-45-6789.");
        assert_eq!(
            f,
            [Finding {
                class: SensitiveClass::UsSsn,
                redacted: "***-**-6789".into()
            }]
        );
        assert!(is_valid_ssn("536-22-1234"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
        ] {
            assert!(classes(bad).is_empty(), "{bad}");
            assert!(!is_valid_ssn(bad), "{bad}");
        }
        // Bare 9 digits and dates are not SSNs in free text.
        assert!(classes("123456789").is_empty());
        assert!(classes("2024-01-15").is_empty());
        assert!(classes("A123-45-6789").is_empty());
        assert!(classes("123-45-67890").is_empty());
        assert!(classes("1-123-45-6789").is_empty());
    }

    #[test]
    fn ssn_field_hint() {
        assert_eq!(
            field("ssn", "123456789"),
            [Finding {
                class: SensitiveClass::UsSsn,
                redacted: "***-**-6789".into()
            }]
        );
        assert_eq!(field("socialSecurityNumber", "123 45 6789").len(), 1);
        assert!(field("ssn", "000456789").is_empty());
        assert!(field("order_id", "123456789").is_empty());
    }

    #[test]
    fn iban_positive() {
        let f = scan("pay to DE89 3704 0044 0532 0130 00 today");
        assert_eq!(
            f,
            [Finding {
                class: SensitiveClass::Iban,
                redacted: "DE89****3000".into()
            }]
        );
        assert_eq!(classes("GB82WEST12345698765432"), [SensitiveClass::Iban]);
        assert_eq!(
            classes("iban=FR1420041010050500013M02606"),
            [SensitiveClass::Iban]
        );
        assert_eq!(classes("NL91ABNA0417164300"), [SensitiveClass::Iban]);
        assert_eq!(classes("NO9386011117947"), [SensitiveClass::Iban]);
        assert!(is_valid_iban("BE68 5390 0754 7034"));
        assert!(is_valid_iban("CH9300762011623852957"));
        assert_eq!(iban_length("DE"), Some(22));
        assert_eq!(iban_length("ZZ"), None);
    }

    #[test]
    fn iban_negative() {
        // Wrong check digits.
        assert!(classes("DE88370400440532013000").is_empty());
        assert!(!is_valid_iban("DE88370400440532013000"));
        // Wrong length for the country.
        assert!(classes("DE8937040044053201300").is_empty());
        // Unknown country, lowercase, glued to a word.
        assert!(classes("ZZ89370400440532013000").is_empty());
        assert!(classes("de89370400440532013000").is_empty());
        assert!(classes("XDE89370400440532013000").is_empty());
        // Print form with a trailing extra character.
        assert!(classes("DE89 3704 0044 0532 0130 00X").is_empty());
    }

    #[test]
    fn email_positive() {
        let f = scan("contact: John.Doe+tag@Example.COM.");
        assert_eq!(
            f,
            [Finding {
                class: SensitiveClass::Email,
                redacted: "J***@example.com".into()
            }]
        );
        assert_eq!(
            classes("email=jane@mail.example.co.uk&x=1"),
            [SensitiveClass::Email]
        );
        assert!(is_valid_email("a_b-c%d@sub-domain.example.org"));
        assert!(is_valid_email("x@xn--80ak6aa92e.xn--p1ai"));
    }

    #[test]
    fn email_negative() {
        for bad in [
            "a@b",
            "user@localhost",
            "foo@1.2.3.4",
            "foo@[1.2.3.4]",
            "@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example.c",
            "a@example.123",
            "a@example..com",
        ] {
            assert!(classes(bad).is_empty(), "{bad}");
        }
        assert!(!is_valid_email("a@b"));
        assert!(!is_valid_email(".a@example.com"));
        assert!(!is_valid_email("a b@example.com"));
        // Local part longer than 64.
        assert!(classes(&format!("{}@example.com", "a".repeat(65))).is_empty());
    }

    #[test]
    fn phone_positive() {
        let f = scan("call +1 (415) 555-2671 now");
        assert_eq!(
            f,
            [Finding {
                class: SensitiveClass::Phone,
                redacted: "+*********71".into()
            }]
        );
        assert_eq!(classes("+44 20 7946 0958"), [SensitiveClass::Phone]);
        assert_eq!(classes("+4915112345678"), [SensitiveClass::Phone]);
        assert_eq!(classes("+44 (0)20 7946 0958"), [SensitiveClass::Phone]);
        assert_eq!(classes("(555) 123-4567"), [SensitiveClass::Phone]);
        assert_eq!(classes("tel:(555)123-4567"), [SensitiveClass::Phone]);
        assert_eq!(classes("555-123-4567"), [SensitiveClass::Phone]);
        assert_eq!(classes("1-555-123-4567"), [SensitiveClass::Phone]);
        let f = scan("555-123-4567");
        assert_eq!(f[0].redacted, "********67");
    }

    #[test]
    fn phone_negative() {
        for bad in [
            "2024-01-15",
            "1.2.3.4567",
            "555.123.4567",
            "12345678901",
            "1700000000",
            "2024-01-15T10:20:30+01:00",
            "$1,234.56",
            "price 1234567.89",
            "+123",
            "+0123456789",
            "+2024-01-15",
            "+1234567890123456",
            "1+23456789",
            "155-123-4567",
            "(155) 123-4567",
            "v555-123-4567",
            "555-123-4567-8",
        ] {
            assert!(classes(bad).is_empty(), "{bad}: {:?}", scan(bad));
        }
    }

    #[test]
    fn phone_field_hint() {
        assert_eq!(
            field("mobile", "07911123456"),
            [Finding {
                class: SensitiveClass::Phone,
                redacted: "*********56".into()
            }]
        );
        assert_eq!(field("phoneNumber", "+49 151 1234 5678").len(), 1);
        assert_eq!(field("tel", "555.123.4567").len(), 1);
        assert!(field("phone", "2024-01-15").is_empty());
        assert!(field("phone", "1111111").is_empty());
        assert!(field("phone", "12345").is_empty());
        assert!(field("hotel", "07911123456").is_empty());
        assert!(field("count", "07911123456").is_empty());
    }

    #[test]
    fn jwt_positive() {
        let t = jwt(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"sub":"123","name":"x"}"#,
        );
        let f = scan(&format!("Bearer {t}"));
        assert_eq!(
            f,
            [Finding {
                class: SensitiveClass::Jwt,
                redacted: "eyJ…(alg=HS256)".into()
            }]
        );
        assert!(!f[0].redacted.contains(&t[4..]));
        // alg=none with an empty signature, and a trailing sentence dot.
        let none = format!("{}.{}.", b64url(r#"{"alg":"none"}"#), b64url(r#"{"a":1}"#));
        assert_eq!(classes(&format!("token {none}")), [SensitiveClass::Jwt]);
    }

    #[test]
    fn jwt_negative() {
        // Segments that are not JSON objects.
        assert!(classes("abc.def.ghi").is_empty());
        assert!(classes("eyJhbGciOi.eyJzdWIiOi.signature").is_empty());
        let arr = jwt("[1,2]", r#"{"a":1}"#);
        assert!(classes(&arr).is_empty());
        // Header without alg; payload not an object.
        assert!(classes(&jwt(r#"{"typ":"JWT"}"#, r#"{"a":1}"#)).is_empty());
        assert!(classes(&jwt(r#"{"alg":"HS256"}"#, "42")).is_empty());
        // Domain names and version strings.
        assert!(classes("www.example.com").is_empty());
        assert!(classes("1.2.3").is_empty());
        // Four segments.
        assert!(classes(&format!("{}.x", jwt(r#"{"alg":"HS256"}"#, r#"{"a":1}"#))).is_empty());
    }

    #[test]
    fn jwt_redaction_sanitises_alg() {
        let t = jwt(r#"{"alg":"<script>"}"#, r#"{"a":1}"#);
        assert_eq!(scan(&t)[0].redacted, "eyJ…(alg=?)");
    }

    #[test]
    fn aws_keys() {
        let f = scan("aws_access_key_id = AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            f,
            [Finding {
                class: SensitiveClass::AwsAccessKey,
                redacted: "AKIA************MPLE".into()
            }]
        );
        assert_eq!(
            classes("\"ASIAY34FZKBOKMUTVV7A\""),
            [SensitiveClass::AwsAccessKey]
        );
        // 15 characters after the prefix.
        assert!(classes("AKIAIOSFODNN7EXAMPL").is_empty());
        // 17, glued, lowercase, bad alphabet (0, 1, 8, 9), unknown prefix.
        assert!(classes("AKIAIOSFODNN7EXAMPLEE").is_empty());
        assert!(classes("xAKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(classes("AKIAIOSFODNN7EXAMPLE_1").is_empty());
        assert!(classes("akiaiosfodnn7example").is_empty());
        assert!(classes("AKIAIOSFODNN1EXAMPLE").is_empty());
        assert!(classes("ABCDIOSFODNN7EXAMPLE").is_empty());
    }

    #[test]
    fn private_keys() {
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            scan(pem),
            [Finding {
                class: SensitiveClass::PrivateKey,
                redacted: "-----BEGIN RSA PRIVATE KEY----- [redacted]".into()
            }]
        );
        assert_eq!(
            classes("-----BEGIN OPENSSH PRIVATE KEY-----"),
            [SensitiveClass::PrivateKey]
        );
        assert_eq!(
            classes("-----BEGIN PRIVATE KEY-----"),
            [SensitiveClass::PrivateKey]
        );
        assert!(classes("-----BEGIN PUBLIC KEY-----").is_empty());
        assert!(classes("-----BEGIN CERTIFICATE-----").is_empty());
        assert!(classes("-----BEGIN rsa private key-----").is_empty());
        assert!(classes("-----BEGIN RSA PRIVATE KEY").is_empty());
    }

    #[test]
    fn password_fields() {
        let pw = [Finding {
            class: SensitiveClass::Password,
            redacted: "[redacted]".into(),
        }];
        for name in [
            "password",
            "Password",
            "new_password",
            "passwordConfirmation",
            "passwd",
            "pwd",
            "pass",
            "pass_phrase",
            "client_secret",
            "clientSecret",
            "X-Secret",
            "db.password",
        ] {
            assert_eq!(field(name, "hunter2"), pw, "{name}");
        }
        // The value is never scanned further (no partial email leak).
        assert_eq!(field("password", "john@example.com"), pw);
        assert!(field("password", "").is_empty());
        assert!(field("password", "   ").is_empty());
        for name in [
            "password_hint",
            "passwordChangedAt",
            "pwd_length",
            "secret_name",
            "passport",
            "bypass",
            "secretary",
            "compass",
        ] {
            assert!(field(name, "hunter2").is_empty(), "{name}");
        }
    }

    #[test]
    fn card_field_hint() {
        let f = field("card_number", "4111 11111111 1111");
        assert_eq!(
            f,
            [Finding {
                class: SensitiveClass::CreditCard,
                redacted: "4111********1111".into()
            }]
        );
        assert_eq!(field("pan", "4111-111111111111").len(), 1);
        assert!(field("cardNumber", "4111111111111112").is_empty());
        // Non-hinted field with an odd grouping: not a card.
        assert!(field("note", "4111 11111111 1111").is_empty());
    }

    #[test]
    fn classify_field_falls_back_to_scanning() {
        assert_eq!(field("contact", "mail jane@example.com").len(), 1);
        assert_eq!(
            field("phone", "call jane@example.com")[0].class,
            SensitiveClass::Email
        );
        assert!(field("ssn", "hello").is_empty());
    }

    #[test]
    fn multiple_findings_in_one_text() {
        let t = format!(
            "{} a@example.com 4111111111111111 123-45-6789 +14155552671 DE89370400440532013000 AKIAIOSFODNN7EXAMPLE",
            jwt(r#"{"alg":"RS256"}"#, r#"{"sub":"x"}"#)
        );
        let mut c = classes(&t);
        c.sort();
        assert_eq!(
            c,
            [
                SensitiveClass::Email,
                SensitiveClass::Phone,
                SensitiveClass::CreditCard,
                SensitiveClass::UsSsn,
                SensitiveClass::Iban,
                SensitiveClass::Jwt,
                SensitiveClass::AwsAccessKey,
            ]
        );
    }

    #[test]
    fn redactions_never_contain_the_secret() {
        let card = "5555555555554444";
        let iban = "GB82WEST12345698765432";
        let key = "AKIAIOSFODNN7EXAMPLE";
        for (text, secret) in [
            (card, card),
            (iban, iban),
            (key, key),
            ("123-45-6789", "123-45"),
        ] {
            for f in scan(text) {
                assert!(!f.redacted.contains(secret), "{f:?}");
            }
        }
    }

    #[test]
    fn findings_are_capped() {
        let text = "a@example.com ".repeat(1000);
        assert_eq!(scan(&text).len(), MAX_FINDINGS_PER_CALL);
    }

    #[test]
    fn adversarial_inputs_are_fast_and_safe() {
        let inputs = [
            "@".repeat(200_000),
            "a@".repeat(100_000),
            "1 ".repeat(100_000),
            "1-".repeat(100_000),
            "+1".repeat(100_000),
            "(".repeat(100_000),
            ".".repeat(200_000),
            "a.".repeat(100_000),
            "DE89 ".repeat(50_000),
            "-----BEGIN ".repeat(20_000),
            "é@ü.ñ ".repeat(20_000),
            "4".repeat(200_000),
        ];
        let start = std::time::Instant::now();
        for input in &inputs {
            let _ = scan(input);
            let mut v = Vec::new();
            classify_field("password", input, &mut v);
            classify_field("phone", input, &mut v);
            classify_field("ssn", input, &mut v);
            classify_field("card", input, &mut v);
        }
        assert!(start.elapsed().as_secs() < 20);
        // Oversized text is truncated, not rejected.
        let mut big = "x".repeat(MAX_SCAN_BYTES - 1);
        big.push('é');
        big.push_str(" a@example.com");
        assert!(scan(&big).is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        /// Strings over an alphabet of troublesome characters (shared with the other
        /// analyzers' tests): no panic, bounded output.
        #[test]
        fn random_inputs_never_panic(s in crate::analyze::testinput::troublesome()) {
            let mut v = Vec::new();
            scan_text(&s, &mut v);
            classify_field(&s, &s, &mut v);
            for name in ["password", "ssn", "phone", "card_number"] {
                classify_field(name, &s, &mut v);
            }
            let _ = (
                is_valid_email(&s),
                is_valid_iban(&s),
                is_valid_card(&s),
                is_valid_ssn(&s),
            );
            for f in &v {
                assert!(f.redacted.len() < 200, "{f:?}");
            }

        }
    }
}
