//! A recording as a markdown transcript: what each agent was given and answered, the tools it
//! used, where the run went and how it ended. For reading, not for parsing back.
//!
//! A projection of the run model: the recording is folded once by [`Run`], and the transcript
//! tells its story chapter by chapter. A parallel group's members are shown one after the
//! other, in the group's order. Everything that came from a model, a tool or a file is made
//! visible ([`crate::text::visible`]) before it is written: a transcript is read in terminals.
//! Where a person stepped in (gates, decisions, guidance, re-runs) is told in [`interventions`],
//! in the agent's chapter at the place it happened.

mod interventions;

use std::fmt::Write as _;
use std::path::Path;

use super::{Entry, Header, ReadWarning, Reader, Recording, SessionError, format_duration};
use crate::engine::run::{
    AgentRun, CallState, Chapter, Run, Spend, TimelineLimits, ToolEnd, TurnRecord, TurnStep,
};
use crate::text::visible;

/// The transcript of `recording`, ending with its outcome and any lines that could not be read.
pub fn transcript(recording: &Recording) -> String {
    let mut run = transcript_run(&recording.header);
    for event in &recording.events {
        run.apply(event);
    }
    write(
        &recording.header,
        &recording.path,
        &run,
        recording.events.len(),
        &recording.warnings,
    )
}

/// The transcript of the session file at `path`, read one event at a time: a long recording
/// costs what its run model holds, never all its events at once. The lines that could not be
/// read come with it (the transcript lists them too).
pub fn transcript_file(path: &Path) -> Result<(String, Vec<ReadWarning>), SessionError> {
    let mut reader = Reader::open(path)?;
    let header = reader.header().clone();
    if header.version < 2 {
        // A version 1 file is upgraded whole (see `v1`); such files are short.
        drop(reader);
        let recording = super::read(path)?;
        let warnings = recording.warnings.clone();
        return Ok((transcript(&recording), warnings));
    }
    let mut run = transcript_run(&header);
    let mut events = 0;
    let mut warnings = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        match entry {
            Entry::Event(event) => {
                run.apply(&event);
                events += 1;
            }
            Entry::Warning(warning) => warnings.push(warning),
        }
    }
    let text = write(&header, path, &run, events, &warnings);
    Ok((text, warnings))
}

/// A transcript reads turns, calls and tool runs, never the timelines panes show: those keep
/// little.
fn transcript_run(header: &Header) -> Run {
    header.run(TimelineLimits {
        max_bytes: 64 * 1024,
        max_lines: 1_000,
    })
}

