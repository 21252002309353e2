//! RFC 3492 Punycode, as Python's `punycode` codec does it.

const PUNYCODE_BASE: u128 = 36;

fn punycode_threshold(j: u128, bias: u128) -> u128 {
    (PUNYCODE_BASE * (j + 1)).saturating_sub(bias).clamp(1, 26)
}

fn punycode_adapt(delta: u128, first: bool, length: u128) -> u128 {
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / length.max(1);
    let mut divisions = 0;
    while delta > 455 {
        delta /= 35;
        divisions += 36;
    }
    divisions + 36 * delta / (delta + 38)
}

fn punycode_digit(value: u128) -> char {
    match u8::try_from(value) {
        Ok(v @ 0..=25) => char::from(b'a' + v),
        Ok(v @ 26..=35) => char::from(b'0' + v - 26),
        _ => '?',
    }
}

pub(super) fn punycode_encode(input: &[u32]) -> String {
    let mut out: String = input
        .iter()
        .filter_map(|&cp| u8::try_from(cp).ok().filter(u8::is_ascii).map(char::from))
        .collect();
    let basic = out.len();
    if basic > 0 {
        out.push('-');
    }
    let mut handled = basic;
    let mut n: u128 = 0x80;
    let mut delta: u128 = 0;
    let mut bias: u128 = 72;
    while handled < input.len() {
        let Some(m) = input
            .iter()
            .map(|&cp| u128::from(cp))
            .filter(|&cp| cp >= n)
            .min()
        else {
            break;
        };
        delta += (m - n) * (handled as u128 + 1);
        n = m;
        for &cp in input {
            let cp = u128::from(cp);
            if cp < n {
                delta += 1;
            } else if cp == n {
                let mut q = delta;
                let mut j = 0;
                loop {
                    let t = punycode_threshold(j, bias);
                    if q < t {
                        break;
                    }
                    out.push(punycode_digit(t + (q - t) % (PUNYCODE_BASE - t)));
                    q = (q - t) / (PUNYCODE_BASE - t);
                    j += 1;
                }
                out.push(punycode_digit(q));
                bias = punycode_adapt(delta, handled == basic, handled as u128 + 1);
                delta = 0;
                handled += 1;
            }
        }
        delta += 1;
        n += 1;
    }
    out
}

/// Decodes like Python's codec, which keeps surrogates and gives up past U+10FFFF.
pub(super) fn punycode_decode(input: &str) -> Option<Vec<u32>> {
    let (basic, extended) = match input.rfind('-') {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => ("", input),
    };
    let mut out: Vec<u32> = basic.chars().map(u32::from).collect();
    let mut digits = extended.bytes().peekable();
    let mut n: u128 = 0x80;
    let mut i: u128 = 0;
    let mut bias: u128 = 72;
    let mut first = true;
    while digits.peek().is_some() {
        let mut delta: u128 = 0;
        let mut weight: u128 = 1;
        let mut j = 0;
        loop {
            let digit = match digits.next()? {
                b @ b'a'..=b'z' => b - b'a',
                b @ b'A'..=b'Z' => b - b'A',
                b @ b'0'..=b'9' => b - b'0' + 26,
                _ => return None,
            };
            let digit = u128::from(digit);
            let t = punycode_threshold(j, bias);
            delta = delta.saturating_add(digit.saturating_mul(weight));
            if digit < t {
                break;
            }
            weight = weight.saturating_mul(PUNYCODE_BASE - t);
            j += 1;
        }
        let length = out.len() as u128 + 1;
        i = i.saturating_add(delta);
        n = n.saturating_add(i / length);
        if n > 0x10FFFF {
            return None;
        }
        i %= length;
        out.insert(usize::try_from(i).ok()?, u32::try_from(n).ok()?);
        i += 1;
        bias = punycode_adapt(delta, first, length);
        first = false;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punycode_round_trips() {
        let encode = |s: &str| punycode_encode(&s.chars().map(u32::from).collect::<Vec<_>>());
        assert_eq!(encode("bücher"), "bcher-kva");
        assert_eq!(encode("例子"), "fsqu00a");
        assert_eq!(encode("abc"), "abc-");
        let decoded = punycode_decode("bcher-kva").unwrap();
        assert_eq!(decoded, "bücher".chars().map(u32::from).collect::<Vec<_>>());
        assert_eq!(punycode_decode("99999999999999999999"), None);
        assert_eq!(punycode_decode("a_b"), None);
    }
}
