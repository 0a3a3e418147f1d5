//! Unit tests of crew loading from text: defaults, value spellings, the route checks, and the
//! bounds on nesting. Fixture files and exact diagnostics are in `tests/config.rs`.

use std::path::Path;

use super::model::{Crew, ProviderConfig, Settings};
use super::{CrewReport, Diagnostic, Severity, load_crew_str};

fn load(text: &str) -> CrewReport {
    load_crew_str(text, Path::new("/crews/demo.yaml"), Path::new("/crews"))
}

fn crew(text: &str) -> Crew {
    let report = load(text);
    assert!(!report.has_errors(), "{:#?}", report.diagnostics);
    report.crew.expect("a crew when there are no errors")
}

/// `(line, column, field, message)` of each diagnostic, for compact assertions.
fn brief(report: &CrewReport) -> Vec<(u32, u32, String, String)> {
    let d = &report.diagnostics;
    d.iter()
        .map(|d| (d.line, d.column, d.field.clone(), d.message.clone()))
        .collect()
}

#[test]
fn defaults_follow_go_agentic() {
    let c = crew(
        "agents:\n  - id: a\n    model: m\n    handoff_targets: [b]\n  - id: b\n    model: m\n\
         routing:\n  parallel_groups:\n    g:\n      agents: [a]\n",
    );
    assert_eq!(c.name, "demo");
    assert_eq!(c.entry_point, "a");
    assert_eq!(c.input, None);
    let s = &c.settings;
    assert_eq!(s.max_handoffs, 5);
    assert_eq!(s.max_rounds, 10);
    assert_eq!(s.timeout_seconds, 300);
    assert_eq!(s.tool_timeout_seconds, 30);
    assert_eq!(s.scripted_tokens_per_second, 40.0);
    assert_eq!(s.tool_output_limit, 16384);
    assert_eq!(s.files_root, Path::new("/crews"));
    let defaults = Settings::default();
    assert_eq!(s.max_retries, defaults.max_retries);
    assert_eq!(s.stream_idle_timeout_seconds, 60);
    let a = &c.agents[0];
    assert_eq!((a.name.as_str(), a.provider.as_str()), ("a", "openai"));
    assert_eq!(a.temperature, 0.7);
    assert!(!a.is_terminal && a.tools.is_empty() && a.script.is_empty());
    let g = &c.routing.parallel_groups["g"];
    assert!(g.wait_for_all);
    assert_eq!((g.timeout_seconds, g.next_agent.as_deref()), (300, None));
}

#[test]
fn group_timeout_defaults_to_the_crew_timeout_wherever_settings_are() {
    let c = crew(
        "routing:\n  parallel_groups:\n    g: {agents: [a]}\nagents:\n  - {id: a, provider: scripted}\n\
         settings: {timeout_seconds: 42, files_root: sub}\n",
    );
    assert_eq!(c.routing.parallel_groups["g"].timeout_seconds, 42);
    assert_eq!(c.settings.files_root, Path::new("/crews/sub"));
}

#[test]
fn providers_have_defaults_and_implicit_ones_need_no_declaration() {
    let c = crew(
        "providers:\n  local: {base_url: 'http://h/v1'}\n  bare: {kind: openai}\n\
         agents:\n  - {id: a, provider: local, model: m, handoff_targets: [b]}\n  \
         - {id: b, provider: scripted}\n",
    );
    let local = ProviderConfig::OpenAi {
        base_url: "http://h/v1".into(),
        api_key_env: None,
    };
    assert_eq!(c.providers["local"], local);
    let bare = ProviderConfig::OpenAi {
        base_url: ProviderConfig::OPENAI_BASE_URL.into(),
        api_key_env: None,
    };
    assert_eq!(c.providers["bare"], bare);
    assert!(!c.providers.contains_key("scripted"));
}

