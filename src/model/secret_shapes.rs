//! Stage 2 (checks) — literal values shaped like credentials: in `env` (with the rule on the
//! variable's name) and in every command argument (`command`, `migrate`, `health.command`).
//!
//! A literal in the spec is committed in plain text and rendered into manifests. Two rules:
//!
//! - the name rule ([`secret_name`]): a variable whose `_`-separated words say secret
//!   (`DB_PASSWORD`, `STRIPE_TOKEN`, `SENDGRID_API_KEY`) may not hold a literal, unless its last word
//!   is a qualifier of something that is not the secret itself (`TOKEN_TTL_SECONDS`,
//!   `SECRET_MANAGER_PROJECT`), its name says public (`MAPBOX_TOKEN_PUBLIC`), or its value cannot be a
//!   secret (a boolean, a number, a duration, an absolute path);
//! - the shape rule ([`credential`]): whatever the name, a value holding a well-known credential
//!   shape anywhere (provider prefixes, PEM private keys, webhook URLs, URLs with a password,
//!   `password=…`-style settings), or being an HTTP authorization value, a JWT or a long random
//!   token. Ordinary values (URLs without a password, host names, log levels, flags, UUIDs, commit
//!   ids, hashes, public keys with a public prefix) do not match.
//!
//! A value that is public by design but looks random (a reCAPTCHA or Firebase key, a Supabase
//! anon JWT) goes through under a name with the word `PUBLIC` or `PUBLISHABLE`, or `SITE_KEY`: only
//! the shapes a public value can have (a Google API key, a JWT, a random token) are then let through.

use super::validate::Validator;
use crate::spec::Sp;

/// Character classes a shape's body must all hold.
const UP: u8 = 1;
const LO: u8 = 2;
const DIG: u8 = 4;

/// A well-known credential: a literal prefix at the start of a word, then at least `min`
/// characters of `body`, holding every class of `classes`.
struct Shape {
    what: &'static str,
    prefix: &'static str,
    min: usize,
    body: fn(u8) -> bool,
    classes: u8,
    /// Public values have this shape too (a Google API key in a web page).
    public_ok: bool,
}

fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}
fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}
fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn dotted(b: u8) -> bool {
    token(b) || b == b'.'
}

const fn shape(
    what: &'static str,
    prefix: &'static str,
    min: usize,
    body: fn(u8) -> bool,
) -> Shape {
    Shape {
        what,
        prefix,
        min,
        body,
        classes: 0,
        public_ok: false,
    }
}

/// The well-known shapes, by the prefix each provider documents; a more specific prefix comes
/// before a shorter one it starts with.
const SHAPES: &[Shape] = &[
    shape("an AWS access key id", "AKIA", 16, upper_alnum),
    shape("an AWS temporary access key id", "ASIA", 16, upper_alnum),
    shape("a GitHub token", "ghp_", 36, alnum),
    shape("a GitHub OAuth token", "gho_", 36, alnum),
    shape("a GitHub app token", "ghs_", 36, alnum),
    shape("a GitHub user-to-server token", "ghu_", 36, alnum),
    shape("a GitHub refresh token", "ghr_", 36, alnum),
    shape("a GitHub fine-grained token", "github_pat_", 22, word),
    shape("a GitLab personal access token", "glpat-", 20, token),
    shape("a Slack bot token", "xoxb-", 10, token),
    shape("a Slack app token", "xoxa-", 10, token),
    shape("a Slack user token", "xoxp-", 10, token),
    shape("a Slack refresh token", "xoxr-", 10, token),
    shape("a Slack token", "xoxs-", 10, token),
    shape("a Stripe secret key", "sk_live_", 16, alnum),
    shape("a Stripe restricted key", "rk_live_", 16, alnum),
    shape("a Stripe test secret key", "sk_test_", 16, alnum),
    shape("a Stripe test restricted key", "rk_test_", 16, alnum),
    shape("a Shopify access token", "shpat_", 32, hex),
    shape("a Shopify shared secret", "shpss_", 32, hex),
    shape("a Shopify custom app token", "shpca_", 32, hex),
    shape("a Doppler service token", "dp.st.", 40, dotted),
    shape("a Doppler personal token", "dp.pt.", 40, dotted),
    shape("an npm token", "npm_", 36, alnum),
    shape("a PyPI token", "pypi-AgEI", 50, token),
    shape("an Anthropic API key", "sk-ant-", 32, token),
    Shape {
        classes: UP | LO | DIG,
        ..shape("an OpenAI API key", "sk-", 32, token)
    },
    Shape {
        classes: UP | LO,
        ..shape("a Hugging Face token", "hf_", 30, alnum)
    },
    shape("a Twilio API key", "SK", 32, hex),
    shape("a Mailgun API key", "key-", 32, hex),
    Shape {
        public_ok: true,
        ..shape("a Google API key", "AIza", 35, token)
    },
    shape("a SendGrid API key", "SG.", 40, dotted),
];

