//! A recording as a markdown transcript: what each agent was given and answered, the tools it
//! used, where the run went and how it ended. For reading, not for parsing back.
//!
//! Parallel agents' events interleave in the file; here each member's turns are gathered and
//! shown one member after the other, in the group's order, when the group finishes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Recording, format_duration};
use crate::engine::{Event, EventKind, Outcome};

/// The transcript of `recording`, ending with its outcome and any lines that could not be read.
pub fn transcript(recording: &Recording) -> String {
    let header = &recording.header;
    let mut t = Transcript::default();
    let out = &mut t.out;
    let _ = writeln!(out, "# Session {}\n", header.session_id);
    let _ = writeln!(out, "- Crew: {}", header.crew_name);
    let _ = writeln!(out, "- Started: {}", header.started_at);
    let _ = writeln!(out, "- File: {}", recording.path.display());
    let _ = writeln!(out, "- Recorded by crewtui {}\n", header.crewtui_version);
    let _ = writeln!(out, "**Input**\n\n{}", quote(&header.input));
    for event in &recording.events {
        t.event(event);
    }
    let out = t.finish(recording);
    // Read in a terminal or a pager as often as in an editor: nothing a model, a tool or the
    // file itself wrote may drive one.
    match crate::text::visible(&out) {
        Cow::Borrowed(_) => out,
        Cow::Owned(shown) => shown,
    }
}

#[derive(Default)]
struct Transcript {
    out: String,
    /// The parallel group running now, with each member's part written so far.
    group: Option<Group>,
    /// Streamed text of replies not finished yet, by agent: shown if the reply never ends.
    partial: HashMap<String, String>,
    reasoning: HashMap<String, String>,
    /// Each agent's last whole reply, so that a pause asking with it does not repeat it.
    last_reply: HashMap<String, String>,
    sessions_started: usize,
    replies: u64,
    tokens: (u64, u64),
    outcome: Option<(Outcome, String)>,
    last_t_ms: u64,
}

struct Group {
    name: String,
    agents: Vec<String>,
    parts: HashMap<String, String>,
}

impl Transcript {
    /// Where text about `agent` goes: its part of the running group, else the transcript.
    fn about(&mut self, agent: &str) -> &mut String {
        match &mut self.group {
            Some(group) if group.agents.iter().any(|a| a == agent) => {
                group.parts.entry(agent.to_string()).or_default()
            }
            Some(_) | None => &mut self.out,
        }
    }