#[test]
fn scalars_keep_their_spelling_and_booleans_accept_yaml_1_1_words() {
    let c = crew(
        "version: 1.0\nagents:\n  - {id: y, name: 42, provider: scripted, handoff_targets: [n]}\n  \
         - {id: n, provider: scripted, is_terminal: yes}\nrouting:\n  agent_behaviors:\n    \
         y: {wait_for_signal: Off}\n",
    );
    assert_eq!(c.agents[0].id, "y");
    assert_eq!(c.agents[0].name, "42");
    assert!(c.agents[1].is_terminal);
    assert!(!c.waits_for_signal("y"));
}

#[test]
fn null_values_read_as_absent() {
    let c = crew(
        "description:
settings:
agents:
  - id: a
    provider: scripted
    tools:
    script:
",
    );
    assert_eq!(c.description, "");
    assert_eq!(c.settings.max_handoffs, 5);
    assert!(c.agents[0].tools.is_empty() && c.agents[0].script.is_empty());
}

#[test]
fn scripted_call_without_arguments_gets_an_empty_object() {
    let c = crew(
        "agents:\n  - id: a\n    provider: scripted\n    tools: [fault]\n    script:\n      \
         - tool_calls: [{tool: fault, arguments: ~}, {tool: fault}]\n",
    );
    let calls = &c.agents[0].script[0].tool_calls;
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.arguments == serde_json::json!({})));
}

#[test]
fn in_memory_crews_cannot_list_agent_ids() {
    let report = load("agents: [a]\n");
    assert_eq!(report.errors().count(), 1);
    assert!(brief(&report)[0].3.contains("directory layout"));
}

#[test]
fn display_names_file_position_severity_and_field() {
    let d = Diagnostic {
        severity: Severity::Warning,
        file: "c.yaml".into(),
        line: 3,
        column: 7,
        field: "agents[0].verbose".into(),
        message: "unknown key `verbose` (ignored)".into(),
    };
    assert_eq!(
        d.to_string(),
        "c.yaml:3:7: warning: agents[0].verbose: unknown key `verbose` (ignored)"
    );
    let d = Diagnostic {
        severity: Severity::Error,
        field: String::new(),
        message: "unclosed quote".into(),
        ..d
    };
    assert_eq!(d.to_string(), "c.yaml:3:7: error: unclosed quote");
}

#[test]
fn diagnostics_are_sorted_and_the_crew_is_withheld_on_errors() {
    let report = load("agents:\n  - {id: a, provider: scripted, tools: [zz]}\nzzz: 1\nname: [x]\n");
    let positions: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| (d.line, d.column))
        .collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
    assert!(report.crew.is_none());
    // The unknown tool and the unknown key; the name of the wrong type.
    assert_eq!(report.warnings().count(), 2);
    assert_eq!(report.errors().count(), 1);
}

#[test]
fn a_self_loop_and_a_chain_into_a_cycle_give_one_warning_each_cycle() {
    let report = load(
        "agents:\n  - {id: a, provider: scripted, handoff_targets: [b]}\n  \
         - {id: b, provider: scripted, handoff_targets: [c]}\n  \
         - {id: c, provider: scripted, handoff_targets: [c]}\n",
    );
    let warnings: Vec<_> = report.warnings().map(|d| d.message.clone()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("`c → c`"), "{warnings:?}");
    assert_eq!(brief(&report)[0].2, "agents[2].handoff_targets[0]");
}

#[test]
fn a_chain_of_loops_gets_one_warning_per_loop_each_named_from_its_first_agent() {
    // a0 ⇄ b0 → a1 ⇄ b1 → a2 ⇄ b2 ↺: three strongly connected parts, none with a way out.
    let mut text = String::from("agents:\n");
    for i in 0..3 {
        let next = if i < 2 {
            format!(", a{}", i + 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  - {{id: a{i}, provider: scripted, handoff_targets: [b{i}{next}]}}\n  \
             - {{id: b{i}, provider: scripted, handoff_targets: [a{i}]}}\n"
        ));
    }
    let report = load(&text);
    let warnings: Vec<_> = report.warnings().map(|d| d.message.clone()).collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    for (i, warning) in warnings.iter().enumerate() {
        assert!(
            warning.contains(&format!("`a{i} → b{i} → a{i}`")),
            "{warnings:?}"
        );
    }
}