/// Webhook URLs whose path is the credential.
const WEBHOOKS: &[(&str, &str)] = &[
    ("hooks.slack.com/services/", "a Slack webhook URL"),
    ("hooks.slack.com/workflows/", "a Slack workflow webhook URL"),
    ("discord.com/api/webhooks/", "a Discord webhook URL"),
    ("discordapp.com/api/webhooks/", "a Discord webhook URL"),
];

/// Keys whose value, in `key=value` or `key: value` text inside a value, is a credential.
const CREDENTIAL_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "accountkey",
    "x-api-key",
    "x-honeycomb-team",
    "authorization",
];

/// Prefixes of values that are public by design and look random.
const PUBLIC_PREFIXES: &[&str] = &["pk_live_", "pk_test_", "sha256-", "sha384-", "sha512-"];

/// What a credential found in a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it looks like, e.g. "a GitHub token".
    pub what: String,
    /// A public value can have this shape too (a random token, a JWT, a Google API key).
    pub public_ok: bool,
}

fn found(what: impl Into<String>, public_ok: bool) -> Option<Found> {
    Some(Found {
        what: what.into(),
        public_ok,
    })
}

/// What credential `value` looks like, when it looks like one.
pub fn credential(value: &str) -> Option<Found> {
    credential_in(value, false)
}

/// As [`credential`]; under a `public` name, the shapes a public value can have are let through.
fn credential_in(value: &str, public: bool) -> Option<Found> {
    let v = unquote(value.trim());
    // The shortest shape is 14 characters (`Token ` and 8); `key=value` and URL passwords need a
    // separator. Most command arguments are short words: they are done here.
    if v.len() < 14 && !v.contains(['=', ':', '@']) {
        return None;
    }
    let hit = shapes(v)
        .or_else(|| pem_private_key(v))
        .or_else(|| webhook(v))
        .or_else(|| url_password(v).then(|| found("a URL with a password", false))?)
        .or_else(|| key_value(v))
        .or_else(|| auth_scheme(v))
        .or_else(|| is_jwt(v).then(|| found("a JSON Web Token", true))?)
        .or_else(|| random_token(v).then(|| found("a long random token", true))?);
    hit.filter(|f| !(public && f.public_ok))
}

/// `value` without one level of surrounding quotes.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2
            && let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q))
        {
            return inner.trim();
        }
    }
    v
}

/// A [`SHAPES`] prefix at the start of a word (not after a letter or digit), with its body.
fn shapes(v: &str) -> Option<Found> {
    let b = v.as_bytes();
    for s in SHAPES {
        for (at, _) in v.match_indices(s.prefix) {
            if at > 0 && b[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let body: Vec<u8> = b[at + s.prefix.len()..]
                .iter()
                .copied()
                .take_while(|c| (s.body)(*c))
                .collect();
            if body.len() >= s.min && classes(&body) & s.classes == s.classes {
                return found(s.what, s.public_ok);
            }
        }
    }
    None
}

fn classes(b: &[u8]) -> u8 {
    b.iter().fold(0, |acc, c| {
        acc | if c.is_ascii_uppercase() {
            UP
        } else if c.is_ascii_lowercase() {
            LO
        } else if c.is_ascii_digit() {
            DIG
        } else {
            0
        }
    })
}

/// `-----BEGIN … PRIVATE KEY…-----` anywhere (RSA, EC, OpenSSH, PGP `PRIVATE KEY BLOCK`, …).
fn pem_private_key(v: &str) -> Option<Found> {
    v.match_indices("-----BEGIN ")
        .filter_map(|(at, m)| {
            let rest = &v[at + m.len()..];
            rest.find("-----").map(|end| &rest[..end])
        })
        .any(|label| label.contains("PRIVATE KEY"))
        .then(|| found("a PEM private key", false))?
}

/// An `http(s)://` URL of a webhook whose path is the credential.
fn webhook(v: &str) -> Option<Found> {
    // Every webhook URL is longer than its fragment (25 characters or more) and a 10-character body.
    if v.len() < 35 {
        return None;
    }
    let lower = v.to_ascii_lowercase();
    for (fragment, what) in WEBHOOKS {
        for (at, _) in lower.match_indices(fragment) {
            let host_start = lower[..at]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .map_or(0, |i| i + 1);
            let before = &lower[..host_start];
            let scheme = before.ends_with("https://") || before.ends_with("http://");
            let body = lower[at + fragment.len()..]
                .bytes()
                .take_while(|c| token(*c) || *c == b'/')
                .count();
            if scheme && body >= 10 {
                return found(*what, false);
            }
        }
    }
    None
}

/// A reference Kubernetes (`$(NAME)`) or a shell (`${NAME}`, `$NAME`) replaces by a variable.
fn is_reference(s: &str) -> bool {
    let name = |n: &str| {
        !n.is_empty()
            && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            && !n.as_bytes()[0].is_ascii_digit()
    };
    if let Some(r) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')')) {
        return name(r);
    }
    if let Some(r) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return name(r);
    }
    s.strip_prefix('$').is_some_and(name)
}

