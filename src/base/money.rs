//! Money: the one amount type (a decimal, never a float), the one strict
//! reader of amounts people write (`$12,400.00`, `42,000`, `12 400,50 €`),
//! and the one way amounts are shown (docs/reference.md, "Money"): rounded
//! half away from zero to the currency's minor unit, grouped by thousands,
//! decimals only when they are not zero. `deal import`, `deal new --value`
//! and `deal set value=` read amounts here; `list`, `show`, `forecast`,
//! `stats` and the report show them here.

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};

/// An amount of money, exact.
pub type Amount = Decimal;

/// The smallest amount a deal file may not hold: 10^15.
pub fn limit() -> Decimal {
    Decimal::from(1_000_000_000_000_000u64)
}

/// Most fractional digits an amount may be written with.
const MAX_FRACTION: usize = 12;

/// Why a value is not an amount a deal may hold, as a sentence.
pub fn check_range(v: Decimal) -> Result<Decimal, String> {
    if v.is_sign_negative() && !v.is_zero() {
        Err("a negative amount".into())
    } else if v >= limit() {
        Err("10^15 or more".into())
    } else {
        Ok(v.normalize())
    }
}

/// A YAML/JSON number as an amount: exactly the number written (integers
/// exactly, floats by their shortest decimal form), or why a deal may not
/// hold it (negative, 10^15 or more, NaN, infinite).
pub fn from_f64(x: f64) -> Result<Decimal, String> {
    if x.is_nan() {
        return Err("not a number (NaN)".into());
    }
    if x.is_infinite() {
        return Err("infinite".into());
    }
    if x < 0.0 {
        return Err("a negative amount".into());
    }
    if x >= 1e15 {
        return Err("10^15 or more".into());
    }
    // The shortest text that reads back as `x` is the number the file says.
    let text = format!("{x}");
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_f64(x))
        .map(|d| d.normalize())
        .ok_or_else(|| format!("{x} is not an amount"))
}

/// An integer from YAML as an amount.
pub fn from_i128(x: i128) -> Result<Decimal, String> {
    if x < 0 {
        return Err("a negative amount".into());
    }
    if x >= 1_000_000_000_000_000 {
        return Err("10^15 or more".into());
    }
    Ok(Decimal::from_i128_with_scale(x, 0))
}

/// The amount as an `f64`, for figures that are ratios or charts.
pub fn to_f64(v: Decimal) -> f64 {
    v.to_f64().unwrap_or(0.0)
}

/// The amount as a JSON number: an integer exactly, a fraction as the
/// shortest float that prints as its decimal digits.
pub fn json(v: Decimal) -> serde_json::Value {
    let v = v.normalize();
    if v.scale() == 0
        && let Some(i) = v.to_u64()
    {
        return serde_json::Value::from(i);
    }
    // A negative whole amount (a review's delta) stays an integer too.
    if v.scale() == 0
        && let Some(i) = v.to_i64()
    {
        return serde_json::Value::from(i);
    }
    serde_json::Number::from_f64(to_f64(v))
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// Serializes an amount as [`json`] writes it.
pub fn serialize<S: serde::Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    json(*v).serialize(s)
}

/// Serializes an optional amount as [`json`] writes it.
pub fn serialize_opt<S: serde::Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    v.map(json).serialize(s)
}

/// Reads an amount as a person reads it, or says why it is not one.
///
/// Accepted: digits with an optional currency sign or ISO code before or
/// after (`$`, `€`, `£`, `¥`, `USD`), thousands grouped by `,` (or `.` with
/// `decimal_comma`), a space, a no-break space or `'`, in groups of three,
/// and a decimal point (`.`, or `,` with `decimal_comma`). Refused, never
/// guessed: suffixes (`50k`, `1.5M`), exponents (`2.5e3`), negatives (`-5`,
/// `(500)`), other letters (`v2`), a separator that could be either (`1,5`
/// without `decimal_comma`), two currencies that disagree, and 10^15 or
/// more. The currency the text names comes back with the amount: a caller
/// that writes a deal writes it too, or refuses a contradiction.
pub fn parse(s: &str, decimal_comma: bool) -> Result<(Decimal, Option<Named>), String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty".into());
    }
    let (t, named) = strip_currency(t)?;
    parse_digits(t, decimal_comma).map(|v| (v, named))
}

