//! Real SSE captures from OpenAI, Azure, DeepSeek, Gemini, Groq, llama.cpp, Mistral, Ollama,
//! OpenRouter, Together and vLLM (`../shared/fixtures/sse`, described in its INDEX.md), served
//! by the fake server whole, a byte at a time and cut at pseudo-random places, each checked
//! against what a reader of the capture expects: text, reasoning, tool calls, usage, errors.

#[path = "common/fake_openai.rs"]
mod fake_openai;

use std::path::{Path, PathBuf};

use crewtui::config::model::Settings;
use crewtui::provider::{Provider, Usage};
use fake_openai::{FakeServer, Reply, Streamed, collect, provider, request};
use serde_json::Value;

enum Txt {
    Exact(&'static str),
    /// Long texts: their length in characters and how they begin and end.
    Long {
        chars: usize,
        starts: &'static str,
        ends: &'static str,
    },
}

use Txt::{Exact, Long};

enum Ending {
    Done {
        finish: &'static str,
        usage: Option<(u64, u64)>,
    },
    Failed {
        status: Option<u16>,
        says: &'static str,
    },
}

use Ending::{Done, Failed};

struct Expect {
    file: &'static str,
    text: Txt,
    reasoning: Txt,
    /// Name, id as the server sent it (`None`: it sent none, one is made up), arguments.
    calls: &'static [(&'static str, Option<&'static str>, &'static str)],
    ending: Ending,
}

const NO_CALLS: &[(&str, Option<&str>, &str)] = &[];