fn write(
    header: &Header,
    path: &Path,
    run: &Run,
    events: usize,
    warnings: &[ReadWarning],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Session {}\n", visible(&header.session_id));
    let _ = writeln!(out, "- Crew: {}", visible(&header.crew_name));
    let _ = writeln!(out, "- Started: {}", visible(&header.started_at));
    let _ = writeln!(out, "- File: {}", visible(&path.display().to_string()));
    let _ = writeln!(
        out,
        "- Recorded by crewtui {}\n",
        visible(&header.crewtui_version)
    );
    let _ = writeln!(out, "**Input**\n\n{}", quote(&header.input));
    for chapter in run.story() {
        chapter_text(&mut out, run, chapter);
    }
    match run.finish() {
        Some(finish) => {
            let _ = writeln!(out, "## Outcome: {}\n", finish.label());
            if !finish.reason.is_empty() {
                let _ = writeln!(out, "{}", quote(&finish.reason));
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
    let spend = run.spend();
    let _ = writeln!(
        out,
        "- Replies: {}\n- Tokens: {}\n- Cost: {}\n- Duration: {}\n- Events: {}",
        run.replies(),
        tokens_text(&spend),
        cost_text(&spend),
        format_duration(run.t_ms()),
        events
    );
    let spenders: Vec<String> = run
        .agents()
        .iter()
        .enumerate()
        .map(|(i, a)| (a, run.ledger().agent(i)))
        .filter(|(_, s)| s.tokens() > 0)
        .map(|(a, s)| format!("{} {}", visible(a.id.as_str()), cost_text(&s)))
        .collect();
    if spenders.len() > 1 {
        let _ = writeln!(out, "- Cost by agent: {}", spenders.join(", "));
    }
    if !warnings.is_empty() {
        let _ = writeln!(out, "\n## Lines not read\n");
        for warning in warnings {
            let _ = writeln!(out, "- {}", visible(&warning.to_string()));
        }
    }
    out
}

/// `1200 prompt (300 cached), 96 completion (about 12 of them estimated)`.
fn tokens_text(spend: &Spend) -> String {
    let mut text = format!("{} prompt", spend.prompt_tokens);
    if spend.cached_tokens > 0 {
        let _ = write!(text, " ({} cached)", spend.cached_tokens);
    }
    let _ = write!(text, ", {} completion", spend.output_tokens());
    if spend.estimated() {
        let _ = write!(
            text,
            " ({} of them estimated from the text: no figures from the provider)",
            spend.estimated_tokens
        );
    }
    text
}

fn cost_text(spend: &Spend) -> String {
    match spend.cost_text() {
        Some(cost) if spend.partly_priced() => format!("{cost} (some models have no price)"),
        Some(cost) => cost,
        None if spend.tokens() == 0 => "nothing".to_string(),
        None => "unknown (no price for the models used)".to_string(),
    }
}

fn at(t_ms: u64) -> String {
    format!("+{}", format_duration(t_ms))
}

fn chapter_text(out: &mut String, run: &Run, chapter: &Chapter) {
    match chapter {
        Chapter::Turn { agent, turn } => {
            if let Some(a) = run.agent(agent.as_str())
                && let Some(record) = a.turn_record(*turn)
            {
                turn_text(out, run, a, record, "##");
            }
        }
        Chapter::Group(g) => {
            let Some(group) = run.groups().get(*g) else {
                return;
            };
            let members: Vec<String> = group.members.iter().map(|m| visible(m.as_str())).collect();
            let _ = writeln!(
                out,
                "## Parallel group {}: {} ({})\n",
                visible(group.id.as_str()),
                members.join(", "),
                at(group.started_ms)
            );
            for member in &group.members {
                let record = group
                    .member_turns
                    .iter()
                    .rev()
                    .find(|(id, _)| id == member)
                    .and_then(|(_, turn)| {
                        let a = run.agent(member.as_str())?;
                        Some((a, a.turn_record(*turn)?))
                    });
                if let Some((a, record)) = record {
                    turn_text(out, run, a, record, "###");
                }
            }
            if let Some(end) = &group.end {
                let list = |agents: &[crate::engine::AgentId]| match agents {
                    [] => "none".to_string(),
                    agents => agents
                        .iter()
                        .map(|a| visible(a.as_str()))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                let _ = writeln!(
                    out,
                    "**Parallel group {} finished** ({}): completed {}; failed {}; timed out {}\n",
                    visible(group.id.as_str()),
                    at(end.t_ms),
                    list(&end.completed),
                    list(&end.failed),
                    list(&end.timed_out)
                );
            }
        }
        Chapter::Handoff {
            from,
            to,
            reason,
            signal,
            t_ms,
        } => {
            let why = visible(&reason.describe(signal.as_deref()));
            let _ = writeln!(
                out,
                "**Hand-off** {} → {} ({why}, {})\n",
                visible(&from.to_string()),
                visible(to.as_str()),
                at(*t_ms)
            );
        }
        Chapter::Paused {
            agent,
            prompt,
            t_ms,
        } => {
            let _ = writeln!(
                out,
                "**Paused** ({}): {} waits for an answer\n",
                at(*t_ms),
                visible(agent.as_str())
            );
            // The question is usually the reply just shown; say it only when it is not.
            let last_reply = run.agent(agent.as_str()).and_then(|a| {
                a.calls()
                    .rev()
                    .find_map(|c| c.reply.as_ref().filter(|r| r.kept))
                    .map(|r| r.content.as_str())
            });
            if last_reply != Some(prompt.as_str()) {
                let _ = writeln!(out, "{}", quote(prompt));
            }
        }
        Chapter::Answered { agent, input, t_ms } => {
            let _ = writeln!(
                out,
                "**Answer** to {} ({})\n\n{}",
                visible(agent.as_str()),
                at(*t_ms),
                quote(input)
            );
        }
        Chapter::Resumed { t_ms } => {
            let _ = writeln!(
                out,
                "---\n\n*Session {} resumed ({})*\n",
                visible(&run.session_id),
                at(*t_ms)
            );
        }
        Chapter::Intervention { agent, index } => {
            if let Some(a) = run.agent(agent.as_str())
                && let Some(item) = a.intervention(*index)
            {
                interventions::intervention_text(out, run, a, item, true);
            }
        }
        Chapter::Rerun(i) => {
            if let Some(rerun) = run.reruns().get(*i) {
                interventions::rerun_text(out, run, rerun);
            }
        }
    }
}

fn turn_text(out: &mut String, run: &Run, a: &AgentRun, record: &TurnRecord, level: &str) {
    let name = visible(a.id.as_str());
    let _ = writeln!(
        out,
        "{level} {name}, turn {} ({})\n",
        record.turn,
        at(record.started_ms)
    );
    let _ = writeln!(out, "**Input**\n\n{}", quote(&record.input));
    for step in &record.steps {
        match step {
            TurnStep::Call(i) => {
                let Some(call) = a.call(*i) else { continue };
                if !call.reasoning.trim().is_empty() {
                    let _ = writeln!(
                        out,
                        "**Reasoning** (not part of the reply)\n\n{}",
                        fenced(&call.reasoning, "text")
                    );
                }
                match (&call.reply, call.state) {
                    (Some(reply), _) => {
                        let _ = writeln!(
                            out,
                            "**Reply** ({})\n\n{}",
                            at(reply.t_ms),
                            quote(&reply.content)
                        );
                        let mut notes = Vec::new();
                        if let Some(usage) = reply.usage {
                            notes.push(format!(
                                "{} prompt + {} completion tokens",
                                usage.prompt_tokens, usage.completion_tokens
                            ));
                            if let Some(cost) = reply.spend.cost_text() {
                                notes.push(cost);
                            }
                        }
                        if let Some(reason) = &reply.finish_reason {
                            notes.push(format!("finish: {}", visible(reason)));
                        }
                        if reply.truncated {
                            notes.push("**the reply was cut off**".to_string());
                        }
                        if !notes.is_empty() {
                            let _ = writeln!(out, "*Usage: {}*\n", notes.join(", "));
                        }
                    }
                    (None, CallState::Streaming | CallState::Abandoned | CallState::Failed)
                    | (None, CallState::Cancelled)
                        if !call.partial.trim().is_empty() =>
                    {
                        let _ = writeln!(
                            out,
                            "**Partial reply** (never finished)\n\n{}",
                            quote(&call.partial)
                        );
                    }
                    (None, _) => {}
                }
            }
            TurnStep::Tool(i) => {
                let Some(tool) = record.tools.get(*i) else {
                    continue;
                };
                let name = visible(&tool.tool);
                let id = visible(tool.call_id.as_str());
                if !tool.arguments.is_null() {
                    let arguments = serde_json::to_string_pretty(&tool.arguments)
                        .unwrap_or_else(|_| tool.arguments.to_string());
                    let _ = writeln!(
                        out,
                        "**Tool call** `{name}` ({id}, {})\n\n{}",
                        at(tool.started_ms),
                        fenced(&arguments, "json")
                    );
                }
                match &tool.end {
                    Some((
                        _,
                        ToolEnd::Result {
                            output,
                            elapsed_ms,
                            truncated,
                        },
                    )) => {
                        let cut = if *truncated { ", truncated" } else { "" };
                        let took = format_duration(*elapsed_ms);
                        let _ = writeln!(
                            out,
                            "**Tool result** `{name}` ({id}, took {took}{cut})\n\n{}",
                            fenced(output, "text")
                        );
                    }
                    Some((t_ms, ToolEnd::Failed { kind, error })) => {
                        let _ = writeln!(
                            out,
                            "**Tool failed** `{name}` ({id}, {}): {}\n\n{}",
                            at(*t_ms),
                            kind.describe(),
                            fenced(error, "text")
                        );
                    }
                    None => {}
                }
            }
            TurnStep::Failed {
                error,
                status,
                retryable,
                t_ms,
            } => {
                let mut notes = Vec::new();
                if let Some(status) = status {
                    notes.push(format!("HTTP {status}"));
                }
                if *retryable {
                    notes.push("retryable".to_string());
                }
                notes.push(at(*t_ms));
                let _ = writeln!(
                    out,
                    "**{name} failed** ({})\n\n{}",
                    notes.join(", "),
                    fenced(error, "text")
                );
            }
            TurnStep::Cancelled { t_ms } => {
                let _ = writeln!(out, "**{name} cancelled** ({})\n", at(*t_ms));
            }
            TurnStep::Intervention(i) => {
                if let Some(item) = a.intervention(*i) {
                    interventions::intervention_text(out, run, a, item, false);
                }
            }
        }
    }
}

/// `text`, made visible, as a markdown block quote, so that headings or lists in a reply stay
/// inside it.
fn quote(text: &str) -> String {
    if text.is_empty() {
        return "> *(empty)*\n".to_string();
    }
    let text = visible(text);
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

/// `text`, made visible, in a fenced code block whose fence is longer than any run of
/// backticks inside it.
fn fenced(text: &str, language: &str) -> String {
    let text = visible(text);
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