#[test]
fn a_group_member_is_reached_but_its_own_routes_are_not_taken_in_the_group() {
    // `w` ends the run on its own (no handoff target), but in the group the run goes on to
    // `a` regardless, so the loop a → g → a has no way out.
    let report = load(
        "agents:\n  - {id: a, provider: scripted, handoff_targets: [a2]}\n  \
         - {id: a2, provider: scripted, handoff_targets: [a]}\n  - {id: w, provider: scripted}\n\
         routing:\n  signals:\n    a: [{signal: X, target: g}]\n  \
         parallel_groups:\n    g: {agents: [w], next_agent: a}\n",
    );
    let warnings: Vec<_> = report.warnings().map(|d| d.message.clone()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("`a → g → a`"), "{warnings:?}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // The default stack of a spawned thread: a parser or walker that recursed once per level
    // would overflow it long before 100 000 levels.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let mut results = Vec::new();
            for depth in [super::node::MAX_DEPTH + 1, 100_000] {
                let flow = format!("agents: {}{}", "[".repeat(depth), "]".repeat(depth));
                let block = format!("agents:\n{}x\n", "- ".repeat(depth));
                for text in [flow, block] {
                    results.push(load(&text).has_errors());
                }
            }
            results
        })
        .expect("spawn a thread");
    let results = handle.join().expect("no stack overflow or panic");
    assert!(results.iter().all(|&has_errors| has_errors));
}

#[test]
fn a_crew_past_the_parsers_budget_says_which_limit_in_words() {
    let text = format!("agents: [{}]\n", "0,".repeat(250_001));
    let report = load(&text);
    let (_, _, field, message) = &brief(&report)[0];
    assert!(field.is_empty());
    assert_eq!(
        message,
        "the crew file is too large: more than 250000 YAML nodes (parser limit)"
    );
}

#[test]
fn syntax_error_messages_are_one_line_without_positions() {
    let report = load("a: 1\na: 2\n");
    assert_eq!(
        brief(&report),
        [(2, 1, String::new(), "duplicate key `a`".into())]
    );
    let report = load("agents:\n  - id: 'open\n");
    let (_, _, field, message) = &brief(&report)[0];
    assert!(field.is_empty() && !message.contains('\n') && !message.contains("line"));
}

#[test]
fn provider_values_are_checked_and_a_pasted_key_is_never_echoed() {
    let report = load(
        "providers:\n  bad:\n    base_url: localhost:1\n    api_key_env: sk-secret-123\n  \
         bare:\nagents:\n  - {id: a, provider: bare, model: m}\n",
    );
    let found = brief(&report);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(
        (found[0].0, found[0].2.as_str()),
        (3, "providers.bad.base_url")
    );
    assert!(found[0].3.contains("not an http:// or https:// URL"));
    assert_eq!(
        (found[1].0, found[1].2.as_str()),
        (4, "providers.bad.api_key_env")
    );
    assert!(
        report
            .diagnostics
            .iter()
            .all(|d| !d.to_string().contains("sk-secret"))
    );
}

#[test]
fn null_tools_and_groups_are_missing_their_required_keys() {
    let report = load(
        "tools:\n  shout:\nrouting:\n  parallel_groups:\n    team:\n\
         agents:\n  - {id: a, provider: scripted}\n",
    );
    let found = brief(&report);
    let expected = [
        (
            2,
            3,
            "tools.shout".to_string(),
            "missing required key `command`".to_string(),
        ),
        (
            5,
            5,
            "routing.parallel_groups.team".into(),
            "missing required key `agents`".into(),
        ),
    ];
    assert_eq!(found, expected);
}

