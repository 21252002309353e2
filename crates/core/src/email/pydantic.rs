//! pydantic's checks around email-validator, and the tests holding `parse_pydantic` to pydantic.

use super::unicode::{is_py_space, major_category, Major};
use super::{EmailError, MAX_INPUT_CHARS};

/// What pydantic checks before looking at the address at all.
pub(super) fn pydantic_prechecks(raw: &str) -> Result<(), EmailError> {
    if raw.chars().count() > MAX_INPUT_CHARS {
        return Err(EmailError::InputTooLong);
    }
    if raw.contains(['\r', '\n']) {
        return Err(EmailError::LineBreak);
    }
    Ok(())
}

/// pydantic's `pretty_email_regex`, fully matched:
/// `\s*(?:((?:N+\s+)*N+)|"((?:[^"]|\")+)")?\s*<(.+)>\s*` with `N` = `[\w.!#$%&'*+\-/=?^_`{|}~]`.
/// Gives the text between the angle brackets (group 3) when the input has that shape.
pub(super) fn pydantic_pretty_address(value: &str) -> Option<&str> {
    // `<(.+)>\s*` at the end: greedy, so up to the last `>`, which only white space may follow.
    fn bracketed(after_open: &str) -> Option<&str> {
        let inner = after_open.trim_end_matches(is_py_space).strip_suffix('>')?;
        (!inner.is_empty() && !inner.contains('\n')).then_some(inner)
    }
    let rest = value.trim_start_matches(is_py_space);
    match rest.chars().next()? {
        '<' => bracketed(&rest[1..]),
        '"' => rest
            .char_indices()
            .rev()
            // The quoted name is greedy and needs one character at least: try the last quote first.
            .filter(|&(at, c)| c == '"' && at >= 2)
            .find_map(|(at, _)| {
                let after = rest[at + 1..].trim_start_matches(is_py_space);
                bracketed(after.strip_prefix('<')?)
            }),
        _ => {
            let open = rest.find('<')?;
            rest[..open]
                .chars()
                .all(|c| is_pretty_name_char(c) || is_py_space(c))
                .then(|| bracketed(&rest[open + 1..]))?
        }
    }
}

/// `[\w.!#$%&'*+\-/=?^_`{|}~]` in Python's `re`: `\w` is letters, numbers and `_`.
fn is_pretty_name_char(c: char) -> bool {
    ".!#$%&'*+-/=?^_`{|}~".contains(c)
        || matches!(major_category(u32::from(c)), Major::Letter | Major::Number)
}