/// The digits of an amount, its currency already taken off.
fn parse_digits(t: &str, decimal_comma: bool) -> Result<Decimal, String> {
    if t.starts_with('-') || t.ends_with('-') || t.starts_with('−') {
        return Err("a negative amount".into());
    }
    if t.starts_with('(') && t.ends_with(')') {
        return Err("a negative amount (in parentheses)".into());
    }
    let (point, group) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let is_group =
        |c: char| c == group || c == ' ' || c == '\u{a0}' || c == '\u{202f}' || c == '\'';
    if let Some(bad) = t
        .chars()
        .find(|&c| !(c.is_ascii_digit() || c == point || is_group(c)))
    {
        return Err(if bad == ',' || bad == '.' {
            if decimal_comma {
                format!("`{bad}` here is not a thousands separator in groups of three")
            } else {
                "`,` is a decimal comma or a thousands separator: pass --decimal-comma if it is a decimal comma".into()
            }
        } else if bad.is_alphabetic() && t.starts_with(|c: char| c.is_ascii_digit()) {
            format!("`{bad}` is not part of an amount (write every digit: 50000, not 50k)")
        } else {
            format!("`{bad}` is not part of an amount")
        });
    }
    let (int, frac) = match t.split_once(point) {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    if let Some(f) = frac {
        if !decimal_comma && f.contains(',') {
            return Err(
                "`.` before `,` reads as a decimal comma: pass --decimal-comma if it is one".into(),
            );
        }
        if f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "nothing but digits may follow the decimal `{point}`"
            ));
        }
        if f.len() > MAX_FRACTION {
            return Err(format!("more than {MAX_FRACTION} decimals"));
        }
    }
    // The integer part: plain digits, or groups of three after the first.
    let mut seps = int.chars().filter(|c| !c.is_ascii_digit());
    let digits: String = int.chars().filter(char::is_ascii_digit).collect();
    if let Some(sep) = seps.next() {
        if seps.any(|c| c != sep) {
            return Err("mixed thousands separators".into());
        }
        let groups: Vec<&str> = int.split(sep).collect();
        let ok = groups[0].len() <= 3
            && !groups[0].is_empty()
            && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return Err(
                if sep == group && frac.is_none() && !decimal_comma && sep == ',' {
                    "`,` is a decimal comma or a thousands separator: pass --decimal-comma if it is a decimal comma".into()
                } else {
                    format!("`{sep}` does not group the digits by three")
                },
            );
        }
    }
    if digits.is_empty() && frac.is_none() {
        return Err("no digits".into());
    }
    let digits = digits.trim_start_matches('0');
    if digits.len() > 15 {
        return Err("10^15 or more".into());
    }
    let text = match frac {
        Some(f) => format!("{}.{f}", if digits.is_empty() { "0" } else { digits }),
        None if digits.is_empty() => "0".to_string(),
        None => digits.to_string(),
    };
    let v: Decimal = text.parse().map_err(|_| "not an amount".to_string())?;
    check_range(v)
}

/// A currency an amount names: an ISO code (`USD`), or a sign (`$`) that
/// stands for its usual currency or for another written with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Code(String),
    Sign(char),
}

/// The currency signs read, each with its usual currency and the others
/// written with the same sign.
const SIGNS: [(char, &str, &[&str]); 13] = [
    (
        '$',
        "USD",
        &["CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD"],
    ),
    ('€', "EUR", &[]),
    ('£', "GBP", &[]),
    ('¥', "JPY", &["CNY"]),
    ('₹', "INR", &[]),
    ('₩', "KRW", &[]),
    ('₽', "RUB", &[]),
    ('₺', "TRY", &[]),
    ('₪', "ILS", &[]),
    ('₴', "UAH", &[]),
    ('₦', "NGN", &[]),
    ('₱', "PHP", &[]),
    ('฿', "THB", &[]),
];

impl Named {
    /// Whether an amount written so may be in `code` (`$` in USD or CAD).
    pub fn agrees(&self, code: &str) -> bool {
        match self {
            Named::Code(c) => c.eq_ignore_ascii_case(code.trim()),
            Named::Sign(s) => SIGNS.iter().any(|(sign, usual, others)| {
                sign == s
                    && (usual.eq_ignore_ascii_case(code.trim())
                        || others.iter().any(|o| o.eq_ignore_ascii_case(code.trim())))
            }),
        }
    }

