//! Where an Ollama server is: Ollama speaks the OpenAI protocol under `/v1`, so the `ollama`
//! provider is the OpenAI-compatible one at the base URL worked out here, with no key.

use crate::config::model::ProviderConfig;

/// The OpenAI base URL of the Ollama server that `configured` (a crew's `provider_url` or
/// `base_url`) names, else `$OLLAMA_HOST` (`host_env`), else `http://localhost:11434`:
/// `http://gpu:11434` becomes `http://gpu:11434/v1`. A value without a scheme is read as
/// Ollama reads `OLLAMA_HOST`: `gpu` is `http://gpu:11434`.
pub fn base_url(configured: Option<&str>, host_env: Option<&str>) -> String {
    let given = |v: &&str| !v.trim().is_empty();
    let raw = configured
        .filter(given)
        .or(host_env.filter(given))
        .unwrap_or(ProviderConfig::OLLAMA_BASE_URL)
        .trim()
        .trim_end_matches('/');
    let url = if raw.contains("://") {
        raw.to_string()
    } else {
        let authority = raw.split('/').next().unwrap_or_default();
        let has_port = !authority.ends_with(']')
            && authority.rsplit_once(':').is_some_and(|(_, port)| {
                !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
            });
        let (authority, path) = raw.split_at(authority.len());
        let port = if has_port { "" } else { ":11434" };
        format!("http://{authority}{port}{path}")
    };
    if url.ends_with("/v1") {
        url
    } else {
        format!("{url}/v1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_the_crew_s_url_else_ollama_host_else_local_and_always_under_v1() {
        let cases = [
            (
                Some("http://localhost:11434"),
                None,
                "http://localhost:11434/v1",
            ),
            (
                Some("http://gpu:8080/"),
                Some("other:1"),
                "http://gpu:8080/v1",
            ),
            (
                Some("https://llm.example/ollama/v1"),
                None,
                "https://llm.example/ollama/v1",
            ),
            (Some("gpu-box:11500"), None, "http://gpu-box:11500/v1"),
            (None, Some("0.0.0.0"), "http://0.0.0.0:11434/v1"),
            (None, Some("[::1]"), "http://[::1]:11434/v1"),
            (None, Some("[::1]:9000"), "http://[::1]:9000/v1"),
            (
                Some(" "),
                Some("http://127.0.0.1:9/"),
                "http://127.0.0.1:9/v1",
            ),
            (None, None, "http://localhost:11434/v1"),
            (None, Some(""), "http://localhost:11434/v1"),
        ];
        for (configured, env, expected) in cases {
            assert_eq!(
                base_url(configured, env),
                expected,
                "{configured:?} {env:?}"
            );
        }
    }
}
