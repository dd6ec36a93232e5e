//! `detect_pii` and `redact_pii`: e-mail addresses, phone numbers, payment
//! card numbers (Luhn-checked), IBANs (mod-97-checked), US social security
//! numbers and IPv4 addresses, found by small hand-written scanners (no
//! regex engine in the bundle). Offsets are in characters of the text.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    CreditCard,
    Iban,
    UsSsn,
    Ipv4,
}

impl PiiKind {
    fn label(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::CreditCard => "[CREDIT_CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::UsSsn => "[US_SSN]",
            PiiKind::Ipv4 => "[IP_ADDRESS]",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    #[serde(rename = "type")]
    pub kind: PiiKind,
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Every finding, in text order, without overlaps (the first, longest wins).
pub fn detect(text: &str) -> Vec<Finding> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let at_start = i == 0 || !chars[i - 1].is_alphanumeric();
        let hit = if at_start { scan(&chars, i) } else { None };
        match hit {
            Some((kind, end)) => {
                found.push(Finding {
                    kind,
                    text: chars[i..end].iter().collect(),
                    start: i,
                    end,
                });
                i = end;
            }
            None => i += 1,
        }
    }
    found
}

/// The text with each finding replaced by its label, and the findings.
pub fn redact(text: &str) -> (String, Vec<Finding>) {
    let findings = detect(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for f in &findings {
        out.extend(&chars[pos..f.start]);
        out.push_str(f.kind.label());
        pos = f.end;
    }
    out.extend(&chars[pos..]);
    (out, findings)
}

fn scan(c: &[char], i: usize) -> Option<(PiiKind, usize)> {
    email(c, i)
        .map(|e| (PiiKind::Email, e))
        .or_else(|| iban(c, i).map(|e| (PiiKind::Iban, e)))
        .or_else(|| digit_run(c, i))
}

fn email(c: &[char], i: usize) -> Option<usize> {
    let local = |ch: char| ch.is_alphanumeric() || "._%+-".contains(ch);
    let mut at = i;
    while at < c.len() && local(c[at]) {
        at += 1;
    }
    if at == i || at >= c.len() || c[at] != '@' {
        return None;
    }
    let mut end = at + 1;
    while end < c.len() && (c[end].is_alphanumeric() || c[end] == '.' || c[end] == '-') {
        end += 1;
    }
    while end > at + 1 && c[end - 1] == '.' {
        end -= 1; // sentence full stop after the address
    }
    let domain: String = c[at + 1..end].iter().collect();
    let tld_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| {
        !host.is_empty() && tld.len() >= 2 && tld.chars().all(char::is_alphabetic)
    });
    tld_ok.then_some(end)
}

fn iban(c: &[char], i: usize) -> Option<usize> {
    if c.len() < i + 15 || !c[i].is_ascii_uppercase() || !c[i + 1].is_ascii_uppercase() {
        return None;
    }
    if !c[i + 2].is_ascii_digit() || !c[i + 3].is_ascii_digit() {
        return None;
    }
    let mut compact = String::new();
    let mut end = i;
    while end < c.len()
        && compact.len() < 34
        && (c[end].is_ascii_alphanumeric()
            || (c[end] == ' ' && end + 1 < c.len() && c[end + 1].is_ascii_alphanumeric()))
    {
        if c[end] != ' ' {
            compact.push(c[end]);
        }
        end += 1;
    }
    // Drop trailing characters until the mod-97 check passes (a space-
    // grouped IBAN may be followed by an ordinary word).
    while compact.len() >= 15 {
        if iban_valid(&compact) {
            let mut len = 0;
            let mut stop = i;
            while len < compact.len() {
                if c[stop] != ' ' {
                    len += 1;
                }
                stop += 1;
            }
            return Some(stop);
        }
        compact.pop();
    }
    None
}

