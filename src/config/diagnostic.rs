//! Errors and warnings about a crew file, each with the file, line, column and field it
//! concerns, and the collector the loader and validator report into.
//!
//! A hostile or generated crew can have a problem per line: the collector keeps at most
//! [`MAX_PER_KIND`] diagnostics of each kind and counts the rest ([`Omitted`]), so what is
//! reported grows with the kinds of problem, not with their number. A go-agentic key that
//! means nothing here is said once per key name, with how many more places have it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::text::visible_line;

/// Diagnostics of one kind kept; the rest are only counted.
pub const MAX_PER_KIND: usize = 20;

/// Map keys whose entries are named by the crew (`tools.NAME`, `routing.signals.AGENT`): a
/// name there does not make a field of another kind.
const NAMED_ENTRIES: [&str; 5] = [
    "tools",
    "providers",
    "signals",
    "agent_behaviors",
    "parallel_groups",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, nothing to fix: a go-agentic key crewtui reads and does nothing with.
    Info,
    Warning,
    Error,
}

/// One problem found in a crew file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; 0 only when the file itself could not be read.
    pub line: u32,
    pub column: u32,
    /// Where in the crew the problem is, e.g. `agents[2].tools[0]`; empty for YAML syntax
    /// errors and unreadable files.
    pub field: String,
    pub message: String,
}

impl Severity {
    fn word(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One line, with every control character made visible: keys, values and file names in it
/// come from the crew file.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Diagnostic {
            severity,
            file,
            line,
            column,
            field,
            message,
        } = self;
        let file = file.display().to_string();
        let severity = severity.word();
        write!(f, "{}:{line}:{column}: {severity}: ", visible_line(&file))?;
        if !field.is_empty() {
            write!(f, "{}: ", visible_line(field))?;
        }
        f.write_str(&visible_line(message))
    }
}

/// Diagnostics of one kind past the first [`MAX_PER_KIND`]: counted, not kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Omitted {
    pub severity: Severity,
    /// Where the first one left out is.
    pub file: PathBuf,
    /// What they share: the field and the message's first clause without names and numbers,
    /// e.g. ``agents[*].handoff_targets[*]: unknown agent `…` ``.
    pub kind: String,
    pub count: usize,
}

impl fmt::Display for Omitted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Omitted {
            severity,
            file,
            kind,
            count,
        } = self;
        let file = file.display().to_string();
        write!(
            f,
            "{}: {}: ... and {count} more like this: {}",
            visible_line(&file),
            severity.word(),
            visible_line(kind)
        )
    }
}

/// What makes two diagnostics alike: the severity, the field with indices and names left out,
/// and the message up to its first `;` (what follows is detail) with quoted names and numbers
/// left out.
fn kind_of(severity: Severity, field: &str, message: &str) -> (Severity, String) {
    let head = message.split(';').next().unwrap_or_default();
    let mut quoted = Vec::new();
    let mut shape = String::with_capacity(head.len());
    for (i, part) in head.split('`').enumerate() {
        if i % 2 == 1 {
            quoted.push(part);
            shape.push_str("`…`");
        } else {
            push_without_digits(&mut shape, part);
        }
    }
    let mut kind = String::with_capacity(field.len() + shape.len() + 2);
    let mut previous = "";
    let segments = field.split('.').filter(|_| !field.is_empty());
    for (i, segment) in segments.enumerate() {
        if i > 0 {
            kind.push('.');
        }
        let (name, index) = segment.split_once('[').unwrap_or((segment, ""));
        if NAMED_ENTRIES.contains(&previous) || quoted.contains(&name) {
            kind.push('*');
        } else {
            kind.push_str(name);
        }
        if !index.is_empty() {
            kind.push_str("[*]");
        }
        previous = name;
    }
    if !kind.is_empty() {
        kind.push_str(": ");
    }
    kind.push_str(&shape);
    (severity, kind)
}

/// `text` with each run of digits as one `#`.
fn push_without_digits(out: &mut String, text: &str) {
    for c in text.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('#') {
            out.push('#');
        }
    }
}

/// A place in a crew file: what a diagnostic points at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Site {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
    pub field: String,
}

impl Site {
    /// The same place under another field name, for a problem with a field that is absent
    /// (reported where its mapping starts).
    pub fn with_field(&self, field: String) -> Site {
        Site {
            field,
            ..self.clone()
        }
    }