/// Whether the text at the start of `s` is a reference ([`is_reference`]) to a variable.
fn starts_with_reference(s: &str) -> bool {
    let b = s.as_bytes();
    b.first() == Some(&b'$')
        && b.get(1)
            .is_some_and(|c| *c == b'(' || *c == b'{' || c.is_ascii_alphabetic() || *c == b'_')
}

/// `scheme://user:password@host…` anywhere, with a non-empty password that is not a reference.
/// The user information runs from `://` to the last `@` of the URL (a password may hold `/`, `?`
/// or `#`), unless the URL starts with a plain `host` or `host:port` before its first `/`.
fn url_password(v: &str) -> bool {
    for (at, _) in v.match_indices("://") {
        if at == 0 || !v.as_bytes()[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &v[at + 3..];
        let end = rest
            .find(|c: char| c.is_whitespace() || "\"'<>`\\".contains(c))
            .unwrap_or(rest.len());
        let url = &rest[..end];
        let first = url.split(['/', '?', '#']).next().unwrap_or(url);
        if !first.contains('@')
            && first
                .split_once(':')
                .is_none_or(|(_, port)| port.bytes().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let Some((userinfo, _)) = url.rsplit_once('@') else {
            continue;
        };
        if let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
            && !is_reference(password)
        {
            return true;
        }
    }
    false
}

/// Whether an identifier (`DB_PASSWORD`, `--token`, `x-api-key`) names a credential: one of
/// [`CREDENTIAL_KEYS`], alone, after `_`, `-` or `.`, or after `pg` (`PGPASSWORD`).
fn credential_key(ident: &str) -> Option<&'static str> {
    let lower = ident.to_ascii_lowercase();
    CREDENTIAL_KEYS.iter().copied().find(|k| {
        lower.strip_suffix(k).is_some_and(|before| {
            before.is_empty() || before == "pg" || before.ends_with(['_', '-', '.'])
        })
    })
}

/// `key=value`, `key: value` or `"key": "value"` inside a value, with a credential key and a
/// non-empty value that is not a reference; after `authorization`, a scheme word is skipped.
fn key_value(v: &str) -> Option<Found> {
    let b = v.as_bytes();
    let ident_byte = |c: u8| c.is_ascii_alphanumeric() || b"_-.".contains(&c);
    for (p, &sep) in b.iter().enumerate() {
        if sep != b'=' && sep != b':' {
            continue;
        }
        // The key, before a closing quote when it is a quoted (JSON) key.
        let quoted = p > 0 && b[p - 1] == b'"';
        let key_end = if quoted { p - 1 } else { p };
        let key_start = b[..key_end]
            .iter()
            .rposition(|c| !ident_byte(*c))
            .map_or(0, |i| i + 1);
        if quoted && (key_start == 0 || b[key_start - 1] != b'"') {
            continue;
        }
        let mut value = &v[p + 1..];
        if sep == b'=' {
            if value.starts_with('=') {
                continue;
            }
        } else if !quoted && !value.starts_with(' ') {
            continue;
        }
        let Some(key) = credential_key(&v[key_start..key_end]) else {
            continue;
        };
        value = value
            .trim_start_matches(' ')
            .trim_start_matches(['"', '\'']);
        if key == "authorization" {
            for scheme in ["bearer", "basic", "token"] {
                let head = value.get(..scheme.len()).unwrap_or("");
                if head.eq_ignore_ascii_case(scheme) {
                    let after = &value[scheme.len()..];
                    if let Some(r) = after.strip_prefix(' ').or(after.strip_prefix("%20")) {
                        value = r.trim_start_matches(' ');
                    }
                }
            }
        }
        if starts_with_reference(value) {
            continue;
        }
        let value = value
            .split(|c: char| c.is_whitespace() || "&;,\"'}]\\".contains(c))
            .next()
            .unwrap_or("");
        if !value.is_empty() && !harmless(value) {
            let shown = &v[key_start..key_end];
            return found(format!("a credential after `{shown}`"), false);
        }
    }
    None
}

/// Text that cannot be a secret: a boolean or null, a number, a duration, an absolute path.
fn harmless(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "none"
    ) || is_number(v)
        || is_duration(v)
        || (v.starts_with('/') && !v.starts_with("//") && !v.contains(char::is_whitespace))
}

