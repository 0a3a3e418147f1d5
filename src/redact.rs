//! Taking secrets out of text before it is shown, recorded or sent to a model: credentials and
//! query strings in URLs, and known secret values (API keys) wherever they turn up.
//!
//! Depends on nothing else in the crate, so that config, providers, tools and session files
//! all redact the same way.

use std::fmt;

/// What a secret value is replaced with.
pub const MARK: &str = "[redacted]";

/// `url` without credentials in its authority (`user:password@`) and without its query and
/// fragment, where tokens are often passed. Works on text that is not a valid URL too.
pub fn url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = url.split_at(authority_start);
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}{host}{path}")
}

/// The parts of `url` that [`url`] leaves out and that may be secret: the password (or a
/// lone token) of its authority and the value of each query parameter, as written and decoded.
/// A server or a library that echoes one of them back in a message must not show it.
pub fn url_secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    let (before_fragment, _) = url.split_once('#').unwrap_or((url, ""));
    let (base, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    let rest = base.split_once("://").map_or(base, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        match userinfo.split_once(':') {
            Some((_, password)) => found.push(password.to_string()),
            None => found.push(userinfo.to_string()),
        }
    }
    for pair in query.split('&') {
        let value = pair.split_once('=').map_or("", |(_, value)| value);
        found.push(value.to_string());
    }
    let decoded: Vec<String> = found
        .iter()
        .filter_map(|part| percent_decoded(part))
        .collect();
    found.extend(decoded);
    if let Ok(parsed) = reqwest::Url::parse(url) {
        // Form decoding also reads `+` as a space.
        found.extend(parsed.query_pairs().map(|(_, value)| value.into_owned()));
    }
    found
}

/// `%XX` escapes decoded, when there are any and the result is text.
fn percent_decoded(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes.get(i + 1..i + 3).filter(|_| bytes[i] == b'%');
        let value = escaped
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match value {
            Some(value) => {
                out.push(value);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    (out != bytes)
        .then(|| String::from_utf8(out).ok())
        .flatten()
}

/// Values that must never be shown: each occurrence in a text becomes [`MARK`].
///
/// `Debug` shows how many there are, never what they are.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so that a secret holding another is cut out whole.
    values: Vec<String>,
}

impl Secrets {
    /// Shorter values are left alone: they are too likely to be ordinary text (a key `abc`
    /// would cut every `abc` out of every output), and guessing them is no harder for being
    /// hidden. Keys that short are kept away from tools by the environment they get instead.
    pub const MIN_LEN: usize = 6;

    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .flat_map(|value| {
                let trimmed = value.trim().to_string();
                [value, trimmed]
            })
            .filter(|value| value.len() >= Self::MIN_LEN)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Self { values }
    }

    /// `text` with every occurrence of every secret replaced by [`MARK`].
    pub fn redact(&self, text: String) -> String {
        let mut text = text;
        for value in &self.values {
            if text.contains(value.as_str()) {
                text = text.replace(value.as_str(), MARK);
            }
        }
        text
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_queries_and_fragments() {
        let cases = [
            ("https://api.openai.com/v1", "https://api.openai.com/v1"),
            (
                "https://user:sk-secret@proxy.example:8443/v1?key=sk-two#frag",
                "https://proxy.example:8443/v1",
            ),
            ("http://token@127.0.0.1:11434", "http://127.0.0.1:11434"),
            ("user:pw@host/v1", "host/v1"),
            ("http://h/v1/a@b", "http://h/v1/a@b"),
            ("", ""),
        ];
        for (given, expected) in cases {
            assert_eq!(url(given), expected, "{given}");
        }
    }

    #[test]
    fn the_secret_parts_of_a_url_are_found_as_written_and_decoded() {
        let found = url_secrets("http://user:p%40ssword@h:1/v1?token=ab%2Fcd&api-version=2024#x");
        for part in ["p%40ssword", "p@ssword", "ab%2Fcd", "ab/cd", "2024"] {
            assert!(found.iter().any(|f| f == part), "{part} in {found:?}");
        }
        assert!(
            !found.iter().any(|f| f == "user" || f == "h:1"),
            "{found:?}"
        );
        let found = url_secrets("https://sk-lone-token@h/v1");
        assert!(found.iter().any(|f| f == "sk-lone-token"), "{found:?}");
        assert!(url_secrets("https://h/v1").iter().all(String::is_empty));
    }

    #[test]
    fn secrets_are_cut_out_longest_first_and_short_ones_left() {
        let secrets = Secrets::new(["sk-abcdef".to_string(), "sk-abcdef-longer".to_string()]);
        assert_eq!(
            secrets.redact("a sk-abcdef-longer b sk-abcdef c".to_string()),
            "a [redacted] b [redacted] c"
        );
        let padded = Secrets::new(["  sk-padded\n".to_string()]);
        assert_eq!(padded.redact("=sk-padded;".to_string()), "=[redacted];");
        let short = Secrets::new(["abc".to_string(), String::new()]);
        assert_eq!(format!("{short:?}"), "Secrets(0 values)");
        assert_eq!(short.redact("abc".to_string()), "abc");
        assert_eq!(format!("{secrets:?}"), "Secrets(2 values)");
    }
}