#[test]
fn a_command_tool_is_never_handed_a_key_variable() {
    let report = load(
        "providers:\n  p: {base_url: 'http://h/v1', api_key_env: MY_KEY}\ntools:\n  t:\n    \
         command: sh\n    env: [MY_KEY, OPENAI_API_KEY, GOOD_NAME, 1BAD, 'A=B']\n\
         agents:\n  - {id: a, provider: scripted, tools: [t]}\n",
    );
    let found = brief(&report);
    let at = |column: u32, index: usize| (6, column, format!("tools.t.env[{index}]"));
    let expected = [
        (
            at(11, 0),
            "command tool `t` cannot be given MY_KEY: it holds a provider's API key",
        ),
        (at(19, 1), "command tool `t` cannot be given OPENAI_API_KEY"),
        (
            at(46, 3),
            "`1BAD` is not the name of an environment variable",
        ),
        (
            at(52, 4),
            "`A=B` is not the name of an environment variable",
        ),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((line, column, field, message), ((l, c, f), needle)) in found.iter().zip(expected) {
        assert_eq!(
            (*line, *column, field.as_str()),
            (l, c, f.as_str()),
            "{message}"
        );
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
    let fine = crew(
        "tools:\n  t: {command: sh, env: [GOOD_NAME]}\nagents:\n  - {id: a, provider: scripted}\n",
    );
    assert_eq!(fine.tools["t"].env, ["GOOD_NAME"]);
    assert_eq!(
        fine.key_variables().into_iter().collect::<Vec<_>>(),
        ["OPENAI_API_KEY"]
    );
}

#[test]
fn a_bad_base_url_is_shown_without_its_credentials() {
    let report = load(
        "providers:\n  p: {base_url: 'ftp://me:pw-secret-1@h/v1?token=tk-secret-2'}\n\
         agents:\n  - {id: a, provider: p, model: m}\n",
    );
    let shown: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(
        shown[0].contains("`ftp://h/v1` is not an http:// or https:// URL"),
        "{shown:?}"
    );
    assert!(!shown[0].contains("secret"), "{shown:?}");
}

#[test]
fn tool_calls_per_turn_have_a_cap() {
    assert_eq!(
        crew("agents:\n  - {id: a, provider: scripted}\n")
            .settings
            .max_tool_calls_per_turn,
        64
    );
    let c =
        crew("settings: {max_tool_calls_per_turn: 3}\nagents:\n  - {id: a, provider: scripted}\n");
    assert_eq!(c.settings.max_tool_calls_per_turn, 3);
}

#[test]
fn go_agentic_settings_with_a_meaning_are_used_and_crewtui_s_own_keys_win() {
    let c = crew(
        "settings:\n  parallel_timeout_seconds: 45\n  max_tokens_per_call: 400\n  \
         tool_execution_timeout_seconds: 9\n  max_tokens_per_day: 5000\n  max_cost_per_day: 2.5\n\
         routing:\n  parallel_groups:\n    g: {agents: [a]}\n    h: {agents: [a], timeout_seconds: 5}\n\
         agents:\n  - {id: a, model: m, max_tokens: 64}\n  - {id: b, model: m}\n  \
         - {id: c, model: m, cost_limits: {max_tokens_per_call: 128}}\n",
    );
    let groups = &c.routing.parallel_groups;
    assert_eq!(
        (groups["g"].timeout_seconds, groups["h"].timeout_seconds),
        (45, 5)
    );
    let max_tokens: Vec<_> = c.agents.iter().map(|a| a.max_tokens).collect();
    assert_eq!(max_tokens, [Some(64), Some(400), Some(128)]);
    let s = &c.settings;
    assert_eq!(s.tool_timeout_seconds, 9);
    assert_eq!((s.max_tokens, s.max_cost_usd), (Some(5000), Some(2.5)));

    let report = load(
        "settings: {tool_timeout_seconds: 3, tool_execution_timeout_seconds: 9}\n\
         agents: [{id: a, provider: scripted}]\n",
    );
    assert_eq!(
        report.crew.as_ref().unwrap().settings.tool_timeout_seconds,
        3
    );
    assert_eq!(
        brief(&report),
        [(
            1,
            69,
            "settings.tool_execution_timeout_seconds".to_string(),
            "ignored: `tool_timeout_seconds` is given too, and crewtui's own key wins".to_string()
        )]
    );
}

#[test]
fn go_agentic_per_agent_quotas_are_the_agent_s_budget_and_crewtui_s_own_keys_win() {
    let report = load(
        "agents:\n  \
         - {id: a, model: m, cost_limits: {max_tokens_per_day: 900, max_cost_per_day_usd: 0.5}}\n  \
         - {id: b, model: m, max_tokens_per_day: 800, max_cost_per_day: 0.25}\n  \
         - {id: c, model: m, budget: {max_tokens: 70}, cost_limits: {max_tokens_per_day: 700, max_cost_per_day_usd: 0.75}}\n  \
         - {id: d, model: m, max_tokens_per_day: 600, cost_limits: {max_tokens_per_day: 650}}\n  \
         - {id: e, model: m, cost_limits: {max_tokens_per_day: 0, max_cost_per_day_usd: 0}}\n\
         settings: {max_tokens_per_day: 0, max_cost_per_day: 0}\n",
    );
    let c = report.crew.as_ref().expect("the crew loads");
    let budgets: Vec<(Option<u64>, Option<f64>)> = c
        .agents
        .iter()
        .map(|a| (a.budget.max_tokens, a.budget.max_cost_usd))
        .collect();
    assert_eq!(
        budgets,
        [
            (Some(900), Some(0.5)),
            (Some(800), Some(0.25)),
            // crewtui's own key wins, key by key: go-agentic's cost quota still counts.
            (Some(70), Some(0.75)),
            // go-agentic's nested key wins over its older flat one.
            (Some(650), None),
            // A 0 is Go's "not set": no limit, for an agent and for the run.
            (None, None),
        ]
    );
    assert!(c.settings.run_budget().is_unlimited(), "{:?}", c.settings);
    // The agents have no route between them, which is not what this is about.
    let mut said = brief(&report);
    said.retain(|(_, _, _, message)| !message.contains("is unreachable"));
    assert_eq!(
        said,
        [
            (
                4,
                83,
                "agents[2].cost_limits.max_tokens_per_day".to_string(),
                "ignored: `budget.max_tokens` is given too, and crewtui's own key wins".to_string()
            ),
            (
                5,
                43,
                "agents[3].max_tokens_per_day".to_string(),
                "ignored: `cost_limits.max_tokens_per_day` is given too, and wins".to_string()
            ),
        ]
    );
    // None of them is said to have no effect.
    assert_eq!(report.infos().count(), 0, "{:#?}", report.diagnostics);
}

#[test]
fn go_agentic_per_agent_prices_price_the_agent_s_model_on_its_provider() {
    let report = load(
        "prices:\n  own-priced: {input: 1, output: 2}\n\
         providers:\n  local: {base_url: \"http://127.0.0.1:1/v1\"}\n\
         agents:\n  \
         - id: a\n    primary: {model: tuned, provider: local}\n    \
           cost_limits: {input_token_price_per_million: 3, output_token_price_per_million: 12}\n  \
         - id: b\n    primary: {model: tuned, provider: local}\n    \
           cost_limits: {input_token_price_per_million: 5, output_token_price_per_million: 20}\n  \
         - id: c\n    model: own-priced\n    \
           cost_limits: {input_token_price_per_million: 7, output_token_price_per_million: 9}\n  \
         - id: d\n    model: half\n    cost_limits: {input_token_price_per_million: 4}\n",
    );
    let c = report.crew.as_ref().expect("the crew loads");
    let terms = crate::engine::run::Terms::for_crew(c);
    let price = |provider: &str, model: &str| {
        terms
            .price(Some(provider), model)
            .map(|p| (p.input, p.output))
    };
    // The first agent's price is the model's on its provider; the same model elsewhere, and
    // the second agent's other price, are not.
    assert_eq!(price("local", "tuned"), Some((3.0, 12.0)));
    assert_eq!(price("openai", "tuned"), None);
    assert_eq!(price("openai", "own-priced"), Some((1.0, 2.0)));
    assert_eq!(price("openai", "half"), None);
    let warnings: Vec<(String, String)> = report
        .warnings()
        .filter(|d| !d.message.contains("is unreachable"))
        .map(|d| (d.field.clone(), d.message.clone()))
        .collect();
    assert_eq!(
        warnings,
        [
            (
                "agents[1].cost_limits.input_token_price_per_million".to_string(),
                "ignored: agent `a` prices model `tuned` otherwise, and its price counts"
                    .to_string()
            ),
            (
                "agents[2].cost_limits.input_token_price_per_million".to_string(),
                "ignored: the crew's `prices` price model `own-priced` already, and crewtui's \
                 own key wins"
                    .to_string()
            ),
            (
                "agents[3].cost_limits.input_token_price_per_million".to_string(),
                "no effect: crewtui prices a model only with both \
                 `input_token_price_per_million` and `output_token_price_per_million`"
                    .to_string()
            ),
        ]
    );
    assert_eq!(report.infos().count(), 0, "{:#?}", report.diagnostics);
}

#[test]
fn a_go_agentic_key_without_effect_is_said_once_however_many_agents_have_it() {
    let agent = |id: &str| {
        format!("  - {{id: {id}, provider: scripted, logging: {{log_level: info}}, top_p: 1}}\n")
    };
    let report = load(&format!(
        "agents:\n{}{}{}",
        agent("a"),
        agent("b"),
        agent("c")
    ));
    let infos: Vec<String> = report.infos().map(|d| d.message.clone()).collect();
    assert_eq!(
        infos,
        ["go-agentic key `logging`, no effect in crewtui (and in 2 more places)"]
    );
    // A key go-agentic never defined is an unknown key, on every agent.
    let unknown = report
        .warnings()
        .filter(|d| d.message.contains("unknown key `top_p`"));
    assert_eq!(unknown.count(), 3);
    assert!(report.crew.is_some());
}

#[test]
fn primary_and_backup_name_providers_and_a_provider_url_makes_one() {
    let c = crew(
        "agents:\n  - id: a\n    primary: {model: llama3.2, provider: ollama, provider_url: \"http://gpu:11434\"}\n    \
         backup: {model: gpt-4o-mini, provider: openai, provider_url: \"https://proxy.example/v1\"}\n  \
         - id: b\n    provider: ollama\n    model: qwen\n    backup: {model: llama3.2, provider: ollama, provider_url: \"http://gpu:11434\"}\n",
    );
    let a = &c.agents[0];
    assert_eq!(
        (a.provider.as_str(), a.model.as_str()),
        ("ollama@gpu:11434", "llama3.2")
    );
    let backup = a.backup.as_ref().unwrap();
    assert_eq!(
        (backup.provider.as_str(), backup.model.as_str()),
        ("openai@proxy.example", "gpt-4o-mini")
    );
    assert_eq!(
        c.providers["ollama@gpu:11434"],
        ProviderConfig::Ollama {
            base_url: Some("http://gpu:11434".into())
        }
    );
    assert_eq!(
        c.providers["openai@proxy.example"],
        ProviderConfig::OpenAi {
            base_url: "https://proxy.example/v1".into(),
            api_key_env: Some("OPENAI_API_KEY".into()),
        }
    );
    // Without a URL the implicit ollama, found when the session starts; the same URL is one
    // provider.
    let b = &c.agents[1];
    assert_eq!(b.provider, "ollama");
    assert_eq!(b.backup.as_ref().unwrap().provider, "ollama@gpu:11434");
    assert_eq!(c.providers.len(), 2);
}

#[test]
fn an_agent_naming_no_model_gets_the_crew_default_with_a_warning() {
    let report = load(
        "settings: {default_model: qwen2.5}\nagents:\n  - {id: a, provider: ollama}\n  \
         - {id: b, primary: {provider: openai}}\n  - {id: c, provider: scripted}\n",
    );
    let c = report.crew.as_ref().expect("warnings only");
    let models: Vec<&str> = c.agents.iter().map(|a| a.model.as_str()).collect();
    assert_eq!(models, ["qwen2.5", "qwen2.5", ""]);
    let warned: Vec<String> = report
        .warnings()
        .filter(|d| d.message.contains("settings.default_model `qwen2.5`"))
        .map(|d| d.field.clone())
        .collect();
    assert_eq!(warned, ["agents[0].model", "agents[1].primary.model"]);
    assert_eq!(
        crew("agents: [{id: a}]\n").agents[0].model,
        Settings::DEFAULT_MODEL
    );
}

#[test]
fn prices_and_budgets_are_read_for_the_crew_its_providers_and_agents() {
    let c = crew(
        "prices:\n  my-tune: {input: 0.5, cached_input: 0.05, output: 2}\n\
         providers:\n  local:\n    base_url: http://127.0.0.1:8080/v1\n    prices: {\"*\": {input: 0, output: 0}}\n\
         settings: {max_cost_usd: 2.5, max_tokens: 100000, agent_budget: {max_cost_usd: 0.5}}\n\
         agents:\n  - id: a\n    model: my-tune\n    budget: {max_tokens: 2000}\n    handoff_targets: [b]\n  \
         - {id: b, provider: local, model: llama3.2}\n",
    );
    let tune = c.prices.models["my-tune"];
    assert_eq!(
        (tune.input, tune.cached_input, tune.output),
        (0.5, Some(0.05), 2.0)
    );
    assert_eq!(c.prices.providers["local"]["*"].output, 0.0);
    let run = c.settings.run_budget();
    assert_eq!(
        (run.max_cost_usd, run.max_tokens),
        (Some(2.5), Some(100_000))
    );
    let a = c.agents[0].budget.or(c.settings.agent_budget);
    assert_eq!((a.max_cost_usd, a.max_tokens), (Some(0.5), Some(2000)));
    let b = c.agents[1].budget.or(c.settings.agent_budget);
    assert_eq!((b.max_cost_usd, b.max_tokens), (Some(0.5), None));
}

#[test]
fn a_bad_price_or_budget_is_reported_where_it_is_written() {
    let report = load(
        "prices:\n  m: {input: -1, output: cheap}\n  n: {output: 1}\n\
         settings: {max_cost_usd: lots, agent_budget: {max_tokens: -5, max_dollars: 1}}\n\
         agents:\n  - {id: a, provider: scripted, budget: 3}\n",
    );
    assert_eq!(
        brief(&report),
        [
            (
                2,
                14,
                "prices.m.input".into(),
                "must not be negative, found -1".into()
            ),
            (
                2,
                26,
                "prices.m.output".into(),
                "expected a number, found a string".into()
            ),
            (
                3,
                6,
                "prices.n.input".into(),
                "missing required key `input`".into()
            ),
            (
                4,
                26,
                "settings.max_cost_usd".into(),
                "expected a number, found a string".into()
            ),
            (
                4,
                59,
                "settings.agent_budget.max_tokens".into(),
                "must not be negative, found -5".into()
            ),
            (
                4,
                63,
                "settings.agent_budget.max_dollars".into(),
                "unknown key `max_dollars` (ignored)".into()
            ),
            (
                6,
                41,
                "agents[0].budget".into(),
                "expected a mapping, found an integer".into()
            ),
        ]
    );
}