fn is_number(v: &str) -> bool {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()))
}

/// `30s`, `15m`, `1h30m`, `500ms`, `7d`.
fn is_duration(v: &str) -> bool {
    let mut rest = v;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &rest[n..];
        let unit = ["ms", "us", "ns", "s", "m", "h", "d", "w"]
            .into_iter()
            .find(|u| rest.starts_with(u));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// The whole value is `<scheme> <credentials>`: one space, then one token of at least 8 token
/// characters (for `Basic`, valid base64), nothing after it. Prose (`Bearer tokens are validated`)
/// has further words.
fn auth_scheme(v: &str) -> Option<Found> {
    let (scheme, rest) = v.split_once(' ')?;
    let what = match scheme.to_ascii_lowercase().as_str() {
        "bearer" => "an HTTP bearer token",
        "basic" => "HTTP basic credentials",
        "token" => "an HTTP authorization token",
        _ => return None,
    };
    let body = rest.trim_end_matches('=');
    let token68 = body
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"-._~+/".contains(&c));
    if rest.len() < 8 || !token68 || body.is_empty() || is_reference(rest) {
        return None;
    }
    if what.starts_with("HTTP basic") && !is_base64(rest) {
        return None;
    }
    found(what, false)
}

/// Standard base64 with its padding.
fn is_base64(v: &str) -> bool {
    let body = v.trim_end_matches('=');
    v.len().is_multiple_of(4)
        && v.len() - body.len() <= 2
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// Three base64url parts, the first two JSON objects (`eyJ` is `{"` encoded).
fn is_jwt(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts[1].starts_with("eyJ")
        && parts.iter().all(|p| p.bytes().all(token))
}

/// Public values of the random-token alphabet: a public prefix ([`PUBLIC_PREFIXES`]), a base64
/// SHA-1, SHA-256 or SHA-512 digest (28, 44 or 88 characters with their padding), a reCAPTCHA site
/// key (`6L` and 38 more) or a VAPID public key (87 characters of base64url from `B`, a P-256
/// point).
fn public_value(v: &str) -> bool {
    let b = v.as_bytes();
    PUBLIC_PREFIXES.iter().any(|p| v.starts_with(p))
        || (is_base64(v)
            && matches!(
                (b.len(), v.len() - v.trim_end_matches('=').len()),
                (28 | 44, 1) | (88, 2)
            ))
        || (b.len() == 40 && v.starts_with("6L") && b.iter().all(|c| token(*c)))
        || (b.len() == 87 && v.starts_with('B') && b.iter().all(|c| token(*c)))
}

/// At least 32 characters of base64 alphabet, with upper case, lower case and digits mixed (the
/// class changes at nearly every other character, as in random text and unlike CamelCase words)
/// and at least 4 bits of entropy per character: a random key, not a name, a UUID, a commit id,
/// or a [public value](public_value).
fn random_token(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 32
        || !b
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=_-".contains(c))
        || classes(b) != UP | LO | DIG
        || public_value(v)
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

/// Words of a variable name that say it holds a secret, also in the plural (`CREDENTIALS`).
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "SECRET",
    "TOKEN",
    "CREDENTIAL",
    "APIKEY",
    "ACCESSKEY",
    "PRIVATEKEY",
    "SECRETKEY",
    "ACCOUNTKEY",
];

/// Secret words that also end a compound word (`PGPASSWORD`, `AUTHTOKEN`, `CLIENTSECRET`).
const COMPOUND_ENDINGS: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN"];

/// Two words that together say secret.
const SECRET_PAIRS: &[[&str; 2]] = &[
    ["API", "KEY"],
    ["PRIVATE", "KEY"],
    ["ACCESS", "KEY"],
    ["ACCOUNT", "KEY"],
];

/// Last words of a name for something about a secret, not the secret: its lifetime, size,
/// location, switch or name (`TOKEN_TTL_SECONDS`, `SECRET_MANAGER_PROJECT`, `PASSWORD_FILE`). A URL
/// is then still checked for a password by the shape rule.
const QUALIFIERS: &[&str] = &[
    "TTL",
    "TIMEOUT",
    "SECONDS",
    "SECS",
    "MS",
    "MINUTES",
    "HOURS",
    "DAYS",
    "EXPIRY",
    "EXPIRES",
    "EXPIRATION",
    "LIFETIME",
    "AGE",
    "LENGTH",
    "LEN",
    "SIZE",
    "COUNT",
    "LIMIT",
    "PROJECT",
    "REGION",
    "PATH",
    "FILE",
    "DIR",
    "URL",
    "URI",
    "ENDPOINT",
    "HOST",
    "PORT",
    "NAME",
    "HEADER",
    "ENABLED",
    "DISABLED",
    "ENABLE",
    "REQUIRED",
    "ALGORITHM",
    "PUBLIC",
];

fn words(name: &str) -> Vec<String> {
    name.to_ascii_uppercase()
        .split('_')
        .map(str::to_string)
        .collect()
}

/// Whether a variable's name says its value is public by design: a word `PUBLIC` or
/// `PUBLISHABLE` (`NEXT_PUBLIC_…`, `STRIPE_PUBLISHABLE_KEY`), a site key (`RECAPTCHA_SITE_KEY`),
/// or a Firebase web API key.
pub fn public_name(name: &str) -> bool {
    let w = words(name);
    w.iter()
        .any(|w| w == "PUBLIC" || w == "PUBLISHABLE" || w == "SITEKEY")
        || w.windows(2).any(|p| p[0] == "SITE" && p[1] == "KEY")
        || w.ends_with(&["FIREBASE".into(), "API".into(), "KEY".into()])
}

/// Whether a variable's name says it holds a secret ([`SECRET_WORDS`], [`SECRET_PAIRS`], whole
/// `_`-separated words: `TOKEN`, not `TOKENIZERS`), unless its last word is a [qualifier](QUALIFIERS)
/// or the name [says public](public_name).
pub fn secret_name(name: &str) -> bool {
    let w = words(name);
    let secret_word = |word: &String| {
        SECRET_WORDS
            .iter()
            .any(|s| word == s || word.strip_suffix('S') == Some(s))
            || COMPOUND_ENDINGS.iter().any(|s| {
                word.ends_with(s) || word.strip_suffix('S').is_some_and(|x| x.ends_with(s))
            })
    };
    let named = w.iter().any(secret_word)
        || w.windows(2)
            .any(|p| SECRET_PAIRS.iter().any(|[a, b]| p[0] == *a && p[1] == *b));
    named && !w.last().is_some_and(|l| QUALIFIERS.contains(&l.as_str())) && !public_name(name)
}

/// What an `env` literal is refused for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvFinding {
    /// The name says secret and the value could be one.
    Named,
    /// The value looks like a credential.
    Shape(Found),
}