// Whole-address tests against pydantic's answers: they go through every module, but pydantic is
// what they compare with.
#[cfg(test)]
mod tests {
    use crate::email::EmailAddress;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRng, TestRunner};

    /// What pydantic's `TypeAdapter(EmailStr).validate_python(input)` gives: the value, or the
    /// `reason` of the error.
    type Expected = Result<&'static str, &'static str>;

    fn pydantic(raw: &str) -> Result<String, String> {
        EmailAddress::parse_pydantic(raw)
            .map(|email| email.as_str().to_string())
            .map_err(|e| e.reason())
    }

    fn check(cases: &[(String, Expected)]) {
        let mut failures = Vec::new();
        for (raw, expected) in cases {
            let expected = expected.map(String::from).map_err(String::from);
            let got = pydantic(raw);
            if got != expected {
                failures.push(format!("{raw:?}\n   got {got:?}\n  want {expected:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    /// Each expectation was taken from pydantic 2.14.3, email-validator 2.3.0 and idna 3.20,
    /// and checked again with email-validator 2.4.0 (the contract's reference).
    #[test]
    fn parse_pydantic_matches_pydantic() {
        let cases: &[(&str, Expected)] = &[
            ("jsmith@example.com", Ok("jsmith@example.com")),
            ("  Jane.Doe@Example.COM ", Ok("Jane.Doe@example.com")),
            ("\tjane@example.com\u{3000}", Ok("jane@example.com")),
            ("ñoñó@example.com", Ok("ñoñó@example.com")),
            ("n\u{303}o@example.com", Ok("ño@example.com")),
            ("用户@例子.广告", Ok("用户@例子.广告")),
            ("user@BÜCHER.de", Ok("user@bücher.de")),
            ("user@xn--bcher-kva.de", Ok("user@bücher.de")),
            ("ABC@XN--BCHER-KVA.DE", Ok("ABC@bücher.de")),
            ("user@xn--fsqu00a.xn--3lr804guic", Ok("user@例子.卷筒纸")),
            ("ß@straße.de", Ok("ß@straße.de")),
            ("user@xn--zca.com", Ok("user@ß.com")),
            ("Ωmega@ΕΛΛΑΔΑ.gr", Ok("Ωmega@ελλαδα.gr")),
            ("a@ｅｘａｍｐｌｅ．ｃｏｍ", Ok("a@example.com")),
            ("a@例子。广告", Ok("a@例子.广告")),
            ("user@例え.テスト", Ok("user@例え.テスト")),
            ("user@مثال.إختبار", Ok("user@مثال.إختبار")),
            ("Name <a@b.com>", Ok("a@b.com")),
            ("\"Name\" <a@b.com>", Ok("a@b.com")),
            ("\"Doe, John\" <john@example.com>", Ok("john@example.com")),
            ("  <a@b.com>  ", Ok("a@b.com")),
            ("Name<a@b.com>", Ok("a@b.com")),
            ("John Q. Public < jqp@example.com >", Ok("jqp@example.com")),
            ("Name <a@b.com", Err("An open angle bracket at the start of the email address has to be followed by a close angle bracket at the end.")),
            ("Name <a@b.com> x", Err("There can't be anything after the email address.")),
            ("Name <a@b.com>>", Err("The part after the @-sign contains invalid characters: '>'.")),
            ("a@b.com>", Err("The part after the @-sign contains invalid characters: '>'.")),
            ("Jöhn, Doe <a@b.com>", Err("The display name contains invalid characters when not quoted: ',', 'ö'.")),
            ("Jo\u{308}hn <a@b.com>", Err("The display name contains invalid characters when not quoted: COMBINING DIAERESIS.")),
            ("\"\" <a@b.com>", Err("A display name and angle brackets around the email address are not permitted here.")),
            ("a@EXAMPLE.COM", Ok("a@example.com")),
            ("postmaster@Example.com", Ok("postmaster@example.com")),
            ("PostMaster@example.com", Ok("postmaster@example.com")),
            ("Abuse.Team@example.com", Ok("Abuse.Team@example.com")),
            ("a@x.test", Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.")),
            ("a@printer.local", Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.")),
            ("a@LOCALHOST", Err("The part after the @-sign is not valid. It should have a period.")),
            ("a@1.168.192.in-addr.arpa", Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.")),
            ("a@example.onion", Err("The part after the @-sign is a special-use or reserved name that cannot be used with email.")),
            ("\"quoted\"@example.com", Err("Quoting the part before the @-sign is not allowed here.")),
            ("\"quo ted\"@example.com", Err("Quoting the part before the @-sign is not allowed here.")),
            ("\"a\\\"b\"@example.com", Err("Quoting the part before the @-sign is not allowed here.")),
            ("\"\"@example.com", Err("There must be something before the @-sign.")),
            ("\"abc\"def@example.com", Err("Extra character(s) found after close quote: 'd', 'e', 'f'")),
            ("\"a@b\"@example.com", Err("Quoting the part before the @-sign is not allowed here.")),
            ("a@[192.0.2.1]", Err("A bracketed IP address after the @-sign is not allowed here.")),
            ("a@[IPv6:2001:db8::1]", Err("A bracketed IP address after the @-sign is not allowed here.")),
            ("a@[300.1.1.1]", Err("The address in brackets after the @-sign is not valid: It is not an IPv4 address (Octet 300 (> 255) not permitted in '300.1.1.1') or is missing an address literal tag.")),
            ("a@[1.2.3]", Err("The address in brackets after the @-sign is not valid: It is not an IPv4 address (Expected 4 octets in '1.2.3') or is missing an address literal tag.")),
            ("a@[01.2.3.4]", Err("The address in brackets after the @-sign is not valid: It is not an IPv4 address (Leading zeros are not permitted in '01' in '01.2.3.4') or is missing an address literal tag.")),
            ("a@[IPv6:1::2::3]", Err("The IPv6 address in brackets after the @-sign is not valid (At most one '::' permitted in '1::2::3').")),
            ("a@[IPv6:fe80::1%]", Err("The IPv6 address in brackets after the @-sign is not valid (Invalid IPv6 address: \"'fe80::1%'\").")),
            ("a@[IPv6:fe80::1%eth0]", Err("The IPv6 address in brackets after the @-sign is not valid (It has a zone index).")),
            ("a@[ipv6:2001:db8::1]", Err("A bracketed IP address after the @-sign is not allowed here.")),
            ("a@[foo]", Err("The part after the @-sign in brackets is not an IPv4 address and has no address literal tag.")),
            ("a@[x:y]", Err("The part after the @-sign contains an invalid address literal tag in brackets.")),
            (".a@example.com", Err("An email address cannot start with a period.")),
            ("a.@example.com", Err("An email address cannot have a period immediately before the @-sign.")),
            (".a.@example.com", Err("An email address cannot have a period immediately before the @-sign.")),
            ("a..b@example.com", Err("An email address cannot have two periods in a row.")),
            ("a@.example.com", Err("An email address cannot have a period immediately after the @-sign.")),
            ("a@example.com.", Err("An email address cannot end with a period.")),
            ("a@example..com", Err("An email address cannot have two periods in a row.")),
            ("a@-example.com", Err("An email address cannot have a hyphen immediately after the @-sign.")),
            ("a@example-.com", Err("An email address cannot have a period and a hyphen next to each other.")),
            ("a@example.com-", Err("An email address cannot end with a hyphen.")),
            ("a@ab--cd.com", Err("An email address cannot have two letters followed by two dashes immediately after the @-sign or after a period, except Punycode.")),
            ("a@xn--abc.com", Err("The part after the @-sign is not valid IDNA (Codepoint U+0082 at position 1 of '\\x82\\x81\\x80' not allowed).")),
            ("foobar", Err("An email address must have an @-sign.")),
            ("@example.com", Err("There must be something before the @-sign.")),
            ("a@", Err("There must be something after the @-sign.")),
            ("a＠example.com", Err("The email address has the \"full-width\" at-sign (@) character instead of a regular at-sign.")),
            ("a b@example.com", Err("The email address contains invalid characters before the @-sign: SPACE.")),
            ("a<b>@example.com", Err("There can't be anything after the email address.")),
            ("a(b)@example.com", Err("The email address contains invalid characters before the @-sign: '(', ')'.")),
            ("a\u{A0}b@example.com", Err("The email address contains unsafe characters: NO-BREAK SPACE.")),
            ("a\u{200B}b@example.com", Err("The email address contains unsafe characters: ZERO WIDTH SPACE.")),
            ("\u{301}a@example.com", Err("The email address contains unsafe characters: COMBINING ACUTE ACCENT.")),
            ("a\u{37E}b@example.com", Err("After Unicode normalization: The email address contains invalid characters before the @-sign: ';'.")),
            ("a@exa_mple.com", Err("The part after the @-sign contains invalid characters: '_'.")),
            ("a@b@c.com", Err("The part after the @-sign contains invalid characters: '@'.")),
            ("a@123.456", Err("The part after the @-sign is not valid. It is not within a valid top-level domain.")),
            ("a@example.a1", Err("The part after the @-sign is not valid. It is not within a valid top-level domain.")),
            ("a@localhost", Err("The part after the @-sign is not valid. It should have a period.")),
            ("a@☃.com", Err("The part after the @-sign is invalid (Codepoint U+2603 at position 1 of '☃' not allowed).")),
            ("a@⑴.com", Err("The part after the @-sign contains invalid characters after Unicode normalization: '(', ')'.")),
            ("a@x⒈com", Err("The part after the @-sign contains invalid characters: '⒈'.")),
            ("a@éxample.com", Ok("a@éxample.com")),
            ("a@b.com\n", Err("Carriage return and line feed characters are not allowed")),
            ("a@exa mple.com", Err("The part after the @-sign contains invalid characters: SPACE.")),
        ];
        let cases: Vec<(String, Expected)> = cases
            .iter()
            .map(|&(raw, expected)| (raw.to_string(), expected))
            .collect();
        check(&cases);
    }

    /// Lengths around the limits, also taken from pydantic.
    #[test]
    fn lengths_are_counted_as_pydantic_counts_them() {
        let cjk_domain = "例子测试用户名字很长的域名.com";
        let cases: Vec<(String, Expected)> = vec![
            (format!("{}@example.com", "a".repeat(242)), Ok("")),
            (
                format!("{}@example.com", "a".repeat(243)),
                Err("The email address is too long (1 character too many)."),
            ),
            (format!("{}@example.com", "a".repeat(64)), Ok("")),
            (format!("a@{}.com", "x".repeat(63)), Ok("")),
            (
                format!("a@{}.com", "x".repeat(64)),
                Err("After the @-sign, periods cannot be separated by so many characters (1 character too many)."),
            ),
            (
                format!("a@{}.com", "x".repeat(70)),
                Err("After the @-sign, periods cannot be separated by so many characters (7 characters too many)."),
            ),
            (format!("{}@example.com", "é".repeat(121)), Ok("")),
            (
                format!("{}@example.com", "é".repeat(122)),
                Err("The email address is too long (1-2 characters too many)."),
            ),
            (
                format!("{}@example.com", "é".repeat(130)),
                Err("The email address is too long (9-18 characters too many)."),
            ),
            (
                format!("{}@example.com", "e\u{301}".repeat(121)),
                Err("The email address is too long (60-121 characters too many)."),
            ),
            (
                format!("{}@x.com", "\u{212A}".repeat(250)),
                Err("The email address is too long (167-502 characters too many)."),
            ),
            (
                format!("a@{}{}.com", format!("{}.", "x".repeat(63)).repeat(3), "x".repeat(58)),
                Err("The email address is too long after the @-sign (1 character too many)."),
            ),
            (
                format!("a@{}{}.com", format!("{}.", "X".repeat(63)).repeat(3), "x".repeat(58)),
                Err("The email address is too long after the @-sign (1 byte too many after IDNA encoding)."),
            ),
            (
                format!("a@{}{}.com", format!("{}.", "x".repeat(63)).repeat(3), "x".repeat(57)),
                Err("The email address is too long (1 character too many)."),
            ),
            (
                format!("a@{}.com", "ü".repeat(60)),
                Err("The part after the @-sign is invalid (Label too long)."),
            ),
            (
                format!("{}@{cjk_domain}", "a".repeat(204)),
                Ok(""),
            ),
            (
                format!("{}@{cjk_domain}", "a".repeat(205)),
                Err("The email address is too long when the part after the @-sign is converted to IDNA ASCII (1 byte too many)."),
            ),
            (
                format!("{}@xn--61aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", "a".repeat(200)),
                Err("The email address is too long after normalization (11 bytes too many)."),
            ),
            (
                format!("a@{}com", "x.".repeat(600)),
                Err("The part after the @-sign contains invalid characters (Domain too long)."),
            ),
            (
                format!("{}@example.com", "a".repeat(2036)),
                Err("The email address is too long (1794 characters too many)."),
            ),
            (
                format!("{}@example.com", "a".repeat(2037)),
                Err("Length must not exceed 2048 characters"),
            ),
        ];
        // `Ok("")` stands for "valid, and normalised to itself".
        let cases: Vec<(String, Expected)> = cases
            .into_iter()
            .map(|(raw, expected)| {
                let expected = match expected {
                    Ok("") => Ok(&*Box::leak(raw.clone().into_boxed_str())),
                    other => other,
                };
                (raw, expected)
            })
            .collect();
        check(&cases);
    }

    // ------------------------------------------------------------------------------------------
    // Differential test against the real thing.

    const REFERENCE_SCRIPT: &str = r#"
import json, sys
try:
    import email_validator, idna, pydantic
    from pydantic import EmailStr, TypeAdapter, ValidationError
except ImportError as e:
    print(e, file=sys.stderr)
    sys.exit(3)
adapter = TypeAdapter(EmailStr)
def run(s):
    try:
        return {"ok": adapter.validate_python(s)}
    except ValidationError as e:
        return {"err": e.errors()[0]["ctx"]["reason"]}
    except Exception as e:
        return {"crash": repr(e)}
with open(sys.argv[1], encoding="utf-8") as f:
    inputs = json.load(f)
versions = {"pydantic": pydantic.VERSION, "email-validator": email_validator.__version__, "idna": idna.__version__}
print(json.dumps({"versions": versions, "results": [run(s) for s in inputs]}))
"#;

    /// What the reference gave for each input, and its package versions.
    struct Reference {
        versions: serde_json::Value,
        results: Vec<serde_json::Value>,
    }

    impl Reference {
        /// Whether the reference's `package` is older than `major.minor`.
        fn older_than(&self, package: &str, major: u64, minor: u64) -> bool {
            let version = self.versions[package].as_str().unwrap_or("0");
            let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
            (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) < (major, minor)
        }
    }

    /// Runs every input through pydantic in one Python process, or `None` when no Python with
    /// pydantic and email-validator is at hand (`EMAIL_REFERENCE_PYTHON` names the interpreter,
    /// `python3` by default).
    fn reference_results(inputs: &[String]) -> Option<Reference> {
        let python =
            std::env::var("EMAIL_REFERENCE_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let mut file = tempfile::NamedTempFile::new().unwrap();
        serde_json::to_writer(&mut file, inputs).unwrap();
        let output = match std::process::Command::new(&python)
            .arg("-c")
            .arg(REFERENCE_SCRIPT)
            .arg(file.path())
            .output()
        {
            Ok(output) => output,
            Err(e) => {
                eprintln!("skipping the differential test: cannot run {python}: {e}");
                return None;
            }
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() == Some(3) {
            eprintln!("skipping the differential test: {python} lacks pydantic: {stderr}");
            return None;
        }
        assert!(output.status.success(), "{python} failed: {stderr}");
        let mut answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        Some(Reference {
            versions: answer["versions"].take(),
            results,
        })
    }

    fn sample_local_part() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9]{1,12}",
            3 => "[a-zA-Z0-9_+-]{1,8}(\\.[a-zA-Z0-9!#$%&'*/=?^`{|}~-]{1,6}){0,2}",
            2 => prop::sample::select(vec![
                "ñoñó", "用户", "Ελληνικά", "кириллица", "n\u{303}o", "ß", "é.è", "\u{212A}elvin",
                "postmaster", "PostMaster", "ABUSE", "Info", "www", "a\u{37E}b", "\u{301}a",
                "a\u{A0}b", "a\u{200B}b", "a b", "a(b)", "a,b", "a:b", "a;b", "a[b]", "a\\b",
                ".a", "a.", "a..b", ".", "", "\"quoted\"", "\"quo ted\"", "\"a\\\"b\"", "\"\"",
                "\"a@b\"", "\"abc\"def", "\"\u{7F}\"", "\"ü\"", "a\u{7F}", "a\u{1}", "日本語.テスト",
                "😀", "a\u{FEFF}", "a\u{2028}b", "x\u{E000}", "\u{FF21}\u{FF22}", "a\"b",
            ])
            .prop_map(String::from),
            2 => "[a-zàéîõüçñßøåæœαβγδжщ用户名例子😀]{1,8}",
        ]
    }

    fn sample_domain() -> impl Strategy<Value = String> {
        let label = "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?";
        let tld = prop_oneof![
            4 => prop::sample::select(vec!["com", "org", "de", "COM", "co.uk", "xn--p1ai", "广告", "рф"]),
            1 => prop::sample::select(vec![
                "test", "local", "localhost", "onion", "arpa", "invalid", "123", "c0m", "a1",
                "example", "xn--abc",
            ]),
        ];
        prop_oneof![
            5 => (prop::collection::vec(label, 1..3), tld)
                .prop_map(|(labels, tld)| format!("{}.{tld}", labels.join("."))),
            3 => prop::sample::select(vec![
                "example.com", "EXAMPLE.COM", "例子.广告", "BÜCHER.de", "bücher.de",
                "xn--bcher-kva.de", "XN--BCHER-KVA.DE", "xn--fsqu00a.xn--3lr804guic",
                "straße.de", "xn--zca.com", "ΕΛΛΑΔΑ.gr", "ｅｘａｍｐｌｅ．ｃｏｍ", "例子。广告",
                "例え.テスト", "مثال.إختبار", "xn--mgbh0fb.xn--kgbechtv", "☃.com", "⑴.com",
                "x⒈com", "a\u{2024}b.com", "éxample.com", "e\u{301}xample.com", "exa_mple.com",
                "exa mple.com", "b@c.com", "ab--cd.com", "xn--abc.com", "xn---bbk.com",
                "-example.com", "example-.com", "example.com-", "ex-.-ample.com", ".example.com",
                "example.com.", "example..com", "localhost", "x.test", "printer.local",
                "1.168.192.in-addr.arpa", "\u{301}x.com", "x\u{301}.com", "a.\u{301}b.com",
                "x\u{200B}.com", "x\u{A0}.com", "x\u{AD}y.com", "l·l.com", "a·b.com",
                "α͵β.com", "a\u{200D}.com", "xn--a-ecp.com", "xn--1ug.com", "ּא.com",
                "a١.com", "١٢.com", "א1.com", "1א.com", "\u{FFFD}.com", "\u{E000}.com",
                "x\u{FE0F}.com", "ǅ.com", "[192.0.2.1]", "[IPv6:2001:db8::1]", "[300.1.1.1]",
                "[1.2.3]", "[01.2.3.4]", "[1..2.3]", "[1234.1.1.1]", "[IPv6:1::2::3]",
                "[IPv6:fe80::1%]", "[IPv6:fe80::1%eth0]", "[IPv6:1:2:3:4:5:6:7:8:9]",
                "[IPv6::1:2]", "[IPv6:1:2:]", "[IPv6:12345::]", "[IPv6:g::]", "[IPv6:::1.2.3]",
                "[IPv6:1:2:3:4:5:6:7]", "[IPv6:1/8]", "[foo]", "[x:y]", "[x:\u{FB}]", "[]",
                "[", "]", "[a]b",
            ])
            .prop_map(String::from),
            1 => ("[a-z]{55,70}", "[a-z]{1,3}").prop_map(|(label, tld)| format!("{label}.{tld}")),
            1 => "[a-zà-ÿ]{1,20}\\.(com|de)",
        ]
    }

    fn sample_address() -> impl Strategy<Value = String> {
        let plain = (sample_local_part(), sample_domain())
            .prop_map(|(local, domain)| format!("{local}@{domain}"));
        let near_the_limit = (
            240usize..262,
            prop::sample::select(vec!["example.com", "bücher.de", "例子.广告"]),
            prop::bool::ANY,
        )
            .prop_map(|(total, domain, wide)| {
                let local_chars = total.saturating_sub(domain.chars().count() + 1).max(1);
                let local = if wide {
                    "é".repeat(local_chars / 2)
                } else {
                    "a".repeat(local_chars)
                };
                format!("{local}@{domain}")
            });
        let address = prop_oneof![8 => plain, 1 => near_the_limit];
        let wrapped = (address, 0usize..14).prop_map(|(a, how)| match how {
            0 => format!("Jane Doe <{a}>"),
            1 => format!("\"Doe, Jane\" <{a}>"),
            2 => format!("<{a}>"),
            3 => format!("  {a}\t"),
            4 => format!("Jane <{a}"),
            5 => format!("Jane <{a}> x"),
            6 => format!("Jane, Doe <{a}>"),
            7 => format!("\u{A0}{a}\u{3000}"),
            8 => format!("\"\" <{a}>"),
            9 => format!("J. <{a}>>"),
            _ => a,
        });
        let mutation_pool = prop::sample::select(vec![
            '@', '.', '-', ' ', '"', '<', '>', '\\', ',', '[', ']', 'A', 'é', '\u{301}', '\u{A0}',
            '\u{200B}', '＠', '﹫', '。', '_', '\u{338}',
        ]);
        (
            wrapped,
            prop::option::weighted(0.3, (any::<prop::sample::Index>(), mutation_pool, 0..3u8)),
        )
            .prop_map(|(mut s, mutation)| {
                if let Some((index, c, kind)) = mutation {
                    let boundaries: Vec<usize> =
                        s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
                    let at = boundaries[index.index(boundaries.len())];
                    let next = s[at..].chars().next().map_or(at, |n| at + n.len_utf8());
                    match kind {
                        0 => s.insert(at, c),
                        1 => s.replace_range(at..next, ""),
                        _ => s.replace_range(at..next, c.encode_utf8(&mut [0; 4])),
                    }
                }
                s
            })
    }

    #[test]
    fn parse_pydantic_agrees_with_pydantic_itself() {
        let seed = std::env::var("EMAIL_DIFF_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(2048);
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &seed_bytes),
        );
        let strategy = sample_address();
        let inputs: Vec<String> = (0..600)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect();
        let Some(reference) = reference_results(&inputs) else {
            return;
        };
        assert_eq!(reference.results.len(), inputs.len());
        // Older releases differ from the ones followed here (pydantic 2.14, idna 3.20): pydantic
        // 2.13 had no `.` in unquoted display names and no line-break rule, older idna releases
        // accept non-canonical A-labels and check joiners differently. Inputs those touch are
        // left out when comparing with such a release.
        let old_pydantic = reference.older_than("pydantic", 2, 14);
        let old_idna = reference.older_than("idna", 3, 20);
        // email-validator 2.4 refuses IPv6 zone indexes and takes a lowercase `ipv6:` tag.
        let old_validator = reference.older_than("email-validator", 2, 4);
        let comparable = |raw: &str| {
            !(old_validator && raw.to_ascii_lowercase().contains("[ipv6:"))
                && !(old_pydantic
                    && (raw.contains(['\r', '\n'])
                        || raw
                            .split_once('<')
                            .is_some_and(|(name, _)| name.contains('.'))))
                && !(old_idna && raw.to_ascii_lowercase().contains("xn--"))
        };
        let mut failures = Vec::new();
        let (mut compared, mut valid) = (0, 0);
        for (raw, want) in inputs.iter().zip(&reference.results) {
            if !comparable(raw) {
                continue;
            }
            compared += 1;
            let got = match EmailAddress::parse_pydantic(raw) {
                Ok(email) => {
                    valid += 1;
                    serde_json::json!({ "ok": email.as_str() })
                }
                Err(e) => serde_json::json!({ "err": e.reason() }),
            };
            if &got != want {
                failures.push(format!("{raw:?}\n   rust {got}\n   pydantic {want}"));
            }
        }
        eprintln!(
            "against {}: {compared} of {} inputs compared, {valid} valid",
            reference.versions,
            inputs.len()
        );
        assert!(compared * 2 > inputs.len(), "too few inputs compared");
        assert!(
            failures.is_empty(),
            "{} of {compared} differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
