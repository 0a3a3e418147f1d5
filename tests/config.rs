//! Crew files on disk: the valid fixtures load into the model they describe, and each invalid
//! fixture gives exactly the diagnostics listed here (severity, file, line, column, field and
//! the key part of the message). The fuzz test is in `config/fuzz.rs`.

#[path = "config/fuzz.rs"]
mod fuzz;

use std::path::{Path, PathBuf};

use crewtui::config::model::ProviderConfig;
use crewtui::config::{CrewReport, Severity, load_crew};

const E: Severity = Severity::Error;
const W: Severity = Severity::Warning;
const I: Severity = Severity::Info;

/// Severity, file (under the fixtures directory), line, column, field, part of the message.
type Expected = (Severity, &'static str, u32, u32, &'static str, &'static str);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crews")
}

fn load(fixture: &str) -> CrewReport {
    load_crew(&fixtures().join(fixture))
}

/// One fixture per kind of problem `crewtui validate` reports. One row per diagnostic reads
/// better than rustfmt's one field per line.
#[rustfmt::skip]
const CASES: &[(&str, &[Expected])] = &[
    // YAML itself.
    ("invalid/syntax.yaml", &[(E, "invalid/syntax.yaml", 5, 7, "", "illegal placement of ':'")]),
    ("invalid/duplicate_key.yaml", &[(E, "invalid/duplicate_key.yaml", 4, 5, "", "duplicate key `provider`")]),
    ("invalid/two_documents.yaml", &[(E, "invalid/two_documents.yaml", 5, 1, "", "more than one YAML document")]),
    ("invalid/too_deep.yaml", &[(E, "invalid/too_deep.yaml", 7, 49, "", "nested too deeply")]),
    ("invalid/not_utf8.yaml", &[(E, "invalid/not_utf8.yaml", 3, 14, "", "not valid UTF-8")]),
    // Wrong types and missing values.
    ("invalid/not_mapping.yaml", &[(E, "invalid/not_mapping.yaml", 1, 1, "", "expected a mapping, found a list")]),
    ("invalid/wrong_types.yaml", &[
        (E, "invalid/wrong_types.yaml", 2, 17, "settings.max_handoffs", "must not be negative"),
        (E, "invalid/wrong_types.yaml", 3, 20, "settings.timeout_seconds", "expected a whole number, found a string"),
        (E, "invalid/wrong_types.yaml", 4, 31, "settings.scripted_tokens_per_second", "expected a number, found a list"),
        (E, "invalid/wrong_types.yaml", 5, 22, "settings.tool_output_limit", "expected a whole number, found a decimal number"),
        (E, "invalid/wrong_types.yaml", 10, 18, "agents[0].temperature", "expected a number, found a string"),
        (E, "invalid/wrong_types.yaml", 11, 12, "agents[0].tools", "expected a list, found a string"),
        (E, "invalid/wrong_types.yaml", 12, 18, "agents[0].is_terminal", "expected a boolean"),
        (E, "invalid/wrong_types.yaml", 13, 22, "agents[0].handoff_targets", "expected a list, found a mapping"),
        (E, "invalid/wrong_types.yaml", 14, 17, "agents[0].max_tokens", "99999999999 is too large"),
        (E, "invalid/wrong_types.yaml", 16, 16, "agents[0].script[0].reply", "expected a string, found a list"),
        (E, "invalid/wrong_types.yaml", 17, 9, "agents[0].script[1]", "expected a mapping, found a string"),
        (E, "invalid/wrong_types.yaml", 19, 12, "routing.signals", "expected a mapping, found a list"),
    ]),
    ("invalid/inline_id.yaml", &[
        (E, "invalid/inline_id.yaml", 4, 5, "agents[1]", "found nothing (null)"),
        (E, "invalid/inline_id.yaml", 5, 5, "agents[2]", "found a list"),
    ]),
    ("invalid/missing_id.yaml", &[
        (E, "invalid/missing_id.yaml", 2, 5, "agents[0].id", "missing required key `id`"),
        (E, "invalid/missing_id.yaml", 6, 23, "agents[1].handoff_targets[0]", "must not be empty"),
    ]),
    ("invalid/empty_crew.yaml", &[(E, "invalid/empty_crew.yaml", 2, 9, "agents", "the crew has no agents")]),
    ("invalid/empty_file.yaml", &[(E, "invalid/empty_file.yaml", 1, 1, "agents", "the crew has no agents")]),
    // Unknown ids wherever an id is referenced, and duplicates.
    ("invalid/unknown_entry_point.yaml", &[(E, "invalid/unknown_entry_point.yaml", 1, 14, "entry_point", "unknown agent `boss`; agents: a")]),
    ("invalid/unknown_signal_target.yaml", &[(E, "invalid/unknown_signal_target.yaml", 8, 17, "routing.signals.a[0].target", "unknown signal target `nowhere`")]),
    ("invalid/unknown_signal_agent.yaml", &[(E, "invalid/unknown_signal_agent.yaml", 6, 5, "routing.signals.ghost", "unknown agent `ghost`")]),
    ("invalid/unknown_handoff_target.yaml", &[(E, "invalid/unknown_handoff_target.yaml", 4, 26, "agents[0].handoff_targets[1]", "unknown agent `c`; agents: a, b")]),
    ("invalid/unknown_group_agent.yaml", &[(E, "invalid/unknown_group_agent.yaml", 7, 19, "routing.parallel_groups.team.agents[1]", "unknown agent `ghost`")]),
    ("invalid/unknown_next_agent.yaml", &[(E, "invalid/unknown_next_agent.yaml", 8, 19, "routing.parallel_groups.team.next_agent", "unknown agent `ghost`")]),
    ("invalid/unknown_behavior_agent.yaml", &[(E, "invalid/unknown_behavior_agent.yaml", 6, 5, "routing.agent_behaviors.ghost", "unknown agent `ghost`")]),
    ("invalid/duplicate_id.yaml", &[(E, "invalid/duplicate_id.yaml", 7, 9, "agents[2].id", "duplicate agent id `a`; first defined at")]),
    ("invalid/empty_group.yaml", &[(E, "invalid/empty_group.yaml", 7, 15, "routing.parallel_groups.team.agents", "at least one agent")]),
    ("invalid/group_named_like_agent.yaml", &[(E, "invalid/group_named_like_agent.yaml", 9, 5, "routing.parallel_groups.b", "has the name of an agent")]),
    // Tools and providers.
    ("invalid/script_tool_not_granted.yaml", &[(E, "invalid/script_tool_not_granted.yaml", 9, 19, "agents[0].script[0].tool_calls[1].tool", "tool `read_file`, which agent `a` is not granted")]),
    ("invalid/builtin_shadow.yaml", &[(E, "invalid/builtin_shadow.yaml", 2, 3, "tools.calculator", "`calculator` is a built-in tool")]),
    ("invalid/missing_program.yaml", &[
        (E, "invalid/missing_program.yaml", 3, 14, "tools.first.command", "program `no-such-program-crewtui` not found"),
        (E, "invalid/missing_program.yaml", 5, 14, "tools.second.command", "program `./bin/missing.sh` not found"),
        (E, "invalid/missing_program.yaml", 7, 5, "tools.third.command", "missing required key `command`"),
    ]),
    ("invalid/unknown_provider.yaml", &[(E, "invalid/unknown_provider.yaml", 3, 15, "agents[0].provider", "unknown provider `anthropic`; known: ollama, openai, scripted")]),
    ("invalid/unknown_provider_kind.yaml", &[(E, "invalid/unknown_provider_kind.yaml", 3, 11, "providers.mine.kind", "unknown provider kind `grpc`")]),
    ("invalid/api_key.yaml", &[(E, "invalid/api_key.yaml", 4, 5, "providers.openai.api_key", "use `api_key_env`")]),
    // The directory layout: problems are reported in the file they are in.
    ("invalid/dir_missing_agent", &[
        (E, "invalid/dir_missing_agent/crew.yaml", 3, 5, "agents[1]", "agent `helper` not found: no file in agents/ has `id: helper`"),
        (E, "invalid/dir_missing_agent/crew.yaml", 4, 5, "agents[2]", "duplicate agent id `lead`"),
    ]),
    // Agent files are found by the id inside them, not by their names.
    ("invalid/dir_bad_agent", &[
        (E, "invalid/dir_bad_agent/agents/writer.yaml", 2, 8, "", "unclosed bracket"),
        (E, "invalid/dir_bad_agent/crew.yaml", 2, 5, "agents[0]", "agent `lead` not found: no file in agents/ has `id: lead` (agents/lead.yaml has `id: boss`)"),
        (E, "invalid/dir_bad_agent/crew.yaml", 4, 5, "agents[2]", "agent `../escape` not found"),
    ]),
    ("invalid/dir_duplicate_id", &[
        (E, "invalid/dir_duplicate_id/crew.yaml", 3, 5, "agents[0]", "agent `writer` is defined by more than one file: agents/writer-old.yaml and agents/writer.yaml"),
    ]),
    // go-agentic's primary and backup models.
    ("invalid/backup.yaml", &[
        (W, "invalid/backup.yaml", 3, 12, "agents[0].model", "ignored: `primary` names the agent's model"),
        (E, "invalid/backup.yaml", 5, 13, "agents[0].backup.model", "missing required key `model`: the model to fall back to"),
        (W, "invalid/backup.yaml", 9, 19, "agents[1].provider_url", "ignored: provider `scripted` calls no server"),
        (E, "invalid/backup.yaml", 10, 34, "agents[1].backup.provider", "unknown provider `mistral`; known: ollama, openai, scripted"),
        (E, "invalid/backup.yaml", 13, 64, "agents[2].primary.provider_url", "`ftp://gpu:11434` is not an http:// or https:// URL"),
    ]),
    // A tool bindings file beside the crew, reported in that file.
    ("invalid/bad_bindings", &[
        (E, "invalid/bad_bindings/crew.tools.yaml", 3, 14, "tools.GetCPUUsage.command", "program `./bin/no-such-cpu-tool.sh` not found"),
        (E, "invalid/bad_bindings/crew.tools.yaml", 5, 14, "tools.PingHost.results", "needs at least one result"),
        (W, "invalid/bad_bindings/crew.tools.yaml", 6, 3, "tools.Ghost", "ignored: no agent of the crew lists tool `Ghost`"),
        (E, "invalid/bad_bindings/crew.tools.yaml", 8, 3, "tools.calculator", "`calculator` is a built-in tool; a binding cannot replace it"),
        (E, "invalid/bad_bindings/crew.tools.yaml", 11, 5, "tools.ListUsers", "expected one of `command`, `results` and `result`, found command and result"),
        (E, "invalid/bad_bindings/crew.tools.yaml", 15, 11, "tools.Leak.env[0]", "command tool `Leak` cannot be given OPENAI_API_KEY"),
        (W, "invalid/bad_bindings/crew.yaml", 4, 13, "agents[0].tools[0]", "unknown tool `GetCPUUsage`"),
        (W, "invalid/bad_bindings/crew.yaml", 4, 26, "agents[0].tools[1]", "unknown tool `PingHost`"),
        (W, "invalid/bad_bindings/crew.yaml", 4, 36, "agents[0].tools[2]", "unknown tool `ListUsers`"),
    ]),
    // Warnings: the crew still loads.
    ("warnings/empty_targets.yaml", &[
        (W, "warnings/empty_targets.yaml", 7, 36, "routing.signals.a[0].target", "signal `[STOP]` has no target: a reply of `a` that carries it ends the run (completed)"),
        (W, "warnings/empty_targets.yaml", 9, 35, "routing.signals.b[0].target", "signal `[END]` has no target"),
        (W, "warnings/empty_targets.yaml", 10, 9, "routing.signals.b[1].target", "signal `[QUIT]` has no target"),
    ]),
    ("valid/goagentic", &[
        (W, "valid/goagentic/agents/executor.yaml", 6, 1, "agents[1].allow_delegation", "unknown key `allow_delegation`"),
        (I, "valid/goagentic/crew.yaml", 1, 1, "version", "go-agentic key `version`, no effect in crewtui"),
        (I, "valid/goagentic/crew.yaml", 9, 3, "settings.language", "go-agentic key `language`, no effect"),
        (I, "valid/goagentic/crew.yaml", 19, 7, "routing.agent_behaviors.orchestrator.auto_route", "go-agentic key `auto_route`, no effect"),
    ]),
    ("warnings/default_model.yaml", &[
        (W, "warnings/default_model.yaml", 6, 5, "agents[0].model", "no model given: using settings.default_model `gpt-4o`"),
        (W, "warnings/default_model.yaml", 9, 5, "agents[1].model", "no model given: using settings.default_model `gpt-4o`"),
    ]),
    ("warnings/unknown_tool.yaml", &[(W, "warnings/unknown_tool.yaml", 7, 25, "agents[0].tools[1]", "unknown tool `web_search`: calls to it fail as not found until a tool bindings file binds it (`crewtui validate --bindings-skeleton` writes one); known: calculator, current_time, fault, list_dir, read_file, word_count")]),
    ("warnings/unreachable.yaml", &[(W, "warnings/unreachable.yaml", 5, 9, "agents[1].id", "agent `lonely` is unreachable")]),
    ("warnings/cycle.yaml", &[(W, "warnings/cycle.yaml", 4, 23, "agents[0].handoff_targets[0]", "routing cycle `ping → pong → ping` has no way out")]),
    ("warnings/cycle_group.yaml", &[(W, "warnings/cycle_group.yaml", 14, 17, "routing.signals.lead[0].target", "routing cycle `lead → team → lead` has no way out")]),
    ("warnings/no_cycle.yaml", &[]),
    ("valid/full.yaml", &[(I, "valid/full.yaml", 4, 1, "version", "go-agentic key `version`, no effect in crewtui")]),
];