    /// The currency it stands for where `expected` is the currency the
    /// amount would otherwise be in: `expected` when it agrees, else the
    /// code, or the sign's usual currency (`$` → USD, `€` → EUR, `£` → GBP,
    /// `¥` → JPY).
    pub fn code_in(&self, expected: &str) -> String {
        if self.agrees(expected) {
            return expected.trim().to_ascii_uppercase();
        }
        match self {
            Named::Code(c) => c.clone(),
            Named::Sign(s) => SIGNS
                .iter()
                .find(|(sign, ..)| sign == s)
                .map_or_else(String::new, |(_, usual, _)| usual.to_string()),
        }
    }
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Named::Code(c) => f.write_str(c),
            Named::Sign(s) => write!(f, "{s}"),
        }
    }
}

/// The text without a currency sign or ISO code at either end, and the
/// currency they name (two that disagree, `$5 EUR`, are refused).
fn strip_currency(t: &str) -> Result<(&str, Option<Named>), String> {
    let is_sign = |c: char| SIGNS.iter().any(|(s, ..)| *s == c);
    let mut t = t;
    let mut marks: Vec<Named> = Vec::new();
    for _ in 0..2 {
        let before = t;
        loop {
            let prev = t;
            if let Some(c) = t.chars().next().filter(|&c| is_sign(c)) {
                marks.push(Named::Sign(c));
                t = &t[c.len_utf8()..];
            }
            if let Some(c) = t.chars().next_back().filter(|&c| is_sign(c)) {
                marks.push(Named::Sign(c));
                t = &t[..t.len() - c.len_utf8()];
            }
            t = t.trim();
            if t == prev {
                break;
            }
        }
        // A three-letter code (USD, EUR) before or after the number.
        if t.len() > 3 && t.is_char_boundary(3) {
            let (head, rest) = t.split_at(3);
            if head.chars().all(|c| c.is_ascii_uppercase()) {
                let r = rest.trim_start();
                if r.len() < rest.len() || r.starts_with(|c: char| !c.is_alphabetic()) {
                    marks.push(Named::Code(head.to_string()));
                    t = r;
                }
            }
        }
        if t.len() > 3 && t.is_char_boundary(t.len() - 3) {
            let (rest, tail) = t.split_at(t.len() - 3);
            if tail.chars().all(|c| c.is_ascii_uppercase())
                && rest
                    .ends_with(|c: char| c.is_ascii_digit() || c.is_whitespace() || c == '\u{a0}')
            {
                marks.push(Named::Code(tail.to_string()));
                t = rest.trim_end();
            }
        }
        t = t.trim();
        if t == before {
            break;
        }
    }
    // One currency: a code, with which every sign agrees; or one sign.
    let named = marks
        .iter()
        .find(|m| matches!(m, Named::Code(_)))
        .or(marks.first())
        .cloned();
    if let Some(n) = &named {
        for m in &marks {
            let fits = match (n, m) {
                (Named::Code(c), _) => m.agrees(c),
                (Named::Sign(a), Named::Sign(b)) => a == b,
                (Named::Sign(_), Named::Code(_)) => false,
            };
            if !fits {
                return Err(format!("it names two currencies, `{n}` and `{m}`"));
            }
        }
    }
    Ok((t, named))
}

/// Digits after the point in a currency's minor unit (ISO 4217): 0 for
/// JPY, KRW and the like, 3 for the dinars and rials that use it, else 2.
pub fn minor_unit(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "PYG" | "UGX" | "XAF" | "XOF" | "XPF" | "BIF"
        | "DJF" | "GNF" | "KMF" | "RWF" | "VUV" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount as people read it: rounded half away from zero to `minor`
/// decimals, grouped by thousands, decimals only when they are not zero
/// (1999.999 → `2,000`, 1999.5 → `1,999.50`, 0.996 → `1`).
pub fn format(v: Decimal, minor: u32) -> String {
    let r = v.round_dp_with_strategy(minor, RoundingStrategy::MidpointAwayFromZero);
    let neg = r.is_sign_negative() && !r.is_zero();
    let whole = r.abs().trunc();
    let frac = (r.abs() - whole).normalize();
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + minor as usize + 2);
    if neg {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_zero() {
        let f = format!("{:.*}", minor as usize, frac);
        out.push_str(f.trim_start_matches('0'));
    }
    out
}

/// [`format`] of a figure kept as an `f64` (a total, a ratio of amounts),
/// with two decimals at most. A figure that is not finite shows as `-`.
pub fn format_f64(v: f64) -> String {
    format_f64_in(v, 2)
}

/// [`format_f64`] with `minor` decimals.
pub fn format_f64_in(v: f64, minor: u32) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    match from_f64(v.abs()) {
        Ok(d) => format(if v < 0.0 { -d } else { d }, minor),
        Err(_) => match Decimal::from_f64(v) {
            Some(d) => format(d, minor),
            None => "-".into(),
        },
    }
}