/// The verdict on one `env` literal; `injected` names (set by fredgen, refused on their own)
/// only get the name rule.
pub fn env_literal(name: &str, value: &str, injected: bool) -> Option<EnvFinding> {
    if secret_name(name) && !value.is_empty() && !harmless(value.trim()) {
        return Some(EnvFinding::Named);
    }
    if injected {
        return None;
    }
    credential_in(value, public_name(name)).map(EnvFinding::Shape)
}

const PUBLIC_HATCH: &str = "; if it is public by design (a site key, a publishable key), give the \
                            variable a name with the word `PUBLIC`";

/// Refuses an `env` literal whose name or value says credential.
pub fn check_env(v: &mut Validator, key: &str, value: &Sp<String>, path: &str, injected: bool) {
    match env_literal(key, &value.value, injected) {
        None => {}
        Some(EnvFinding::Named) => {
            v.error_at(
                value,
                path,
                format!("`{key}` looks like a secret but has a literal value"),
            )
            .hint = Some(format!(
                "remove it from `env`, list `{key}` under `secrets`, and store its value in the platform's secret store"
            ));
        }
        Some(EnvFinding::Shape(f)) => {
            v.error_at(
                value,
                path,
                format!("the value of `{key}` looks like a credential ({})", f.what),
            )
            .hint = Some(format!(
                "a literal in `env` is committed in plain text: list `{key}` under `secrets` and \
                 store the whole value in the platform's secret store{}",
                if f.public_ok { PUBLIC_HATCH } else { "" }
            ));
        }
    }
}

/// A flag naming a credential (`--password`, `--api-key`) followed by its value as the next
/// argument.
fn flag_value(flag: &str, value: &str) -> Option<Found> {
    let named = flag.starts_with('-') && !flag.contains('=') && credential_key(flag).is_some();
    (named
        && !value.is_empty()
        && !value.starts_with('-')
        && !starts_with_reference(value)
        && !harmless(value))
    .then(|| found(format!("a credential after `{flag}`"), false))?
}

/// What credential each argument of a command looks like, by index.
pub fn command_credentials(args: &[&str]) -> Vec<(usize, Found)> {
    args.iter()
        .enumerate()
        .filter_map(|(i, a)| {
            credential(a)
                .or_else(|| i.checked_sub(1).and_then(|j| flag_value(args[j], a)))
                .map(|f| (i, f))
        })
        .collect()
}