    fn event(&mut self, event: &Event) {
        self.last_t_ms = event.t_ms;
        let at = format!("+{}", format_duration(event.t_ms));
        match &event.kind {
            EventKind::SessionStarted { session_id, .. } => {
                self.sessions_started += 1;
                if self.sessions_started > 1 {
                    let _ = writeln!(self.out, "---\n\n*Session {session_id} resumed ({at})*\n");
                }
            }
            EventKind::AgentStarted { agent, turn, input } => {
                let level = if self.group.is_some() { "###" } else { "##" };
                let out = self.about(agent);
                let _ = writeln!(out, "{level} {agent}, turn {turn} ({at})\n");
                let _ = writeln!(out, "**Input**\n\n{}", quote(input));
            }
            // What the model was sent is the history shown above; the TUI's inspector is the
            // place to look at it whole.
            EventKind::ModelRequest { .. } => {}
            EventKind::Token {
                agent,
                text,
                reasoning,
            } => {
                let streams = if *reasoning {
                    &mut self.reasoning
                } else {
                    &mut self.partial
                };
                streams.entry(agent.clone()).or_default().push_str(text);
            }
            EventKind::Message {
                agent,
                content,
                usage,
                finish_reason,
                truncated,
            } => {
                self.partial.remove(agent);
                let reasoning = self.reasoning.remove(agent).unwrap_or_default();
                self.replies += 1;
                if let Some(usage) = usage {
                    self.tokens.0 = self.tokens.0.saturating_add(usage.prompt_tokens);
                    self.tokens.1 = self.tokens.1.saturating_add(usage.completion_tokens);
                }
                self.last_reply.insert(agent.clone(), content.clone());
                let out = self.about(agent);
                if !reasoning.trim().is_empty() {
                    let _ = writeln!(
                        out,
                        "**Reasoning** (not part of the reply)\n\n{}",
                        fenced(&reasoning, "text")
                    );
                }
                let _ = writeln!(out, "**Reply** ({at})\n\n{}", quote(content));
                let mut notes = Vec::new();
                if let Some(usage) = usage {
                    notes.push(format!(
                        "{} prompt + {} completion tokens",
                        usage.prompt_tokens, usage.completion_tokens
                    ));
                }
                if let Some(reason) = finish_reason {
                    notes.push(format!("finish: {reason}"));
                }
                if *truncated {
                    notes.push("**the reply was cut off**".to_string());
                }
                if !notes.is_empty() {
                    let _ = writeln!(out, "*Usage: {}*\n", notes.join(", "));
                }
            }
            EventKind::ToolCall {
                agent,
                call_id,
                tool,
                arguments,
            } => {
                let arguments = serde_json::to_string_pretty(arguments)
                    .unwrap_or_else(|_| arguments.to_string());
                let out = self.about(agent);
                let _ = writeln!(
                    out,
                    "**Tool call** `{tool}` ({call_id}, {at})\n\n{}",
                    fenced(&arguments, "json")
                );
            }
            EventKind::ToolResult {
                agent,
                call_id,
                tool,
                output,
                elapsed_ms,
                truncated,
            } => {
                let cut = if *truncated { ", truncated" } else { "" };
                let took = format_duration(*elapsed_ms);
                let out = self.about(agent);
                let _ = writeln!(
                    out,
                    "**Tool result** `{tool}` ({call_id}, took {took}{cut})\n\n{}",
                    fenced(output, "text")
                );
            }
            EventKind::ToolFailed {
                agent,
                call_id,
                tool,
                error,
                kind,
            } => {
                let kind = kind.describe();
                let out = self.about(agent);
                let _ = writeln!(
                    out,
                    "**Tool failed** `{tool}` ({call_id}, {at}): {kind}\n\n{}",
                    fenced(error, "text")
                );
            }
            EventKind::Handoff {
                from,
                to,
                reason,
                signal,
            } => {
                let why = reason.describe(signal.as_deref());
                let out = self.about(from);
                let _ = writeln!(out, "**Hand-off** {from} → {to} ({why}, {at})\n");
            }
            EventKind::ParallelStarted { group, agents } => {
                self.end_group();
                let _ = writeln!(
                    self.out,
                    "## Parallel group {group}: {} ({at})\n",
                    agents.join(", ")
                );
                self.group = Some(Group {
                    name: group.clone(),
                    agents: agents.clone(),
                    parts: HashMap::new(),
                });
            }
            EventKind::ParallelFinished {
                group,
                completed,
                failed,
                timed_out,
            } => {
                if self.group.as_ref().is_some_and(|g| g.name == *group) {
                    self.end_group();
                }
                let list = |agents: &[String]| match agents {
                    [] => "none".to_string(),
                    agents => agents.join(", "),
                };
                let _ = writeln!(
                    self.out,
                    "**Parallel group {group} finished** ({at}): completed {}; failed {}; \
                     timed out {}\n",
                    list(completed),
                    list(failed),
                    list(timed_out)
                );
            }
            EventKind::Paused { agent, prompt } => {
                let asked = self.last_reply.get(agent) != Some(prompt);
                let out = self.about(agent);
                let _ = writeln!(out, "**Paused** ({at}): {agent} waits for an answer\n");
                if asked {
                    let _ = writeln!(out, "{}", quote(prompt));
                }
            }
            EventKind::Resumed { agent, input } => {
                let out = self.about(agent);
                let _ = writeln!(out, "**Answer** to {agent} ({at})\n\n{}", quote(input));
            }
            EventKind::AgentFailed {
                agent,
                error,
                status,
                retryable,
            } => {
                self.cut_off(agent);
                let mut notes = Vec::new();
                if let Some(status) = status {
                    notes.push(format!("HTTP {status}"));
                }
                if *retryable {
                    notes.push("retryable".to_string());
                }
                notes.push(at);
                let out = self.about(agent);
                let _ = writeln!(
                    out,
                    "**{agent} failed** ({})\n\n{}",
                    notes.join(", "),
                    fenced(error, "text")
                );
            }
            EventKind::AgentCancelled { agent } => {
                self.cut_off(agent);
                let out = self.about(agent);
                let _ = writeln!(out, "**{agent} cancelled** ({at})\n");
            }
            EventKind::SessionFinished { outcome, reason } => {
                self.end_group();
                self.outcome = Some((*outcome, reason.clone()));
            }
        }
    }

