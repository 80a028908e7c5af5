//! Stage 2 (checks) — Kubernetes resource quantities, read with the whole grammar of
//! apimachinery's `resource.Quantity`: a sign, a decimal with or without a fraction, then a binary
//! suffix (`Ki` … `Ei`), a decimal suffix (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`) or a decimal
//! exponent (`e3`, `E-2`). Values are exact (integers, no floating point) and, like Kubernetes,
//! rounded up to the unit asked for.

/// The value of `s` in units of `1 / per_unit` (1000 for millicores, 1 for bytes), rounded up;
/// `None` when `s` is not a quantity or is negative. A value past `u128` saturates: no node holds it.
pub fn parse(s: &str, per_unit: u128) -> Option<u128> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let number_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return None;
    }
    // Trailing zeros of the fraction change nothing (`1.000` is `1`); kept, they would overflow
    // the integer below for a value as small as `1.0000…` and make equal values parse unequal.
    let fraction = fraction.trim_end_matches('0');
    // value = digits × 2^binary × 10^decimal / 10^len(fraction)
    let (binary, decimal): (u32, i64) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        _ => {
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (0, exp.parse::<i64>().ok()?.clamp(-1000, 1000))
        }
    };
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let zero = digits.is_empty();
    if negative && !zero {
        return None;
    }
    if zero {
        return Some(0);
    }
    let scale = decimal - fraction.len() as i64;
    let mut value: u128 = 0;
    for b in digits.bytes() {
        value = match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
        {
            Some(v) => v,
            None => return Some(u128::MAX),
        };
    }
    let Some(value) = value
        .checked_mul(per_unit)
        .and_then(|v| v.checked_mul(1u128.checked_shl(binary)?))
    else {
        return Some(u128::MAX);
    };
    if scale >= 0 {
        Some(
            u32::try_from(scale)
                .ok()
                .and_then(|e| 10u128.checked_pow(e))
                .and_then(|p| value.checked_mul(p))
                .unwrap_or(u128::MAX),
        )
    } else {
        let divisor = u32::try_from(-scale)
            .ok()
            .and_then(|e| 10u128.checked_pow(e));
        // A divisor past u128 is larger than any value: a positive value rounds up to 1.
        Some(divisor.map_or(1, |d| value.div_ceil(d)))
    }
}

/// Millicores of a CPU quantity.
pub fn millicores(s: &str) -> Option<u128> {
    parse(s, 1000)
}

/// Bytes of a memory quantity.
pub fn bytes(s: &str) -> Option<u128> {
    parse(s, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_grammar_reads() {
        assert_eq!(bytes("0.5Gi"), Some(1 << 29));
        assert_eq!(bytes("1Ei"), Some(1 << 60));
        assert_eq!(bytes("512Mi"), Some(512 << 20));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1.5Gi"), Some(3 << 29));
        assert_eq!(bytes("129e6"), Some(129_000_000));
        assert_eq!(bytes("1E"), Some(1_000_000_000_000_000_000));
        assert_eq!(bytes("+.5Ki"), Some(512));
        assert_eq!(bytes("5."), Some(5));
        assert_eq!(bytes("0.1"), Some(1), "rounded up");
        assert_eq!(millicores("250m"), Some(250));
        assert_eq!(millicores("0.5"), Some(500));
        assert_eq!(millicores("1"), Some(1000));
        assert_eq!(millicores("1e-3"), Some(1));
        assert_eq!(millicores("100u"), Some(1), "rounded up to 1m");
        assert_eq!(millicores("0.0001"), Some(1), "rounded up to 1m");
        assert_eq!(millicores("1000000000000"), Some(1_000_000_000_000_000));
        assert_eq!(millicores("1e999"), Some(u128::MAX));
        assert_eq!(millicores("-0"), Some(0));
        assert_eq!(
            millicores("1.0000000000000000000000000000000000000000"),
            Some(1000),
            "trailing fractional zeros"
        );
        assert_eq!(
            bytes("1.50000000000000000000000000000000000000000Gi"),
            Some(3 << 29)
        );
        assert_eq!(
            millicores("0.000000000000000000000000000000000000000000000001"),
            Some(1)
        );
    }

    #[test]
    fn what_is_not_a_quantity_is_refused() {
        for bad in [
            "", "m", "-1", "1..5", ".", "1.2.3", "lots", "1Gb", "1 Gi", "1e", "1e+", "Gi", "1ki",
            "0x10", "1e3Mi",
        ] {
            assert_eq!(bytes(bad), None, "{bad}");
        }
    }
}
