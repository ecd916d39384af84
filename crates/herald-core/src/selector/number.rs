//! When a string reads as a number: the one rule literals (parsed once) and header strings (read
//! per message) share.

/// Reads `text` as a number if all of it is one: decimal digits with an optional sign, fraction
/// and exponent. `inf`, `NaN` and friends, which `f64::from_str` would take, stay strings so that
/// a header spelled `nan` compares like any other word.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let plausible = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !plausible {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_whole_decimal_texts_only() {
        assert_eq!(parse_number("20"), Some(20.0));
        assert_eq!(parse_number("-3.25"), Some(-3.25));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        for not_a_number in [
            "", " 20", "20 ", "inf", "NaN", "infinity", "0x10", "1_000", "1e999", "abc", ".",
        ] {
            assert_eq!(parse_number(not_a_number), None, "{not_a_number:?}");
        }
    }
}