fn iban_valid(s: &str) -> bool {
    if !s
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let rotated = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u32 = 0;
    for ch in rotated.chars() {
        let v = ch.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Digit-led findings: cards, SSNs, IPv4s and phone numbers.
fn digit_run(c: &[char], i: usize) -> Option<(PiiKind, usize)> {
    let first = c[i];
    if !(first.is_ascii_digit() || first == '+' || first == '(') {
        return None;
    }
    let mut end = i;
    let mut digits = String::new();
    let mut seps = String::new();
    while end < c.len() {
        let ch = c[end];
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else if ch == ')'
            || (" -.(+".contains(ch)
                && end + 1 < c.len()
                && (c[end + 1].is_ascii_digit() || c[end + 1] == '('))
        {
            seps.push(ch);
        } else {
            break;
        }
        end += 1;
    }
    while end > i && !c[end - 1].is_ascii_digit() {
        end -= 1;
    }
    if end < c.len() && c[end].is_alphanumeric() {
        return None;
    }
    let raw: String = c[i..end].iter().collect();
    classify(&raw, &digits, &seps).map(|k| (k, end))
}

fn classify(raw: &str, digits: &str, seps: &str) -> Option<PiiKind> {
    if is_ipv4(raw) {
        return Some(PiiKind::Ipv4);
    }
    if seps.contains('.') {
        return None; // decimals and dotted numbers are not PII here
    }
    let groups: Vec<&str> = raw.split('-').collect();
    if groups.len() == 3 && groups.iter().map(|g| g.len()).eq([3, 2, 4]) && digits.len() == 9 {
        return Some(PiiKind::UsSsn);
    }
    if (13..=19).contains(&digits.len()) && luhn(digits) && !raw.contains(['(', '+']) {
        return Some(PiiKind::CreditCard);
    }
    let phone_like = raw.starts_with('+') || seps.chars().any(|s| " -()".contains(s));
    if phone_like && (7..=15).contains(&digits.len()) && seps.len() <= 8 {
        return Some(PiiKind::Phone);
    }
    None
}

fn is_ipv4(raw: &str) -> bool {
    let parts: Vec<&str> = raw.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok_and(|n| n <= 255))
}

pub fn luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, d) in digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
    {
        sum += if i % 2 == 1 {
            let x = d * 2;
            if x > 9 {
                x - 9
            } else {
                x
            }
        } else {
            d
        };
    }
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, String)> {
        detect(text).into_iter().map(|f| (f.kind, f.text)).collect()
    }

    #[test]
    fn each_kind_is_found() {
        let text =
            "Mail ann.lee@example.co.uk or call +1 (555) 010-9999. Card 4111 1111 1111 1111, \
                    IBAN GB82 WEST 1234 5698 7654 32 and SSN 123-45-6789 from 192.168.0.1.";
        assert_eq!(
            kinds(text),
            vec![
                (PiiKind::Email, "ann.lee@example.co.uk".into()),
                (PiiKind::Phone, "+1 (555) 010-9999".into()),
                (PiiKind::CreditCard, "4111 1111 1111 1111".into()),
                (PiiKind::Iban, "GB82 WEST 1234 5698 7654 32".into()),
                (PiiKind::UsSsn, "123-45-6789".into()),
                (PiiKind::Ipv4, "192.168.0.1".into()),
            ]
        );
    }

    #[test]
    fn ordinary_numbers_are_not_pii() {
        assert!(
            detect("In 2023 we sold 20,000 bottles at 3.50 each; order 4111111111111112.")
                .is_empty()
        );
        assert!(detect("version 1.2.3 and user@localhost").is_empty());
    }

    #[test]
    fn redaction_replaces_with_labels() {
        let (text, found) = redact("Write to bob@example.com today.");
        assert_eq!(text, "Write to [EMAIL] today.");
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn luhn_and_iban_checks() {
        assert!(luhn("4111111111111111"));
        assert!(!luhn("4111111111111112"));
        assert!(iban_valid("GB82WEST12345698765432"));
        assert!(!iban_valid("GB82WEST12345698765433"));
    }
}
