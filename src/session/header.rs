//! The header line: what was run, when, and with which crew, with secrets taken out.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::config::model::{Agent, CommandToolConfig, Crew, ProviderConfig};

/// The `format` of every session file's header.
pub const FORMAT: &str = "crewtui-session";
/// The newest header and line layout this build writes and reads. Version 2 records what the
/// engine decided with its events and keeps model requests to what is new (DESIGN.md
/// "Sessions"); version 1 files are still read, upgraded on the way in.
pub const VERSION: u32 = 2;

/// The first line of a session file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`]: tells a session file from any other JSON lines.
    pub format: String,
    pub version: u32,
    /// The crewtui that wrote the file.
    pub crewtui_version: String,
    pub session_id: String,
    pub crew_name: String,
    /// The crew file as it was loaded (absolute; the directory, for go-agentic's layout):
    /// what `resume` loads the crew from again. `None` for a crew that was not read from a
    /// file, and in files written before it was recorded.
    #[serde(default)]
    pub crew_path: Option<PathBuf>,
    /// The hash of the crew's files when they were loaded ([`Origin::hash`]), to tell whether
    /// they changed since.
    ///
    /// [`Origin::hash`]: crate::config::model::Origin::hash
    #[serde(default)]
    pub crew_hash: Option<String>,
    /// The crew as it was run, with secrets removed (see [`Header::new`]), for display only:
    /// a session file is data, and nothing in it is ever run (DESIGN.md principle 9).
    pub crew: Crew,
    /// RFC 3339, UTC, to the second.
    pub started_at: String,
    /// The first input of the entry agent.
    pub input: String,
}

// By hand because the crew model has no `PartialEq`: two crews are equal when they serialise
// the same, which is also what makes two headers read back the same.
impl PartialEq for Header {
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format
            && self.version == other.version
            && self.crewtui_version == other.crewtui_version
            && self.session_id == other.session_id
            && self.crew_name == other.crew_name
            && self.crew_path == other.crew_path
            && self.crew_hash == other.crew_hash
            && self.started_at == other.started_at
            && self.input == other.input
            && serde_json::to_value(&self.crew).ok() == serde_json::to_value(&other.crew).ok()
    }
}

impl Header {
    /// The header of a session starting now, with the crew's secrets removed: provider URLs
    /// lose their `user:password@` and their query and fragment. API keys are never in the
    /// crew at all, only the names of the variables holding them, and no environment
    /// variable's value is ever copied here.
    pub fn new(session_id: &str, crew: &Crew, input: &str, started: SystemTime) -> Self {
        Self {
            format: FORMAT.to_string(),
            version: VERSION,
            crewtui_version: env!("CARGO_PKG_VERSION").to_string(),
            session_id: session_id.to_string(),
            crew_name: crew.name.clone(),
            crew_path: crew.origin.as_ref().map(|o| o.path.clone()),
            crew_hash: crew.origin.as_ref().map(|o| o.hash.clone()),
            crew: without_secrets(crew),
            started_at: crate::tools::format_rfc3339_utc(started),
            input: input.to_string(),
        }
    }

    /// The run model a recording of this session is folded into: its agents in the crew's
    /// order, and its tokens priced as the crew and its providers said.
    pub fn run(&self, limits: crate::engine::run::TimelineLimits) -> crate::engine::run::Run {
        use crate::engine::run::{AgentInfo, Run, Terms};
        Run::new(&self.crew_name, &AgentInfo::from_crew(&self.crew), limits)
            .with_terms(Terms::for_crew(&self.crew))
    }

    /// What `crew` (loaded from disk to go on with) changes from the crew this session was
    /// recorded with, a line each (see [`crate::config::differences`]); both compared without
    /// secrets, as the header holds them.
    pub fn crew_changes(&self, crew: &Crew) -> Vec<String> {
        crate::config::differences(&self.crew, &without_secrets(crew))
    }

    /// Whether the files `crew` was loaded from are not, byte for byte, those the session was
    /// recorded with; `None` when either side does not know.
    pub fn crew_files_changed(&self, crew: &Crew) -> Option<bool> {
        let now = &crew.origin.as_ref()?.hash;
        Some(self.crew_hash.as_ref()? != now)
    }
}

fn without_secrets(crew: &Crew) -> Crew {
    // Exhaustive on purpose: a field added to the crew model must be looked at here, in case
    // it can hold a secret, before it reaches a session file.
    let Crew {
        name: _,
        description: _,
        source: _,
        entry_point: _,
        input: _,
        agents,
        settings: _,
        routing: _,
        providers,
        tools,
        // Canned results and descriptions from a bindings file, like a command tool's.
        scripted_tools: _,
        // Prices are figures, never secrets.
        prices: _,
        origin: _,
    } = crew;
    for agent in agents {
        let Agent {
            id: _,
            name: _,
            role: _,
            backstory: _,
            description: _,
            provider: _,
            model: _,
            // A provider's name and a model: the URL a provider name is made from is shown
            // without credentials (`ollama@host:port`).
            backup: _,
            temperature: _,
            max_tokens: _,
            budget: _,
            tools: _,
            handoff_targets: _,
            is_terminal: _,
            system_prompt: _,
            script: _,
        } = agent;
    }
    for tool in tools.values() {
        // Arguments and the program are part of the crew's meaning. `env` holds only the names
        // of variables passed on; their values are read when the tool runs, never stored.
        let CommandToolConfig {
            description: _,
            command: _,
            args: _,
            parameters: _,
            timeout_seconds: _,
            env: _,
            approve: _,
        } = tool;
    }
    let mut clean = crew.clone();
    clean.providers = providers
        .iter()
        .map(|(name, provider)| {
            let provider = match provider {
                ProviderConfig::OpenAi {
                    base_url,
                    api_key_env,
                } => ProviderConfig::OpenAi {
                    base_url: crate::redact::url(base_url),
                    api_key_env: api_key_env.clone(),
                },
                ProviderConfig::Ollama { base_url } => ProviderConfig::Ollama {
                    base_url: base_url.as_deref().map(crate::redact::url),
                },
                ProviderConfig::Scripted => ProviderConfig::Scripted,
            };
            (name.clone(), provider)
        })
        .collect();
    clean
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn the_header_keeps_the_crew_but_no_secret() {
        let yaml = "name: x\ninput: hi\nproviders:\n  p:\n    kind: openai\n    base_url: https://me:hunter2@llm.example/v1?api_key=sk-abc\n    api_key_env: CREWTUI_TEST_KEY\nagents:\n  - {id: a, provider: p, model: m}\n";
        let report = crate::config::load_crew_str(yaml, Path::new("x.yaml"), Path::new("."));
        let crew = report.crew.expect("the crew loads");
        let started = UNIX_EPOCH + Duration::from_secs(1_795_898_212);
        let header = Header::new("s1", &crew, "hi", started);
        let line = serde_json::to_string(&header).unwrap();
        assert!(
            !line.contains("hunter2") && !line.contains("sk-abc"),
            "{line}"
        );
        assert!(line.contains("https://llm.example/v1"), "{line}");
        assert!(line.contains("CREWTUI_TEST_KEY"), "{line}");
        assert!(line.starts_with(r#"{"format":"crewtui-session","version":2,"#));
        assert_eq!(header.started_at, "2026-11-28T20:36:52Z");
        assert_eq!(header.crew_name, "x");
        let back: Header = serde_json::from_str(&line).unwrap();
        assert_eq!(back, header);
    }
}