fn expectations() -> Vec<Expect> {
    vec![
        Expect {
            file: "azure__model-router-content-filter-results.sse",
            text: Exact("Capital of Denmark."),
            reasoning: Exact(""),
            calls: NO_CALLS,
            // No [DONE] in the capture, but a finish reason: a whole reply.
            ending: Done {
                finish: "stop",
                usage: Some((15, 78)),
            },
        },
        Expect {
            file: "azure__tool-call-prompt-filter-first-chunk.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[(
                "weather",
                Some("call_tWA8BJziGlCyhQEXhEHn6eXK"),
                r#"{"location":"Florence, Italy"}"#,
            )],
            ending: Done {
                finish: "tool_calls",
                usage: Some((145, 154)),
            },
        },
        Expect {
            file: "deepseek__reasoner-reasoning-content.sse",
            text: Exact("Hello there! 😊 How can I help you today?"),
            reasoning: Long {
                chars: 882,
                starts: "Hmm, the user just said \"Hello\". It's a ",
                ends: "not reply further - and that's okay too.",
            },
            calls: NO_CALLS,
            ending: Done {
                finish: "stop",
                usage: Some((6, 212)),
            },
        },
        Expect {
            file: "deepseek__tool-call-args-split.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[(
                "weather",
                Some("call_00_MRi7F2sfOet5LgvlZL3W5236"),
                r#"{"latitude":"52.5200","longitude":"13.4050"}"#,
            )],
            ending: Done {
                finish: "tool_calls",
                usage: Some((348, 65)),
            },
        },
        Expect {
            file: "gemini__text-no-id-usage-every-chunk.sse",
            text: Exact("Hello there! How can I help you today?\n"),
            reasoning: Exact(""),
            calls: NO_CALLS,
            // Usage rides on every chunk; the last one holds the final figures.
            ending: Done {
                finish: "stop",
                usage: Some((3, 11)),
            },
        },
        Expect {
            file: "gemini__tool-call-no-index-empty-id-finish-stop.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[("return_bool", None, r#"{"value":true}"#)],
            ending: Done {
                finish: "stop",
                usage: Some((8, 4)),
            },
        },
        Expect {
            file: "groq__midstream-error-event-tool-use-failed.sse",
            text: Exact(""),
            reasoning: Long {
                chars: 412,
                starts: "We need to call the tool with invalid pa",
                ends: "d call with name: \"test\". Let's do that.",
            },
            calls: NO_CALLS,
            ending: Failed {
                status: Some(400),
                says: "Tool call validation failed: tool call validation failed: parameters for tool get_something_by_name did not match schema",
            },
        },
        Expect {
            file: "groq__parallel-tool-calls-x-groq-usage.sse",
            text: Exact(
                "I'll perform both addition and multiplication on the numbers 2 and 3 for you.",
            ),
            reasoning: Exact(""),
            calls: &[
                ("add", Some("functions.add:0"), r#"{"a":2,"b":3}"#),
                ("multiply", Some("functions.multiply:1"), r#"{"a":2,"b":3}"#),
            ],
            ending: Done {
                finish: "tool_calls",
                usage: Some((201, 58)),
            },
        },
        Expect {
            file: "llamacpp__reasoning-tool-call-usage-timings.sse",
            text: Exact(""),
            reasoning: Exact(
                "User wants weather in Florence, Italy. We can use the weather function.",
            ),
            calls: &[(
                "weather",
                Some("g2KOIWzn722hzEaZQmNVP4roUPEiYafL"),
                r#"{"location":"Florence, Italy"}"#,
            )],
            ending: Done {
                finish: "tool_calls",
                usage: Some((139, 41)),
            },
        },
        Expect {
            file: "mistral__magistral-thinking-content-array.sse",
            text: Long {
                chars: 607,
                starts: "To cross the street safely, follow these",
                ends: "e steps, you can ensure a safe crossing.",
            },
            reasoning: Long {
                chars: 421,
                starts: "Okay, the user is asking how to cross th",
                ends: "ation into a clear and concise response.",
            },
            calls: NO_CALLS,
            ending: Done {
                finish: "stop",
                usage: Some((10, 232)),
            },
        },
        Expect {
            file: "mistral__parallel-tool-calls-no-index-single-chunk.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[
                ("plus", Some("nqjf8Hqe1"), r#"{"a": 1, "b": 2}"#),
                ("minus", Some("ATcpCKul3"), r#"{"a": 2, "b": 1}"#),
            ],
            ending: Done {
                finish: "tool_calls",
                usage: Some((187, 45)),
            },
        },
        Expect {
            file: "ollama__parallel-tool-calls-from-debug-notes.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[
                ("run_command", Some("call_wteop8bt"), r#"{"command":"ls"}"#),
                (
                    "run_command",
                    Some("call_rk2xye1l"),
                    r#"{"command":"ls -l"}"#,
                ),
            ],
            ending: Done {
                finish: "tool_calls",
                usage: None,
            },
        },
        Expect {
            file: "ollama__qwen3-reasoning-tool-call-include-usage.sse",
            text: Exact(""),
            reasoning: Long {
                chars: 439,
                starts: "Okay, the user is asking for the weather",
                ends: "as strings. Alright, that should do it.\n",
            },
            calls: &[(
                "weather",
                Some("call_blqyt530"),
                r#"{"latitude":"52.5200","longitude":"13.4050"}"#,
            )],
            ending: Done {
                finish: "tool_calls",
                usage: Some((195, 140)),
            },
        },
        Expect {
            file: "ollama__tool-call-no-index-legacy-2024.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[("return_bool", Some("call_kve3oltz"), r#"{"value":true}"#)],
            ending: Done {
                finish: "stop",
                usage: None,
            },
        },
        Expect {
            file: "openai__gpt5-obfuscation-moderation-chunk.sse",
            text: Exact("Paris."),
            reasoning: Exact(""),
            calls: NO_CALLS,
            // The moderation chunk after the usage chunk has `usage: null`: the figures stay.
            ending: Done {
                finish: "stop",
                usage: Some((13, 11)),
            },
        },
        Expect {
            file: "openai__n3-multiple-choices.sse",
            // Choice 0 only; choices 1 and 2 differ in the temperature.
            text: Exact(r#"{"city":"San Francisco","temperature":65,"units":"f"}"#),
            reasoning: Exact(""),
            calls: NO_CALLS,
            ending: Done {
                finish: "stop",
                usage: Some((79, 42)),
            },
        },
        Expect {
            file: "openai__parallel-tool-calls.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[
                (
                    "GetWeatherArgs",
                    Some("call_JMW1whyEaYG438VE1OIflxA2"),
                    r#"{"city": "Edinburgh", "country": "GB", "units": "c"}"#,
                ),
                (
                    "get_stock_price",
                    Some("call_DNYTawLBoN8fj3KN6qU9N1Ou"),
                    r#"{"ticker": "AAPL", "exchange": "NASDAQ"}"#,
                ),
            ],
            ending: Done {
                finish: "tool_calls",
                usage: Some((149, 60)),
            },
        },
        Expect {
            file: "openai__refusal-deltas.sse",
            // A refusal is shown as the reply.
            text: Exact("I'm sorry, I can't assist with that request."),
            reasoning: Exact(""),
            calls: NO_CALLS,
            ending: Done {
                finish: "stop",
                usage: Some((79, 11)),
            },
        },
        Expect {
            file: "openai__single-tool-call-args-split.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[(
                "GetWeatherArgs",
                Some("call_c91SqDXlYFuETYv8mUHzz6pp"),
                r#"{"city":"Edinburgh","country":"UK","units":"c"}"#,
            )],
            ending: Done {
                finish: "tool_calls",
                usage: Some((76, 24)),
            },
        },
        Expect {
            file: "openai__text-with-include-usage.sse",
            text: Exact(
                "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app.",
            ),
            reasoning: Exact(""),
            calls: NO_CALLS,
            ending: Done {
                finish: "stop",
                usage: Some((14, 30)),
            },
        },
        Expect {
            file: "openrouter__parallel-tool-calls-processing-comments.sse",
            text: Exact(""),
            reasoning: Exact(""),
            calls: &[
                (
                    "add",
                    Some("call_8I6muAnyFaBjKyotk1gPRTwU"),
                    r#"{"a":2,"b":3}"#,
                ),
                (
                    "multiply",
                    Some("call_pKAAv6bKX2qLYJ85RW4Hxqfp"),
                    r#"{"a":2,"b":3}"#,
                ),
            ],
            ending: Done {
                finish: "tool_calls",
                usage: Some((109, 54)),
            },
        },
        Expect {
            file: "openrouter__processing-comments-midstream-error.sse",
            text: Exact(""),
            reasoning: Exact("We need to respond to a greeting. The user"),
            calls: NO_CALLS,
            ending: Failed {
                status: Some(400),
                says: "mid-stream: Token limit reached (400)",
            },
        },
        Expect {
            file: "together__hf-router-deepseek-r1-think-tags.sse",
            // The inline <think> block is reasoning; the whitespace after it is dropped.
            text: Long {
                chars: 2556,
                starts: "Crossing the street safely requires atte",
                ends: "ps every time—it could save your life! 🌟",
            },
            reasoning: Long {
                chars: 1430,
                starts: "\nOkay, the user asked \"How do I cross th",
                ends: " but don't sound like a paranoid robot.\n",
            },
            calls: NO_CALLS,
            ending: Done {
                finish: "stop",
                usage: Some((10, 955)),
            },
        },
        Expect {
            file: "vllm__crusoe-cloud-text-token-ids.sse",
            text: Exact("1, 2, 3, 4, 5"),
            reasoning: Exact(""),
            calls: NO_CALLS,
            ending: Done {
                finish: "stop",
                usage: Some((46, 14)),
            },
        },
    ]
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/sse")
}