/// A deal's amount under a table or card headed in `table_currency`: in
/// that currency the bare figure, in another the figure with its code
/// (`99,999 USD`), each rounded to its own currency's minor unit.
pub fn in_table(v: Decimal, currency: Option<&str>, table_currency: &str) -> String {
    match currency {
        Some(c) if !c.eq_ignore_ascii_case(table_currency) => {
            format!("{} {}", format(v, minor_unit(c)), c.to_ascii_uppercase())
        }
        _ => format(v, minor_unit(table_currency)),
    }
}

/// Whether an amount in `currency` counts in totals headed in the
/// pipeline's `table_currency`.
pub fn counts_in(currency: Option<&str>, table_currency: &str) -> bool {
    currency.is_none_or(|c| c.eq_ignore_ascii_case(table_currency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn amount(s: &str, comma: bool) -> Result<Decimal, String> {
        parse(s, comma).map(|(v, _)| v)
    }

    /// The currency an amount names comes back with it, never dropped.
    #[test]
    fn amounts_name_their_currency() {
        let code =
            |s: &str, expected: &str| parse(s, false).unwrap().1.map(|n| n.code_in(expected));
        assert_eq!(code("USD 99,999", "EUR"), Some("USD".into()));
        assert_eq!(code("$12,400.00", "EUR"), Some("USD".into()));
        assert_eq!(code("$12,400.00", "CAD"), Some("CAD".into()));
        assert_eq!(code("£7", "EUR"), Some("GBP".into()));
        assert_eq!(code("€1,234.50", "USD"), Some("EUR".into()));
        assert_eq!(code("¥500", "EUR"), Some("JPY".into()));
        assert_eq!(code("5 EUR", "USD"), Some("EUR".into()));
        assert_eq!(code("12400", "EUR"), None);
        assert!(parse("USD 5", false).unwrap().1.unwrap().agrees("usd"));
        assert!(!parse("USD 5", false).unwrap().1.unwrap().agrees("EUR"));
        assert!(
            parse("$5 EUR", false)
                .unwrap_err()
                .contains("two currencies")
        );
        assert!(parse("USD $5", false).is_ok());
    }

    #[test]
    fn rounding_and_grouping() {
        for (v, out) in [
            ("1999.999", "2,000"),
            ("1999.5", "1,999.50"),
            ("0.996", "1"),
            ("48000", "48,000"),
            ("1250.5", "1,250.50"),
            ("999", "999"),
            ("0.005", "0.01"),
            ("0.004", "0"),
            ("1234567.891", "1,234,567.89"),
            ("999999999999999.99", "999,999,999,999,999.99"),
            ("0", "0"),
            ("12.10", "12.10"),
            ("2.5", "2.50"),
        ] {
            assert_eq!(format(d(v), 2), out, "{v}");
        }
        assert_eq!(format(d("1999.5"), 0), "2,000");
        assert_eq!(format(d("1234.5"), minor_unit("JPY")), "1,235");
        assert_eq!(format(d("1.0005"), minor_unit("KWD")), "1.001");
        assert_eq!(format_f64(1999.999), "2,000");
        assert_eq!(format_f64(0.996), "1");
        assert_eq!(format_f64(f64::NAN), "-");
        assert_eq!(format_f64(-1250.5), "-1,250.50");
    }

    #[test]
    fn other_currencies_show_their_code() {
        assert_eq!(in_table(d("99999"), Some("USD"), "EUR"), "99,999 USD");
        assert_eq!(in_table(d("99999"), Some("eur"), "EUR"), "99,999");
        assert_eq!(in_table(d("99999"), None, "EUR"), "99,999");
        assert_eq!(in_table(d("1234.5"), Some("JPY"), "EUR"), "1,235 JPY");
    }

    #[test]
    fn amounts_people_write() {
        for (s, comma, v) in [
            ("$12,400.00", false, "12400"),
            ("42,000", false, "42000"),
            ("12 400,50 €", true, "12400.5"),
            ("EUR 1.250,50", true, "1250.5"),
            ("1.250,50 EUR", true, "1250.5"),
            ("12400", false, "12400"),
            ("0.5", false, "0.5"),
            (".5", false, "0.5"),
            ("1,5", true, "1.5"),
            ("USD 99,999", false, "99999"),
            ("€ 48 000", false, "48000"),
            ("1'000'000", false, "1000000"),
            ("0", false, "0"),
            ("999999999999999.99", false, "999999999999999.99"),
            ("007", false, "7"),
        ] {
            assert_eq!(amount(s, comma), Ok(d(v)), "{s}");
        }
    }

    #[test]
    fn amounts_refused() {
        for (s, comma) in [
            ("50k", false),
            ("1.5M", false),
            ("2.5e3", false),
            ("(500)", false),
            ("v2.0", false),
            ("v2", false),
            ("1,5", false),
            ("1,50", false),
            ("-5", false),
            ("−5", false),
            ("99999999999999999999", false),
            ("1000000000000000", false),
            ("1e20", false),
            ("NaN", false),
            ("inf", false),
            ("", false),
            ("$", false),
            ("1.250,50", false),
            ("1.2.3", false),
            ("1,00,000", false),
            ("12,40", false),
            ("1 2", false),
            ("5.", false),
            ("1,234.5", true),
            ("1, 000", false),
            ("abc", false),
            ("12ab", false),
            ("1/2", false),
        ] {
            assert!(
                amount(s, comma).is_err(),
                "{s:?} read as {:?}",
                amount(s, comma)
            );
        }
        assert!(
            amount("1,5", false)
                .unwrap_err()
                .contains("--decimal-comma")
        );
    }

    #[test]
    fn numbers_from_files() {
        assert_eq!(from_f64(0.1), Ok(d("0.1")));
        assert_eq!(from_f64(1999.999), Ok(d("1999.999")));
        assert!(from_f64(1e20).is_err());
        assert!(from_f64(f64::NAN).is_err());
        assert!(from_f64(f64::INFINITY).is_err());
        assert!(from_f64(-1.0).is_err());
        assert!(from_i128(99999999999999999999).is_err());
        assert_eq!(from_i128(48000), Ok(d("48000")));
    }

    #[test]
    fn whole_amounts_are_json_integers_and_fractions_floats() {
        assert_eq!(json(d("48000.00")), serde_json::json!(48000));
        assert_eq!(json(d("-1500")), serde_json::json!(-1500));
        assert_eq!(json(d("1250.5")), serde_json::json!(1250.5));
        assert!(json(d("48000")).is_u64());
    }

    #[test]
    fn the_range_is_zero_up_to_below_ten_to_the_fifteen() {
        assert_eq!(check_range(d("-0")), Ok(d("0")));
        assert_eq!(check_range(d("12.500")).unwrap().to_string(), "12.5");
        assert_eq!(check_range(d("-0.01")), Err("a negative amount".into()));
        assert_eq!(check_range(limit()), Err("10^15 or more".into()));
        assert!(check_range(limit() - d("0.01")).is_ok());
        assert!(from_i128(999_999_999_999_999).is_ok());
        assert_eq!(from_i128(-1), Err("a negative amount".into()));
    }

    #[test]
    fn minor_units_and_table_currencies_ignore_case() {
        assert_eq!(minor_unit("jpy"), 0);
        assert_eq!(minor_unit("Kwd"), 3);
        assert_eq!(minor_unit("CHF"), 2);
        assert!(counts_in(None, "EUR"));
        assert!(counts_in(Some("eur"), "EUR"));
        assert!(!counts_in(Some("USD"), "EUR"));
        assert_eq!(in_table(d("1234.567"), Some("kwd"), "EUR"), "1,234.567 KWD");
    }

    #[test]
    fn figures_that_are_not_finite_show_as_a_dash() {
        assert_eq!(format_f64(f64::INFINITY), "-");
        assert_eq!(format_f64_in(f64::NEG_INFINITY, 0), "-");
        assert_eq!(format_f64_in(1234.5, 0), "1,235");
        assert_eq!(format(d("-0.004"), 2), "0");
        assert_eq!(format(d("-1999.995"), 2), "-2,000");
        assert_eq!(format(d("1000000"), 2), "1,000,000");
    }

    #[test]
    fn a_sign_stands_for_its_usual_currency_or_one_written_with_it() {
        let dollar = Named::Sign('$');
        assert!(dollar.agrees(" cad "));
        assert!(!dollar.agrees("EUR"));
        assert_eq!(dollar.code_in("EUR"), "USD");
        assert_eq!(dollar.code_in("aud"), "AUD");
        assert_eq!(Named::Code("CHF".into()).code_in("EUR"), "CHF");
        assert_eq!(Named::Sign('€').to_string(), "€");
        assert_eq!(parse("€ 5 €", false), Ok((d("5"), Some(Named::Sign('€')))));
        assert!(parse("£5 $", false).unwrap_err().contains("two currencies"));
    }

    /// The digits of an amount a person writes, and how they write it.
    fn written() -> impl Strategy<Value = (u64, Option<String>, String, bool)> {
        (
            0u64..1_000_000_000_000_000,
            proptest::option::of("[0-9]{1,4}"),
            prop_oneof![Just(""), Just("$"), Just("€ "), Just("USD ")],
            any::<bool>(),
        )
            .prop_map(|(int, frac, prefix, comma)| (int, frac, prefix.to_string(), comma))
    }

    fn group(int: u64, sep: char) -> String {
        let digits = int.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    /// What a person reads in `s`: its digits in order, with the decimal
    /// mark where it stands.
    fn read_by_a_person(s: &str, comma: bool) -> Decimal {
        let mark = if comma { ',' } else { '.' };
        let kept: String = s
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == mark)
            .map(|c| if c == mark { '.' } else { c })
            .collect();
        let kept = if kept.starts_with('.') {
            format!("0{kept}")
        } else {
            kept
        };
        kept.parse::<Decimal>().unwrap().normalize()
    }

    /// Strings made of the pieces amounts are written with, and the
    /// pieces that make them something else.
    fn amount_like() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                "[0-9]{1,4}",
                Just(",".to_string()),
                Just(".".to_string()),
                Just(" ".to_string()),
                Just("'".to_string()),
                Just("$".to_string()),
                Just("€".to_string()),
                Just("USD ".to_string()),
                Just(" EUR".to_string()),
                Just("k".to_string()),
                Just("M".to_string()),
                Just("e".to_string()),
                Just("-".to_string()),
                Just("(".to_string()),
                Just(")".to_string()),
                Just("v".to_string()),
            ],
            0..8,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        /// Strings built from amount pieces: read as a person reads them,
        /// or refused.
        #[test]
        fn amount_like_strings_are_read_exactly_or_refused(s in amount_like(), comma in any::<bool>()) {
            if let Ok(v) = amount(&s, comma) {
                prop_assert_eq!(v, read_by_a_person(&s, comma), "{:?}", s);
                prop_assert!(v < limit());
                for bad in ['-', '(', 'k', 'M', 'e', 'v'] {
                    prop_assert!(!s.contains(bad), "{:?} read as {}", s, v);
                }
            }
        }

        /// Any string is read as the value a person reads, or refused:
        /// never another number.
        #[test]
        fn any_string_is_read_exactly_or_refused(s in "\\PC{0,24}", comma in any::<bool>()) {
            if let Ok(v) = amount(&s, comma) {
                // What a person reads: the digits, in order, with the
                // decimal mark where it stands; nothing else but signs,
                // codes and grouping.
                let mark = if comma { ',' } else { '.' };
                let kept: String = s
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == mark)
                    .map(|c| if c == mark { '.' } else { c })
                    .collect();
                let kept = if kept.starts_with('.') { format!("0{kept}") } else { kept };
                let read: Decimal = kept.parse().unwrap();
                prop_assert_eq!(v, read.normalize());
                prop_assert!(v >= Decimal::ZERO && v < limit());
                // No letters but a currency code, no signs.
                prop_assert!(!s.contains('-') && !s.contains('('));
            }
        }

        /// Amounts written as people write them are read as they meant.
        #[test]
        fn written_amounts_are_read((int, frac, prefix, comma) in written()) {
            let (mark, sep) = if comma { (',', '.') } else { ('.', ',') };
            let mut s = format!("{prefix}{}", group(int, sep));
            let mut expect = int.to_string();
            if let Some(f) = &frac {
                s.push(mark);
                s.push_str(f);
                expect = format!("{expect}.{f}");
            }
            let want: Decimal = expect.parse().unwrap();
            prop_assert_eq!(amount(&s, comma), Ok(want.normalize()));
            // And shown rounded as `format` says, read back within half a cent.
            let shown = format(want, 2);
            let back = amount(&shown, false).unwrap();
            prop_assert!((back - want).abs() <= Decimal::new(5, 3));
        }

        /// Floats from YAML: the shortest decimal text, exactly.
        #[test]
        fn floats_are_read_as_written(x in 0f64..1e15) {
            let v = from_f64(x).unwrap();
            prop_assert_eq!(v.to_string().parse::<f64>().unwrap(), x);
        }
    }
}