#[test]
fn every_fixture_gives_exactly_its_diagnostics() {
    let root = fixtures();
    let mut failures = Vec::new();
    for &(fixture, expected) in CASES {
        let report = load(fixture);
        let found: Vec<String> = report
            .diagnostics
            .iter()
            .map(|d| {
                let file = d.file.strip_prefix(&root).unwrap_or(&d.file);
                let severity = format!("{:?}", d.severity);
                let (line, column, field) = (d.line, d.column, &d.field);
                format!(
                    "{severity} {}:{line}:{column} [{field}] {}",
                    file.display(),
                    d.message
                )
            })
            .collect();
        let matches = found.len() == expected.len()
            && found.iter().zip(expected).all(|(found, e)| {
                let (severity, file, line, column, field, message) = e;
                let head = format!("{severity:?} {file}:{line}:{column} [{field}] ");
                found.starts_with(&head) && found[head.len()..].contains(message)
            });
        if !matches {
            failures.push(format!(
                "{fixture}: expected {expected:#?}\nfound {found:#?}"
            ));
        }
        let has_errors = expected.iter().any(|e| e.0 == Severity::Error);
        assert_eq!(report.has_errors(), has_errors, "{fixture}");
        assert_eq!(
            report.crew.is_some(),
            !has_errors,
            "{fixture}: a crew iff no errors"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_invalid_fixture_is_in_the_table() {
    let listed: Vec<&str> = CASES.iter().map(|(f, _)| *f).collect();
    for group in ["invalid", "warnings"] {
        let dir = fixtures().join(group);
        for entry in std::fs::read_dir(&dir).expect("fixture directory") {
            let name = entry.expect("directory entry").file_name();
            let fixture = format!("{group}/{}", name.to_string_lossy());
            assert!(
                listed.contains(&fixture.as_str()),
                "{fixture} is not tested"
            );
        }
    }
}

#[test]
fn the_full_crew_reads_every_key() {
    let report = load("valid/full.yaml");
    let crew = report.crew.expect("valid crew");
    assert_eq!(crew.name, "full-crew");
    assert_eq!(crew.description, "Every key, once.");
    assert_eq!(crew.entry_point, "planner");
    assert_eq!(crew.input.as_deref(), Some("Write a haiku about Rust."));
    assert!(crew.source.ends_with("valid/full.yaml"));

    let s = &crew.settings;
    let numbers = [
        u64::from(s.max_handoffs),
        u64::from(s.max_rounds),
        s.timeout_seconds,
        s.tool_timeout_seconds,
        s.tool_output_limit as u64,
        u64::from(s.max_retries),
        s.connect_timeout_seconds,
        s.first_token_timeout_seconds,
        s.stream_idle_timeout_seconds,
    ];
    assert_eq!(numbers, [7, 12, 120, 5, 4096, 3, 4, 20, 30]);
    assert_eq!(s.scripted_tokens_per_second, 0.0);
    assert_eq!(s.files_root, fixtures().join("valid/tools"));

    let local = ProviderConfig::OpenAi {
        base_url: "http://127.0.0.1:11434/v1".into(),
        api_key_env: Some("OLLAMA_KEY".into()),
    };
    assert_eq!(crew.providers["local"], local);
    assert_eq!(crew.providers["offline"], ProviderConfig::Scripted);

    let word_count = &crew.tools["word_count"];
    assert_eq!(
        word_count.command,
        fixtures().join("valid/tools/word_count.sh")
    );
    assert_eq!(word_count.args, ["--json"]);
    assert_eq!(word_count.description, "Count words.");
    assert_eq!(
        word_count.parameters["required"],
        serde_json::json!(["text"])
    );
    assert_eq!(word_count.timeout_seconds, Some(3));
    let shout = &crew.tools["shout"];
    assert_eq!(shout.command, Path::new("cat"));
    assert_eq!(shout.parameters, serde_json::json!({"type": "object"}));

    let planner = crew.agent("planner").expect("planner");
    assert_eq!(planner.name, "Planner");
    assert_eq!(planner.role, "plans the work");
    assert_eq!(planner.backstory, "Has planned many things.");
    assert_eq!(planner.description, "Decides who does what.");
    assert_eq!(
        (planner.provider.as_str(), planner.model.as_str()),
        ("local", "llama3.2")
    );
    assert_eq!((planner.temperature, planner.max_tokens), (0.2, Some(512)));
    assert_eq!(planner.tools, ["current_time"]);
    assert_eq!(planner.handoff_targets, ["writer"]);
    assert_eq!(planner.system_prompt(), "You are Planner, plans the work.");
    assert!(crew.waits_for_signal("planner"));

    let writer = crew.agent("writer").expect("writer");
    let step = &writer.script[0];
    assert_eq!(
        (step.reasoning.as_str(), step.reply.as_str()),
        ("thinking first", "Let me count.")
    );
    let expected =
        serde_json::json!({"text": "one two three", "nested": {"n": 1, "list": [true, 2.5, null]}});
    assert_eq!(step.tool_calls[0].arguments, expected);
    assert_eq!(step.tool_calls[1].tool, "calculator");
    assert_eq!(writer.script[1].reply, "Draft ready. [REVIEW]");
    assert!(crew.is_terminal("reviewer"));

    let signals = &crew.routing.signals["writer"];
    assert_eq!(signals[0].description, "The draft is ready for review.");
    assert_eq!(
        (signals[1].signal.as_str(), signals[1].target.as_str()),
        ("[RESEARCH]", "research")
    );
    let group = &crew.routing.parallel_groups["research"];
    assert_eq!(group.agents, ["researcher_a", "researcher_b"]);
    assert!(!group.wait_for_all);
    assert_eq!(
        (group.timeout_seconds, group.next_agent.as_deref()),
        (60, Some("writer"))
    );
}

#[test]
fn the_directory_layout_loads_into_the_same_model() {
    let report = load("valid/goagentic");
    let crew = report.crew.expect("valid crew");
    assert_eq!(crew.name, "goagentic");
    assert!(crew.source.ends_with("goagentic/crew.yaml"));
    let ids: Vec<&str> = crew.agents.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["orchestrator", "executor"]);
    assert_eq!(crew.settings.max_handoffs, 3);
    assert_eq!(crew.settings.max_rounds, 10);
    let executor = crew
        .agent("executor")
        .expect("executor, id from its file name");
    assert_eq!(
        (executor.name.as_str(), executor.temperature),
        ("Executor", 0.7)
    );
    let orchestrator = crew.agent("orchestrator").expect("orchestrator");
    assert_eq!(
        orchestrator.system_prompt(),
        "You are Orchestrator. Knows every member of the crew.\n\n"
    );
    assert!(crew.is_terminal("executor"));
    // The same crew named by its crew.yaml loads the same way.
    let direct = load("valid/goagentic/crew.yaml");
    assert_eq!(direct.diagnostics, report.diagnostics);
    assert_eq!(direct.crew.map(|c| c.name).as_deref(), Some("goagentic"));
}

#[test]
fn a_missing_path_is_an_error_at_line_zero() {
    let report = load("invalid/no_such_crew.yaml");
    let [d] = report.diagnostics.as_slice() else {
        panic!("one diagnostic: {:#?}", report.diagnostics);
    };
    assert_eq!((d.severity, d.line, d.column), (Severity::Error, 0, 0));
    assert!(d.message.starts_with("cannot read"), "{}", d.message);
    let report = load("valid/tools");
    assert!(report.diagnostics[0].message.contains("no crew.yaml"));
}