fn check_text(file: &str, what: &str, got: &str, want: &Txt) {
    match want {
        Exact(want) => assert_eq!(got, *want, "{file}: {what}"),
        Long {
            chars,
            starts,
            ends,
        } => {
            assert_eq!(
                got.chars().count(),
                *chars,
                "{file}: {what} length: {got:?}"
            );
            assert!(got.starts_with(starts), "{file}: {what} starts {got:?}");
            assert!(got.ends_with(ends), "{file}: {what} ends {got:?}");
        }
    }
}

fn check(expect: &Expect, got: &Streamed) {
    let file = expect.file;
    check_text(file, "text", &got.text, &expect.text);
    check_text(file, "reasoning", &got.reasoning, &expect.reasoning);
    let calls: Vec<(String, Value)> = got.calls();
    let want: Vec<(String, Value)> = expect
        .calls
        .iter()
        .map(|(name, _, args)| (name.to_string(), serde_json::from_str(args).unwrap()))
        .collect();
    assert_eq!(calls, want, "{file}: tool calls");
    for (call, (_, id, _)) in got.calls.iter().zip(expect.calls) {
        match id {
            Some(id) => assert_eq!(call.id, *id, "{file}"),
            None => assert!(
                call.id.starts_with("call_"),
                "{file}: made-up id {}",
                call.id
            ),
        }
    }
    match &expect.ending {
        Done { finish, usage } => {
            assert_eq!(got.error, None, "{file}");
            let usage = usage.map(|(p, c)| Usage {
                prompt_tokens: p,
                completion_tokens: c,
                cached_tokens: 0,
            });
            assert_eq!(
                got.done,
                Some((Some(finish.to_string()), usage, false)),
                "{file}"
            );
        }
        Failed { status, says } => {
            assert_eq!(got.done, None, "{file}");
            let error = got
                .error
                .as_ref()
                .unwrap_or_else(|| panic!("{file}: no error"));
            assert_eq!(error.status, *status, "{file}");
            assert!(error.message.contains(says), "{file}: {}", error.message);
        }
    }
}