    /// `file:line:column`, for messages that refer to a second place.
    pub fn position(&self) -> String {
        format!("{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// Collects diagnostics in the order found, at most [`MAX_PER_KIND`] of a kind;
/// [`Diagnostics::into_sorted`] orders them for display.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    kept: Vec<Diagnostic>,
    found: HashMap<(Severity, String), Seen>,
    /// Kinds past the cap, in the order they got there.
    omitted: Vec<Omitted>,
    /// go-agentic keys without effect, by section and key name: the first place and how
    /// many more.
    no_effect: BTreeMap<(&'static str, String), (Site, usize)>,
}

/// How many diagnostics of a kind were found, kept or not, and where in
/// [`Diagnostics::omitted`] the kind is once past the cap.
#[derive(Debug, Default)]
struct Seen {
    count: usize,
    omitted: Option<usize>,
}

impl Diagnostics {
    pub fn error(&mut self, at: &Site, message: impl Into<String>) {
        self.push(Severity::Error, at, message.into());
    }

    pub fn warning(&mut self, at: &Site, message: impl Into<String>) {
        self.push(Severity::Warning, at, message.into());
    }

    /// A diagnostic whose severity the caller chose.
    pub fn report(&mut self, severity: Severity, at: &Site, message: String) {
        self.push(severity, at, message);
    }

    /// A go-agentic key crewtui accepts and gives no meaning: one info line per key name (in
    /// `section`, such as `settings`), at its first place, however many agent files repeat it.
    pub fn no_effect(&mut self, at: &Site, section: &'static str, key: &str) {
        self.no_effect
            .entry((section, key.to_string()))
            .and_modify(|(_, more)| *more += 1)
            .or_insert_with(|| (at.clone(), 0));
    }

    /// An error about a whole file (unreadable, not UTF-8, not YAML): no field.
    pub fn file_error(&mut self, file: &Path, line: u32, column: u32, message: String) {
        self.add(Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            field: String::new(),
            message,
        });
    }

    /// Whether a diagnostic at `at` whose message begins with `head` would be kept: detail that
    /// is dear to work out (the closest names) is worth it only then.
    pub fn keeps(&self, severity: Severity, at: &Site, head: &str) -> bool {
        let kind = kind_of(severity, &at.field, head);
        self.found
            .get(&kind)
            .is_none_or(|seen| seen.count < MAX_PER_KIND)
    }

    pub fn has_errors(&self) -> bool {
        let omitted = self.omitted.iter().any(|o| o.severity == Severity::Error);
        omitted || self.kept.iter().any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics kept, sorted by file, line and column (the sort is stable, so problems
    /// found at one place keep the order they were found in), and what was left out.
    pub fn into_sorted(mut self) -> (Vec<Diagnostic>, Vec<Omitted>) {
        for ((_, key), (at, more)) in std::mem::take(&mut self.no_effect) {
            let elsewhere = match more {
                0 => String::new(),
                1 => " (and in 1 more place)".to_string(),
                n => format!(" (and in {n} more places)"),
            };
            // Not capped like other kinds: there are only so many go-agentic key names.
            self.kept.push(Diagnostic {
                severity: Severity::Info,
                file: at.file,
                line: at.line,
                column: at.column,
                field: at.field,
                message: format!("go-agentic key `{key}`, no effect in crewtui{elsewhere}"),
            });
        }
        self.kept
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        (self.kept, self.omitted)
    }

    fn push(&mut self, severity: Severity, at: &Site, message: String) {
        self.add(Diagnostic {
            severity,
            file: at.file.clone(),
            line: at.line,
            column: at.column,
            field: at.field.clone(),
            message,
        });
    }

    fn add(&mut self, diagnostic: Diagnostic) {
        let (severity, kind) = kind_of(diagnostic.severity, &diagnostic.field, &diagnostic.message);
        let seen = self.found.entry((severity, kind.clone())).or_default();
        seen.count += 1;
        if seen.count <= MAX_PER_KIND {
            self.kept.push(diagnostic);
            return;
        }
        match seen.omitted {
            Some(i) => self.omitted[i].count += 1,
            None => {
                seen.omitted = Some(self.omitted.len());
                self.omitted.push(Omitted {
                    severity,
                    file: diagnostic.file,
                    kind,
                    count: 1,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(field: &str) -> Site {
        Site {
            file: PathBuf::from("c.yaml"),
            line: 1,
            column: 1,
            field: field.to_string(),
        }
    }

    #[test]
    fn past_the_cap_a_kind_is_counted_not_kept() {
        let mut d = Diagnostics::default();
        for i in 0..MAX_PER_KIND + 7 {
            let at = site(&format!("agents[{i}].handoff_targets[0]"));
            assert_eq!(
                d.keeps(Severity::Error, &at, "unknown agent `x`"),
                i < MAX_PER_KIND
            );
            d.error(&at, format!("unknown agent `ghost{i}`; agents: a{i}"));
            let key = format!("routing.agent_behaviors.b{i}");
            d.warning(&site(&key), format!("unknown agent `b{i}`"));
        }
        d.warning(&site("agents[0].tools[0]"), "unknown agent `z`");
        let (kept, omitted) = d.into_sorted();
        assert_eq!(kept.len(), 2 * MAX_PER_KIND + 1);
        let omitted: Vec<String> = omitted.iter().map(Omitted::to_string).collect();
        assert_eq!(
            omitted,
            [
                "c.yaml: error: ... and 7 more like this: \
                 agents[*].handoff_targets[*]: unknown agent `…`",
                "c.yaml: warning: ... and 7 more like this: \
                 routing.agent_behaviors.*: unknown agent `…`",
            ]
        );
    }

    #[test]
    fn unknown_keys_of_any_name_are_one_kind() {
        let (severity, a) = kind_of(
            Severity::Warning,
            "agents[3].colour",
            "unknown key `colour` (ignored)",
        );
        let (_, b) = kind_of(severity, "agents[12].size", "unknown key `size` (ignored)");
        assert_eq!(a, b);
        assert_eq!(a, "agents[*].*: unknown key `…` (ignored)");
        let (_, c) = kind_of(
            severity,
            "tools.t1.timeout_seconds",
            "must not be negative, found -3",
        );
        assert_eq!(c, "tools.*.timeout_seconds: must not be negative, found -#");
    }

    #[test]
    fn what_a_diagnostic_shows_has_no_control_character() {
        let diagnostic = Diagnostic {
            severity: Severity::Warning,
            file: PathBuf::from("c\x1b[2J.yaml"),
            line: 2,
            column: 1,
            field: "agents[0].\x1b]0;owned\x07".to_string(),
            message: "unknown key `\x1b]0;owned\x07\u{9b}` (ignored)".to_string(),
        };
        assert_eq!(
            diagnostic.to_string(),
            "c␛[2J.yaml:2:1: warning: agents[0].␛]0;owned␇: unknown key `␛]0;owned␇␛[` (ignored)"
        );
    }
}