    /// Shows what `agent` had streamed of a reply that will never finish.
    fn cut_off(&mut self, agent: &str) {
        self.reasoning.remove(agent);
        if let Some(text) = self.partial.remove(agent).filter(|t| !t.trim().is_empty()) {
            let out = self.about(agent);
            let _ = writeln!(
                out,
                "**Partial reply** (never finished)\n\n{}",
                quote(&text)
            );
        }
    }

    /// Writes out the running group's members, in the group's order.
    fn end_group(&mut self) {
        if let Some(mut group) = self.group.take() {
            for agent in &group.agents {
                if let Some(part) = group.parts.remove(agent) {
                    self.out.push_str(&part);
                }
            }
        }
    }

    fn finish(mut self, recording: &Recording) -> String {
        let mut unfinished: Vec<String> = self.partial.keys().cloned().collect();
        unfinished.sort();
        for agent in &unfinished {
            self.cut_off(agent);
        }
        self.end_group();
        let out = &mut self.out;
        match &self.outcome {
            Some((outcome, reason)) => {
                let outcome = match outcome {
                    Outcome::Completed => "completed",
                    Outcome::Paused => "paused",
                    Outcome::Failed => "failed",
                    Outcome::Cancelled => "cancelled",
                    Outcome::Limit => "stopped at a limit",
                };
                let _ = writeln!(out, "## Outcome: {outcome}\n");
                if !reason.is_empty() {
                    let _ = writeln!(out, "{}", quote(reason));
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "## Outcome: cut off\n\nThe recording ends before the session did: it was \
                     stopped without finishing, or is still running.\n"
                );
            }
        }
        let _ = writeln!(
            out,
            "- Replies: {}\n- Tokens: {} prompt, {} completion\n- Duration: {}\n- Events: {}",
            self.replies,
            self.tokens.0,
            self.tokens.1,
            format_duration(self.last_t_ms),
            recording.events.len()
        );
        if !recording.warnings.is_empty() {
            let _ = writeln!(out, "\n## Lines not read\n");
            for warning in &recording.warnings {
                let _ = writeln!(out, "- {warning}");
            }
        }
        self.out
    }
}

/// `text` as a markdown block quote, so that headings or lists in a reply stay inside it.
fn quote(text: &str) -> String {
    if text.is_empty() {
        return "> *(empty)*\n".to_string();
    }
    let mut quoted = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        quoted.push('>');
        if !line.is_empty() {
            quoted.push(' ');
            quoted.push_str(line);
        }
        quoted.push('\n');
    }
    quoted
}

/// `text` in a fenced code block whose fence is longer than any run of backticks inside it.
fn fenced(text: &str, language: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run.max(2) + 1);
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{language}\n{text}{newline}{fence}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_keep_every_line_inside() {
        assert_eq!(quote("# Title\n\nbody"), "> # Title\n>\n> body\n");
        assert_eq!(quote(""), "> *(empty)*\n");
    }

    #[test]
    fn fences_outgrow_the_backticks_they_hold() {
        assert_eq!(fenced("a", "text"), "```text\na\n```\n");
        assert_eq!(
            fenced("```rust\nx\n```\n", ""),
            "````\n```rust\nx\n```\n````\n"
        );
    }
}