/// A stable digest of a result, to compare chunkings with each other.
fn digest(got: &Streamed) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}",
        got.text,
        got.reasoning,
        got.calls()
            .iter()
            .map(|(n, a)| format!("{n}{a}"))
            .collect::<Vec<_>>(),
        got.done,
        got.error
            .as_ref()
            .map(|e| (&e.message, e.status, e.retryable)),
    )
}

/// Several ways to cut a body: whole, a byte at a time, and pseudo-random sizes (fixed seeds,
/// so a failure can be reproduced).
fn chunkings(file: &str, body: &[u8]) -> Vec<(String, Reply)> {
    let mut out = vec![
        ("whole".to_string(), Reply::sse(body.to_vec())),
        ("1-byte".to_string(), Reply::sse(body.to_vec()).cut(&[1])),
    ];
    for seed in 1..=3u64 {
        let mut rng = fastrand::Rng::with_seed(seed * 7919 + file.len() as u64);
        let sizes: Vec<usize> = (0..97)
            .map(|_| rng.usize(1..=(seed as usize * 60)))
            .collect();
        out.push((
            format!("seed {seed}"),
            Reply::sse(body.to_vec()).cut(&sizes),
        ));
    }
    out
}

#[tokio::test]
async fn every_capture_decodes_as_expected_however_it_is_cut() {
    let dir = fixtures_dir();
    if !dir.is_dir() {
        println!("skipping: {} is absent", dir.display());
        return;
    }
    let expectations = expectations();
    // Every capture in the folder has its expectations written here, and the other way round.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".sse"))
        .collect();
    files.sort();
    let mut named: Vec<String> = expectations.iter().map(|e| e.file.to_string()).collect();
    named.sort();
    assert_eq!(
        files, named,
        "fixtures without expectations, or the reverse"
    );

    let settings = Settings {
        max_retries: 0,
        ..Settings::default()
    };
    for expect in &expectations {
        let body = std::fs::read(dir.join(expect.file)).unwrap();
        let cuts = chunkings(expect.file, &body);
        let names: Vec<String> = cuts.iter().map(|(n, _)| n.clone()).collect();
        // One server for all the cuts of a file, so error messages (which name the address)
        // compare equal.
        let server = FakeServer::start(cuts.into_iter().map(|(_, r)| r).collect()).await;
        let p = provider(&server, None, &settings);
        let mut first: Option<String> = None;
        for name in names {
            let got = collect(p.stream(request("hi"))).await;
            check(expect, &got);
            let digest = digest(&got);
            match &first {
                None => first = Some(digest),
                Some(whole) => {
                    assert_eq!(&digest, whole, "{}: {name} differs from whole", expect.file)
                }
            }
        }
    }
}

#[tokio::test]
async fn a_capture_with_crlf_line_endings_decodes_the_same() {
    let dir = fixtures_dir();
    if !dir.is_dir() {
        println!("skipping: {} is absent", dir.display());
        return;
    }
    let settings = Settings::default();
    for expect in expectations()
        .iter()
        .filter(|e| e.file.starts_with("openai__parallel") || e.file.starts_with("openrouter__"))
    {
        let body = std::fs::read(dir.join(expect.file)).unwrap();
        let text = String::from_utf8(body).unwrap().replace('\n', "\r\n");
        let server = FakeServer::start(vec![Reply::sse(text.into_bytes()).cut(&[3, 1, 2])]).await;
        let got = collect(provider(&server, None, &settings).stream(request("hi"))).await;
        check(expect, &got);
    }
}
