//! The crews and texts the scenarios run.

use super::*;

pub(crate) const WORDS: [&str; 24] = [
    "the",
    "agent",
    "reads",
    "a",
    "plan",
    "and",
    "streams",
    "its",
    "reply",
    "token",
    "by",
    "token,",
    "while",
    "others",
    "wait;",
    "tools",
    "run",
    "in",
    "isolation",
    "so",
    "nothing",
    "breaks.",
    "Results",
    "arrive",
];

/// `n` word tokens of model-like text, a paragraph break now and then.
pub(crate) fn reply_text(n: usize, salt: usize) -> String {
    let mut text = String::new();
    let mut x = salt.wrapping_mul(2_654_435_761) | 1;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i > 0 {
            text.push(if i % 47 == 0 { '\n' } else { ' ' });
        }
        text.push_str(WORDS[x % WORDS.len()]);
    }
    text
}

/// A lead that fans out to `members` agents at once, each replying with `tokens` tokens,
/// streamed at `rate` tokens a second (0: at once).
pub(crate) fn fan_out_yaml(members: usize, tokens: usize, rate: f64) -> String {
    let ids: Vec<String> = (0..members).map(|i| format!("a{i:02}")).collect();
    let mut yaml = format!(
        "name: bench-fan-out\nentry_point: lead\n\
         settings: {{max_handoffs: 5, max_rounds: 10, timeout_seconds: 3600, \
         scripted_tokens_per_second: {rate}}}\n\
         routing:\n  signals:\n    lead: [{{signal: \"[GO]\", target: all}}]\n  \
         parallel_groups:\n    all: {{agents: [{}], wait_for_all: true, timeout_seconds: 3600}}\n\
         agents:\n  - {{id: lead, provider: scripted, script: [{{reply: \"Fan out. [GO]\"}}]}}\n",
        ids.join(", ")
    );
    for (i, id) in ids.iter().enumerate() {
        let reply = serde_json::to_string(&reply_text(tokens, i + 1)).expect("a string");
        yaml.push_str(&format!(
            "  - {{id: {id}, provider: scripted, script: [{{reply: {reply}}}]}}\n"
        ));
    }
    yaml
}

/// `turns` agent turns in a ring of four agents handing off to each other, each reply
/// `tokens` tokens long, streamed at once.
pub(crate) fn ring_crew(turns: usize, tokens: usize) -> Crew {
    let ids = ["north", "east", "south", "west"];
    let mut yaml = format!(
        "name: bench-ring\nentry_point: north\n\
         settings: {{max_handoffs: 1000000, max_rounds: {turns}, timeout_seconds: 3600, \
         scripted_tokens_per_second: 0}}\nagents:\n"
    );
    for (i, id) in ids.iter().enumerate() {
        let next = ids[(i + 1) % ids.len()];
        yaml.push_str(&format!(
            "  - {{id: {id}, provider: scripted, handoff_targets: [{next}]}}\n"
        ));
    }
    let mut crew = load_crew(&yaml);
    for (i, agent) in crew.agents.iter_mut().enumerate() {
        agent.script = (0..turns.div_ceil(ids.len()))
            .map(|step| ScriptStep {
                reply: reply_text(tokens, i * 10_000 + step),
                reasoning: String::new(),
                tool_calls: Vec::new(),
            })
            .collect();
    }
    crew
}

pub(crate) fn load_crew(yaml: &str) -> Crew {
    let report =
        crewtui::config::load_crew_str(yaml, Path::new("bench.yaml"), &std::env::temp_dir());
    match report.crew {
        Some(crew) => crew,
        None => panic!("bench crew: {:?}", report.diagnostics),
    }
}

pub(crate) fn parts(crew: &Crew) -> SessionParts {
    SessionParts::for_crew(crew, &reqwest::Client::new())
}
