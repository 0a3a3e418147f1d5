//! No crew text can make loading panic: random bytes, YAML-ish token soup and mutated fixture
//! crews all give either a crew or at least one error. Deterministic (a fixed-seed xorshift),
//! so a failure names an input that reproduces it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crewtui::config::load_crew_str;

/// Inputs per kind: 9000 in all take well under a second in a debug build here, a few
/// seconds at most on a slow, busy machine.
const CASES_PER_KIND: usize = 3000;

/// xorshift64*: tiny, deterministic, good enough to pick bytes and positions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TOKENS: &[&str] = &[
    "agents:",
    "- ",
    "id: ",
    "a",
    "b",
    "\n",
    "  ",
    "    ",
    "[",
    "]",
    "{",
    "}",
    ":",
    ", ",
    "&x ",
    "*x",
    "<<: ",
    "'",
    "\"",
    "# c",
    "---",
    "!!str ",
    "!tag ",
    "? ",
    "|",
    ">",
    "~",
    "-1",
    "1e999",
    "0x1F",
    "3.5",
    "true",
    "yes",
    "null",
    "entry_point: ",
    "routing:",
    "signals:",
    "target: ",
    "signal: ",
    "parallel_groups:",
    "next_agent: ",
    "agent_behaviors:",
    "wait_for_signal: ",
    "is_terminal: ",
    "handoff_targets: ",
    "tools:",
    "command: ",
    "sh",
    "./x",
    "script:",
    "tool_calls:",
    "tool: ",
    "arguments: ",
    "reply: ",
    "provider: ",
    "scripted",
    "providers:",
    "kind: ",
    "api_key: ",
    "settings:",
    "max_handoffs: ",
    "files_root: ",
    "\t",
    "\u{feff}",
    "é",
    "\\",
    "%YAML 1.2\n",
    "...",
];

fn fixture_texts() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crews");
    let mut texts = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixture directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let bytes = std::fs::read(&path).expect("fixture file");
                texts.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    texts.sort();
    texts
}

fn random_bytes(rng: &mut Rng) -> String {
    let len = rng.below(200);
    let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn token_soup(rng: &mut Rng) -> String {
    (0..rng.below(80)).map(|_| *rng.pick(TOKENS)).collect()
}

fn mutate(rng: &mut Rng, fixtures: &[String]) -> String {
    let mut bytes = rng.pick(fixtures).clone().into_bytes();
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len().max(1);
        let at = rng.below(len).min(bytes.len());
        let span = rng.below(24).min(bytes.len() - at);
        match rng.below(5) {
            0 => {
                if let Some(b) = bytes.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            1 => {
                bytes.drain(at..at + span);
            }
            2 => {
                let copy = bytes[at..at + span].to_vec();
                bytes.splice(at..at, copy);
            }
            3 => {
                // Splice a line of another crew in at a line start.
                let other = rng.pick(fixtures);
                let lines: Vec<&str> = other.lines().collect();
                if !lines.is_empty() {
                    let line = format!("{}\n", rng.pick(&lines));
                    let start = bytes[..at]
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    bytes.splice(start..start, line.into_bytes());
                }
            }
            _ => {
                let token = rng.pick(TOKENS).as_bytes().to_vec();
                bytes.splice(at..at, token);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn no_input_makes_loading_panic() {
    let fixtures = fixture_texts();
    assert!(fixtures.len() > 10, "fixtures found: {}", fixtures.len());
    let base_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crews/valid");
    let file = Path::new("fuzz.yaml");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut crews = 0;
    for case in 0..CASES_PER_KIND * 3 {
        let text = match case % 3 {
            0 => random_bytes(&mut rng),
            1 => token_soup(&mut rng),
            _ => mutate(&mut rng, &fixtures),
        };
        let report = catch_unwind(AssertUnwindSafe(|| load_crew_str(&text, file, &base_dir)))
            .unwrap_or_else(|_| panic!("case {case} panicked on {text:?}"));
        assert!(
            report.crew.is_some() != report.has_errors(),
            "case {case}: a crew exactly when there are no errors, for {text:?}"
        );
        assert!(
            report
                .diagnostics
                .iter()
                .all(|d| d.line >= 1 && d.column >= 1),
            "case {case}: a diagnostic without a position, for {text:?}: {:#?}",
            report.diagnostics
        );
        crews += usize::from(report.crew.is_some());
    }
    // Mutations keep some crews valid, so the loader's far end is exercised too.
    assert!(crews > 0);
}