/// Refuses the arguments of a command (`command`, `migrate`, `health.command`) that look like
/// credentials: the shape rule, and the value after a flag naming one.
pub fn check_command(v: &mut Validator, args: &Option<Vec<Sp<String>>>, path: &str) {
    let args: Vec<&Sp<String>> = args.iter().flatten().collect();
    let text: Vec<&str> = args.iter().map(|a| a.value.as_str()).collect();
    for (i, f) in command_credentials(&text) {
        v.error_at(
            args[i],
            &format!("{path}[{i}]"),
            format!("this argument looks like a credential ({})", f.what),
        )
        .hint = Some(format!(
            "a command is committed in plain text: list a NAME under `secrets`, store the value \
             in the platform's secret store, and read it from the environment: `$(NAME)` in the \
             argument (Kubernetes substitutes it), or `$NAME` in a shell (`sh -c`){}",
            if f.public_ok {
                "; if it is public by design, set it in `env` under a name with the word `PUBLIC` \
                 and read it the same way"
            } else {
                ""
            }
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn what(v: &str) -> Option<String> {
        credential(v).map(|f| f.what)
    }

    #[test]
    fn credentials_are_recognised() {
        for (v, expected) in [
            (
                "postgres://app:hunter2@db.example.com:5432/app",
                "a URL with a password",
            ),
            ("amqp://guest:guest@rabbit/", "a URL with a password"),
            ("postgres://app:hunt/er2@db/app", "a URL with a password"),
            ("postgres://app:hunt#er2@db/app", "a URL with a password"),
            ("redis://:s3cr?t@redis:6379/0", "a URL with a password"),
            ("Bearer abcdef123456", "an HTTP bearer token"),
            ("Basic dXNlcjpwYXNzd29yZA==", "HTTP basic credentials"),
            ("token 0123456789abcdef", "an HTTP authorization token"),
            ("AKIAIOSFODNN7EXAMPLE", "an AWS access key id"),
            ("ASIAIOSFODNN7EXAMPLE", "an AWS temporary access key id"),
            ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "a GitHub token"),
            (
                "\"ghp_0123456789abcdefghijABCDEFGHIJ012345\"",
                "a GitHub token",
            ),
            (
                "'ghp_0123456789abcdefghijABCDEFGHIJ012345'",
                "a GitHub token",
            ),
            (
                "--token=ghp_0123456789abcdefghijABCDEFGHIJ012345",
                "a GitHub token",
            ),
            (
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
                "a GitHub fine-grained token",
            ),
            (
                "glpat-xYz0123456789AbCdEfGh",
                "a GitLab personal access token",
            ),
            ("xoxb-123456789012-abcdefghij", "a Slack bot token"),
            ("sk_live_0123456789abcdefXYZ", "a Stripe secret key"),
            ("rk_live_0123456789abcdefXYZ", "a Stripe restricted key"),
            ("sk_test_0123456789abcdefXYZ", "a Stripe test secret key"),
            (
                "shpat_0123456789abcdef0123456789abcdef",
                "a Shopify access token",
            ),
            (
                "shpss_0123456789abcdef0123456789abcdef",
                "a Shopify shared secret",
            ),
            (
                "shpca_0123456789abcdef0123456789abcdef",
                "a Shopify custom app token",
            ),
            (
                "dp.st.prd.0123456789abcdefABCDEF0123456789abcdefAB",
                "a Doppler service token",
            ),
            (
                "dp.pt.0123456789abcdefABCDEF0123456789abcdefABC",
                "a Doppler personal token",
            ),
            ("npm_0123456789abcdefABCDEF0123456789abcd", "an npm token"),
            (
                "pypi-AgEIcHlwaS5vcmcCJDEyMzQ1Njc4LTEyMzQtMTIzNC0xMjM0LTEyMzQ1Njc4OTAxMg",
                "a PyPI token",
            ),
            (
                "sk-0123456789abcdefABCDEF0123456789abcdefABCDEF0123",
                "an OpenAI API key",
            ),
            (
                "sk-proj-0123456789abcdefABCDEF0123456789abcdef_ABCDEF-0123",
                "an OpenAI API key",
            ),
            (
                "sk-ant-api03-0123456789abcdefABCDEF0123456789abcdef-AA",
                "an Anthropic API key",
            ),
            (
                "hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
                "a Hugging Face token",
            ),
            ("SK0123456789abcdef0123456789abcdef", "a Twilio API key"),
            ("key-0123456789abcdef0123456789abcdef", "a Mailgun API key"),
            (
                "AIzaSyA0123456789abcdefghijklmnopqrstuv",
                "a Google API key",
            ),
            (
                "SG.0123456789abcdefABCD.0123456789abcdefABCDEF0123",
                "a SendGrid API key",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
                "a PEM private key",
            ),
            ("-----BEGIN PRIVATE KEY-----", "a PEM private key"),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl",
                "a PEM private key",
            ),
            (
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQdGBF",
                "a PEM private key",
            ),
            (
                "{\"type\":\"service_account\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n\"}",
                "a PEM private key",
            ),
            (
                "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX",
                "a Slack webhook URL",
            ),
            (
                "http://hooks.slack.com/workflows/T0000/A0000/123/abcdefXYZ",
                "a Slack workflow webhook URL",
            ),
            (
                "https://discord.com/api/webhooks/1234567890/abcdefghijKLMNOP",
                "a Discord webhook URL",
            ),
            (
                "https://discordapp.com/api/webhooks/1234567890/abcdefghijKLMNOP",
                "a Discord webhook URL",
            ),
            (
                "host=db user=app password=hunter2 dbname=app",
                "a credential after `password`",
            ),
            (
                "jdbc:postgresql://db/app?user=app&password=hunter2",
                "a credential after `password`",
            ),
            (
                "https://api.example.com/v1?api_key=abc123def",
                "a credential after `api_key`",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=c2VjcmV0a2V5==;EndpointSuffix=core.windows.net",
                "a credential after `AccountKey`",
            ),
            (
                "PGPASSWORD=hunter2 psql -h db app",
                "a credential after `PGPASSWORD`",
            ),
            (
                "Authorization: Bearer abc",
                "a credential after `Authorization`",
            ),
            (
                "curl -H 'Authorization: Basic YTpi' https://x",
                "a credential after `Authorization`",
            ),
            (
                "authorization=Bearer%20abc123",
                "a credential after `authorization`",
            ),
            (
                "x-honeycomb-team=abc123,x-honeycomb-dataset=web",
                "a credential after `x-honeycomb-team`",
            ),
            ("api-key=abc123", "a credential after `api-key`"),
            ("x-api-key: abc123", "a credential after `x-api-key`"),
            ("{\"token\":\"abc123\"}", "a credential after `token`"),
            (
                "{\"db\": {\"password\": \"hunter2\"}}",
                "a credential after `password`",
            ),
            ("MYSQL_PWD=hunter2", "a credential after `MYSQL_PWD`"),
            (
                "--client-secret=hunter2",
                "a credential after `--client-secret`",
            ),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
                "a JSON Web Token",
            ),
            ("Zx8Qp2Lm9Vt4Rk7Wn1Bc6Hy3Jd5Fg0Sa", "a long random token"),
            (
                "9dRk2+Lp/7QwXz3Vb8NmTy4Ua1Hs6JcF0eGi5KoZ",
                "a long random token",
            ),
        ] {
            assert_eq!(what(v).as_deref(), Some(expected), "{v}");
        }
    }

    #[test]
    fn ordinary_and_public_values_are_not() {
        for v in [
            "info",
            "true",
            "https://api.example.com/v1",
            "http://acme-collector.acme.svc.cluster.local:9100",
            "postgres://db.example.com:5432/app",
            "https://user@example.com/",
            "https://example.com:8080/users/@bob",
            "https://api.example.com/v1?email=a@b.example",
            "postgres://app:$(DB_PASSWORD)@db/app",
            "postgres://app:${DB_PASSWORD}@db/app",
            "shop.example.com",
            "0123456789abcdef0123456789abcdef01234567",
            "123e4567-e89b-12d3-a456-426614174000",
            "Europe/Berlin",
            "-----BEGIN CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----\nMFkw",
            "gunicorn app.wsgi:application --bind 0.0.0.0:8000",
            "basic",
            "SG.abc",
            "ThisIsAnOrdinaryCamelCaseSetting1",
            // prose, not authorization values
            "Basic plan includes five seats",
            "Token authentication via header",
            "Bearer tokens are validated by the gateway",
            "Basic notbase64!",
            "Bearer $(API_TOKEN)",
            // public values that look random
            "pk_live_51H8abcDEF0123456789ghijKLMNOPqrstUVwxyz0123456789",
            "pk_test_51H8abcDEF0123456789ghijKLMNOPqrstUVwxyz0123456789",
            "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
            "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U",
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
            "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            // references and ordinary settings
            "password=$(DB_PASSWORD)",
            "PGPASSWORD=$PGPASSWORD psql -h db app",
            "Authorization: Bearer ${TOKEN}",
            "password=",
            "token_ttl=900",
            "max_tokens=100",
            "secret_name=app-secrets",
            "ghcr.io/acme/secret:1.2.3",
            "hooks.slack.com/services/",
            "task-queue-processing-worker-name-long",
            "sk-learn",
            "disk-0123456789abcdefABCDEF0123456789abcdef",
            "monkey-0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(what(v), None, "{v}");
        }
    }

    #[test]
    fn names_say_secret_by_whole_words_and_qualifiers_and_values_can_clear_them() {
        let refused = |name: &str, value: &str| env_literal(name, value, false).is_some();
        for (name, value) in [
            ("DATABASE_PASSWORD", "hunter2"),
            ("STRIPE_TOKEN", "tok_live_x"),
            ("SENDGRID_API_KEY", "SG.abc123"),
            ("DJANGO_SECRET_KEY", "abc"),
            ("PGPASSWORD", "hunter2"),
            ("GITHUB_AUTHTOKEN", "abc"),
            ("OAUTH_CLIENT_SECRET", "abc"),
            ("AWS_SECRET_ACCESS_KEY", "abc"),
            ("AWS_ACCESS_KEY_ID", "abc"),
            ("APP_CREDENTIALS", "abc"),
            ("SECRET_KEY_BASE", "abc"),
            ("TOKEN_URL", "https://bot:hunter2@auth.example.com/token"),
            ("NEXT_PUBLIC_STRIPE_KEY", "sk_live_0123456789abcdefXYZ"),
        ] {
            assert!(refused(name, value), "{name}: {value}");
        }
        for (name, value) in [
            ("TOKENIZERS_PARALLELISM", "false"),
            ("PASSWORD_RESET_TIMEOUT", "3600"),
            (
                "GOOGLE_APPLICATION_CREDENTIALS",
                "/var/secrets/google/key.json",
            ),
            ("TOKEN_TTL_SECONDS", "900"),
            ("SECRET_MANAGER_PROJECT", "my-proj"),
            (
                "FIREBASE_API_KEY",
                "AIzaSyA0123456789abcdefghijklmnopqrstuv",
            ),
            (
                "MAPBOX_TOKEN_PUBLIC",
                "pk.eyJ1IjoiYWNtZSIsImEiOiJjbGV4YW1wbGUifQ.abcDEF123",
            ),
            (
                "RECAPTCHA_SITE_KEY",
                "6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI",
            ),
            (
                "VAPID_PUBLIC_KEY",
                "BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U",
            ),
            (
                "STRIPE_PUBLISHABLE_KEY",
                "pk_live_51H8abcDEF0123456789ghijKLMNOPqrstUVwxyz",
            ),
            (
                "NEXT_PUBLIC_SUPABASE_ANON_KEY",
                "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJl",
            ),
            ("SESSION_TOKEN_LENGTH", "64"),
            ("JWT_SECRET_EXPIRY", "15m"),
            ("AUTH_TOKEN_ENABLED", "true"),
            ("TOKEN_URL", "https://auth.example.com/oauth/token"),
            ("DB_PASSWORD_FILE", "/run/secrets/db"),
            ("DB_PASSWORD", ""),
            ("API_TIMEOUT", "30s"),
            (
                "SRI_HASH",
                "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
            ),
        ] {
            assert!(!refused(name, value), "{name}: {value}");
        }
        // fredgen's own names get the name rule only
        assert_eq!(
            env_literal("DATABASE_URL", "postgres://a:b@db/app", true),
            None
        );
    }

    #[test]
    fn command_arguments_are_checked_with_the_flag_before_them() {
        let found = |args: &[&str]| -> Vec<(usize, String)> {
            command_credentials(args)
                .into_iter()
                .map(|(i, f)| (i, f.what))
                .collect()
        };
        assert_eq!(
            found(&[
                "gunicorn",
                "app.wsgi",
                "--token",
                "ghp_0123456789abcdefghijABCDEFGHIJ012345"
            ]),
            [(3, "a GitHub token".to_string())]
        );
        assert_eq!(
            found(&[
                "sh",
                "-c",
                "PGPASSWORD=hunter2 psql postgres://app:hunter2@db/app -f m.sql"
            ]),
            [(2, "a URL with a password".to_string())]
        );
        assert_eq!(
            found(&["mysql", "--password", "hunter2", "-e", "select 1"]),
            [(2, "a credential after `--password`".to_string())]
        );
        for ok in [
            &["mysql", "--password", "$(DB_PASSWORD)"][..],
            &["app", "--secret", "--verbose"],
            &["app", "--token-ttl", "900"],
            &["celery", "-A", "app", "inspect", "ping"],
            &["python", "manage.py", "migrate", "--noinput"],
        ] {
            assert_eq!(found(ok), [], "{ok:?}");
        }
    }
}
