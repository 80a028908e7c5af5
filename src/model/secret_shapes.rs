//! Stage 2 (checks) — values shaped like credentials, whatever the name of the variable holding
//! them: one table of the well-known shapes, plus URLs with a password, HTTP authorization values
//! and long random-looking tokens.
//!
//! A literal env value is committed in plain text with the spec; the name check
//! (`SECRET_WORDS` in validate.rs) catches `DB_PASSWORD: hunter2`, this catches
//! `UPSTREAM: https://bot:hunter2@api.example.com` and `GH: ghp_…`. Ordinary values (URLs without
//! a password, host names, log levels, flags, UUIDs, git commit ids) do not match.

/// A well-known credential: a literal prefix, then at least `min` characters of `body`.
struct Shape {
    what: &'static str,
    prefix: &'static str,
    min: usize,
    body: fn(u8) -> bool,
}

fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}
fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn any(_: u8) -> bool {
    true
}

/// The well-known shapes, by the prefix each provider documents.
const SHAPES: &[Shape] = &[
    Shape {
        what: "an AWS access key id",
        prefix: "AKIA",
        min: 16,
        body: upper_alnum,
    },
    Shape {
        what: "an AWS temporary access key id",
        prefix: "ASIA",
        min: 16,
        body: upper_alnum,
    },
    Shape {
        what: "a GitHub token",
        prefix: "ghp_",
        min: 36,
        body: alnum,
    },
    Shape {
        what: "a GitHub OAuth token",
        prefix: "gho_",
        min: 36,
        body: alnum,
    },
    Shape {
        what: "a GitHub app token",
        prefix: "ghs_",
        min: 36,
        body: alnum,
    },
    Shape {
        what: "a GitHub user-to-server token",
        prefix: "ghu_",
        min: 36,
        body: alnum,
    },
    Shape {
        what: "a GitHub refresh token",
        prefix: "ghr_",
        min: 36,
        body: alnum,
    },
    Shape {
        what: "a GitHub fine-grained token",
        prefix: "github_pat_",
        min: 22,
        body: word,
    },
    Shape {
        what: "a Slack bot token",
        prefix: "xoxb-",
        min: 10,
        body: token,
    },
    Shape {
        what: "a Slack app token",
        prefix: "xoxa-",
        min: 10,
        body: token,
    },
    Shape {
        what: "a Slack user token",
        prefix: "xoxp-",
        min: 10,
        body: token,
    },
    Shape {
        what: "a Slack refresh token",
        prefix: "xoxr-",
        min: 10,
        body: token,
    },
    Shape {
        what: "a Slack token",
        prefix: "xoxs-",
        min: 10,
        body: token,
    },
    Shape {
        what: "a Slack webhook URL",
        prefix: "https://hooks.slack.com/services/",
        min: 10,
        body: any,
    },
    Shape {
        what: "a Stripe secret key",
        prefix: "sk_live_",
        min: 16,
        body: alnum,
    },
    Shape {
        what: "a Stripe restricted key",
        prefix: "rk_live_",
        min: 16,
        body: alnum,
    },
    Shape {
        what: "a Google API key",
        prefix: "AIza",
        min: 35,
        body: token,
    },
    Shape {
        what: "a SendGrid API key",
        prefix: "SG.",
        min: 40,
        body: |b| token(b) || b == b'.',
    },
    Shape {
        what: "a PEM private key",
        prefix: "-----BEGIN ",
        min: 0,
        body: any,
    },
];

/// What credential `value` looks like, when it looks like one.
pub fn credential(value: &str) -> Option<&'static str> {
    let v = value.trim();
    for s in SHAPES {
        if let Some(rest) = v.strip_prefix(s.prefix) {
            let body_len = rest.bytes().take_while(|b| (s.body)(*b)).count();
            let pem = s.prefix.starts_with("-----") && rest.contains("PRIVATE KEY-----");
            if (body_len >= s.min && s.min > 0) || pem {
                return Some(s.what);
            }
        }
    }
    if url_password(v) {
        return Some("a URL with a password");
    }
    let lower = v.to_ascii_lowercase();
    for (scheme, what) in [
        ("bearer ", "an HTTP bearer token"),
        ("basic ", "HTTP basic credentials"),
        ("token ", "an HTTP authorization token"),
    ] {
        if lower.starts_with(scheme) && v[scheme.len()..].trim().len() >= 8 {
            return Some(what);
        }
    }
    if is_jwt(v) {
        return Some("a JSON Web Token");
    }
    if random_token(v) {
        return Some("a long random token");
    }
    None
}

/// `scheme://user:password@host…` with a non-empty password.
fn url_password(v: &str) -> bool {
    let Some((_, rest)) = v.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .is_some_and(|(_, password)| !password.is_empty())
}

/// Three base64url parts, the first two JSON objects (`eyJ` is `{"` encoded).
fn is_jwt(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].starts_with("eyJ")
        && parts.iter().all(|p| p.bytes().all(token))
}

/// At least 32 characters of base64 alphabet, with upper case, lower case and digits mixed (the
/// class changes at nearly every other character, as in random text and unlike CamelCase words)
/// and at least 4 bits of entropy per character: a random key, not a name, a UUID or a commit id.
fn random_token(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 32
        || !b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=_-".contains(c))
        || !b.iter().any(u8::is_ascii_uppercase)
        || !b.iter().any(u8::is_ascii_lowercase)
        || !b.iter().any(u8::is_ascii_digit)
    {
        return false;
    }
    let class = |c: &u8| {
        (
            c.is_ascii_uppercase(),
            c.is_ascii_lowercase(),
            c.is_ascii_digit(),
        )
    };
    let switches = b
        .windows(2)
        .filter(|w| class(&w[0]) != class(&w[1]))
        .count();
    if switches * 20 < b.len() * 9 {
        return false;
    }
    let mut counts = [0u32; 256];
    for c in b {
        counts[usize::from(*c)] += 1;
    }
    let n = b.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum();
    entropy >= 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_recognised() {
        for v in [
            "postgres://app:hunter2@db.example.com:5432/app",
            "amqp://guest:guest@rabbit/",
            "Bearer abcdef123456",
            "Basic dXNlcjpwYXNzd29yZA==",
            "AKIAIOSFODNN7EXAMPLE",
            "ASIAIOSFODNN7EXAMPLE",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            "xoxb-123456789012-abcdefghij",
            "sk_live_0123456789abcdefXYZ",
            "rk_live_0123456789abcdefXYZ",
            "AIzaSyA0123456789abcdefghijklmnopqrstuv",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
            "-----BEGIN PRIVATE KEY-----",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "Zx8Qp2Lm9Vt4Rk7Wn1Bc6Hy3Jd5Fg0Sa",
        ] {
            assert!(credential(v).is_some(), "{v}");
        }
    }

    #[test]
    fn ordinary_values_are_not() {
        for v in [
            "info",
            "true",
            "https://api.example.com/v1",
            "http://acme-collector.acme.svc.cluster.local:9100",
            "postgres://db.example.com:5432/app",
            "https://user@example.com/",
            "shop.example.com",
            "0123456789abcdef0123456789abcdef01234567",
            "123e4567-e89b-12d3-a456-426614174000",
            "Europe/Berlin",
            "-----BEGIN CERTIFICATE-----",
            "gunicorn app.wsgi:application --bind 0.0.0.0:8000",
            "basic",
            "SG.abc",
            "ThisIsAnOrdinaryCamelCaseSetting1",
        ] {
            assert_eq!(credential(v), None, "{v}");
        }
    }
}
