//! How a transcript tells where a person stepped in: the gates an agent stopped at and what
//! was decided there (an edit shown as a diff), guidance and when it was taken, holds, and
//! re-runs with their variants and the one kept. It reads the run model's record of them
//! ([`crate::engine::run::Intervention`], [`RerunRecord`]) and folds no event of its own.
//!
//! Everything that came from a model, a tool or a person is made visible before it is written.

use std::fmt::Write as _;

use super::{at, fenced, quote};
use crate::engine::run::{
    AgentRun, Decided, Guidance, Intervention, MessagesEdit, RequestEdit, RerunRecord, Run, Stop,
};
use crate::engine::{GateKind, Message, TurnEnd};
use crate::text::visible_line;

/// A variant's reply is told in a line of at most this many characters.
const BRIEF_CHARS: usize = 160;

/// Intervention `item` of agent `a`; `own_chapter` when it happened outside any turn of the
/// agent's, where the agent must be named.
pub(super) fn intervention_text(
    out: &mut String,
    run: &Run,
    a: &AgentRun,
    item: &Intervention,
    own_chapter: bool,
) {
    let name = visible_line(a.id.as_str());
    match item {
        Intervention::Stop(stop) => {
            let title = if own_chapter {
                format!("**{name} stopped**")
            } else {
                "**Stopped**".to_string()
            };
            stop_text(out, run, stop, &title);
        }
        Intervention::Guidance(guidance) => {
            let title = if own_chapter {
                format!("**Guidance** for {name}")
            } else {
                "**Guidance**".to_string()
            };
            guidance_text(out, run, guidance, &title);
        }
        Intervention::Hold { held: true, t_ms } => {
            let _ = writeln!(
                out,
                "**Held** {name} ({}): it stops at its next gate\n",
                at(*t_ms)
            );
        }
        Intervention::Hold { held: false, t_ms } => {
            let _ = writeln!(out, "**Released** {name} ({}): it goes on\n", at(*t_ms));
        }
    }
}

fn stop_text(out: &mut String, run: &Run, stop: &Stop, title: &str) {
    let text = |key: &str| stop.detail.get(key).and_then(|v| v.as_str());
    let mut about = vec![format!("gate {}", visible_line(stop.gate.as_str()))];
    match stop.kind {
        GateKind::ModelCall => {
            if let Some(n) = stop.detail.get("call").and_then(|v| v.as_u64()) {
                about.push(format!("model call {}", n.saturating_add(1)));
            }
            if let Some(model) = text("model").filter(|m| !m.is_empty()) {
                about.push(format!("model {}", visible_line(model)));
            }
        }
        GateKind::ToolCall | GateKind::Failure => {
            if let Some(id) = text("call_id") {
                about.push(format!("call {}", visible_line(id)));
            }
        }
        GateKind::Budget => {
            if let Some(tokens) = stop.detail.get("tokens").and_then(|v| v.as_u64()) {
                about.push(format!("{tokens} tokens so far"));
            }
            if let Some(usd) = stop.detail.get("cost_usd").and_then(|v| v.as_f64()) {
                about.push(format!("{} so far", crate::engine::run::dollars(usd)));
            }
        }
        GateKind::Turn | GateKind::Signal => {}
    }
    about.push(at(stop.t_ms));
    let _ = writeln!(
        out,
        "{title} {} ({}) — {}\n",
        visible_line(&stop.at),
        visible_line(&stop.reason),
        about.join(", ")
    );
    if stop.kind == GateKind::Failure
        && let Some(error) = text("error")
    {
        let _ = writeln!(out, "{}", quote(error));
    }
    if let Some(t_ms) = stop.left_open_ms {
        let _ = writeln!(
            out,
            "*The session ended here while it waited ({}): detached, resumable from this gate.*\n",
            at(t_ms)
        );
    }
    if stop.asked_again {
        let _ = writeln!(
            out,
            "*The session was resumed and asks for the approval of this call anew.*\n"
        );
    }
    match &stop.decision {
        Some(decided) => decision_text(out, stop, decided),
        None if stop.left_open_ms.is_none() && run.finish().is_none() => {
            let _ = writeln!(out, "*Still waiting when the recording ends.*\n");
        }
        None => {}
    }
}

fn decision_text(out: &mut String, stop: &Stop, decided: &Decided) {
    let words = match decided.op.as_str() {
        "continue" => "continued".to_string(),
        "step" => "stepped: it stops again at its next gate".to_string(),
        "approve" => "approved".to_string(),
        "deny" => format!(
            "denied: {}",
            visible_line(decided.reason.as_deref().unwrap_or("no reason given"))
        ),
        "edit_call" => "ran with edited arguments".to_string(),
        "edit_request" => "sent an edited request".to_string(),
        other => visible_line(other).into_owned(),
    };
    let by = if decided.by_resume {
        " by resuming the session"
    } else {
        ""
    };
    let _ = writeln!(out, "**Decided** ({}): {words}{by}\n", at(decided.t_ms));
    if let Some(after) = &decided.arguments {
        match stop.detail.get("arguments") {
            Some(before) => {
                let _ = writeln!(
                    out,
                    "{}",
                    fenced(&diff_lines(&pretty(before), &pretty(after)), "diff")
                );
            }
            None => {
                let _ = writeln!(out, "{}", fenced(&pretty(after), "json"));
            }
        }
    }
    if let Some(edit) = &decided.request {
        request_edit_text(out, edit);
    }
}

fn request_edit_text(out: &mut String, edit: &RequestEdit) {
    match &edit.system_prompt {
        Some((Some(before), after)) => {
            let _ = writeln!(
                out,
                "System prompt changed:\n\n{}",
                fenced(&diff_lines(before, after), "diff")
            );
        }
        Some((None, after)) => {
            let _ = writeln!(out, "System prompt sent:\n\n{}", quote(after));
        }
        None => {}
    }
    if let Some(MessagesEdit {
        before,
        after,
        changes,
    }) = &edit.messages
    {
        let counts = match before {
            Some(before) => format!("{before} before, {after} sent"),
            None => format!("{after} sent"),
        };
        let _ = writeln!(out, "Messages changed ({counts}):\n");
        for change in changes {
            let n = change.index + 1;
            match (&change.before, &change.after) {
                (Some(b), Some(a)) if role(b) == role(a) => {
                    let _ = writeln!(
                        out,
                        "*Message {n} ({}), edited:*\n\n{}",
                        role(a),
                        fenced(&diff_lines(b.content(), a.content()), "diff")
                    );
                }
                (Some(b), Some(a)) => {
                    let _ = writeln!(
                        out,
                        "*Message {n} ({}), was:*\n\n{}*now ({}):*\n\n{}",
                        role(b),
                        quote(b.content()),
                        role(a),
                        quote(a.content())
                    );
                }
                (None, Some(a)) => {
                    let _ = writeln!(
                        out,
                        "*Message {n} ({}), added:*\n\n{}",
                        role(a),
                        quote(a.content())
                    );
                }
                (Some(b), None) => {
                    let _ = writeln!(
                        out,
                        "*Message {n} ({}), taken out:*\n\n{}",
                        role(b),
                        quote(b.content())
                    );
                }
                (None, None) => {}
            }
        }
    }
}

/// Who a message is from, in words.
fn role(message: &Message) -> String {
    match message {
        Message::User { .. } => "user".to_string(),
        Message::Assistant { tool_calls, .. } if tool_calls.is_empty() => "assistant".to_string(),
        Message::Assistant { tool_calls, .. } => {
            let names: Vec<_> = tool_calls.iter().map(|c| visible_line(&c.name)).collect();
            format!("assistant, calling {}", names.join(", "))
        }
        Message::Tool { name, .. } => format!("result of {}", visible_line(name)),
    }
}

fn guidance_text(out: &mut String, run: &Run, guidance: &Guidance, title: &str) {
    let when = match (guidance.given_ms, guidance.taken_ms) {
        (Some(given), Some(taken)) => format!(
            "given ({}), taken into its next model call ({})",
            at(given),
            at(taken)
        ),
        (None, Some(taken)) => format!("taken into a model call ({})", at(taken)),
        (Some(given), None) if run.finish().is_some() => format!(
            "given ({}), never taken: no model call of its came after",
            at(given)
        ),
        (Some(given), None) => format!(
            "given ({}), not yet taken when the recording ends",
            at(given)
        ),
        (None, None) => "given".to_string(),
    };
    let _ = writeln!(out, "{title} {when}\n\n{}", quote(&guidance.text));
}

/// A re-run: the turn that runs again and why it differs; with variants, each one's reply in
/// brief and the one kept.
pub(super) fn rerun_text(out: &mut String, run: &Run, rerun: &RerunRecord) {
    let name = visible_line(rerun.agent.as_str());
    let again = rerun.turn.saturating_sub(1);
    let mut how = Vec::new();
    if rerun.system_prompt.is_some() {
        how.push("with another system prompt".to_string());
    }
    if let Some(t) = rerun.temperature {
        how.push(format!("at temperature {t}"));
    }
    let how = if how.is_empty() {
        String::new()
    } else {
        format!(", {}", how.join(" and "))
    };
    if rerun.variants <= 1 {
        let _ = writeln!(
            out,
            "**Re-run** ({}): {name}'s turn {again} runs again from its start as turn {}{how}; \
             the history goes back to where it began\n",
            at(rerun.t_ms),
            rerun.turn
        );
    } else {
        let _ = writeln!(
            out,
            "## {name}, turn {}: turn {again} again, as {} variants ({})\n\nThe turn runs \
             again from its start{how}, the history taken back to where it began; the \
             variants run side by side.\n",
            rerun.turn,
            rerun.variants,
            at(rerun.t_ms)
        );
    }
    match &rerun.system_prompt {
        Some((Some(before), after)) => {
            let _ = writeln!(
                out,
                "System prompt:\n\n{}",
                fenced(&diff_lines(before, after), "diff")
            );
        }
        Some((None, after)) => {
            let _ = writeln!(out, "System prompt:\n\n{}", quote(after));
        }
        None => {}
    }
    if rerun.variants <= 1 {
        return;
    }
    let kept = rerun.kept.map(|(k, _)| k);
    for (k, id) in (1..).zip(rerun.variant_ids()) {
        let record = run
            .agent(id.as_str())
            .and_then(|a| a.turn_record(rerun.turn));
        let said = match record.and_then(|r| r.end.as_ref()) {
            Some((end, reply, _)) => {
                let how = match end {
                    TurnEnd::Completed => "",
                    TurnEnd::Failed => " (failed)",
                    TurnEnd::Cancelled => " (cancelled)",
                    TurnEnd::Limit => " (stopped at the model-call limit)",
                    TurnEnd::TimedOut => " (timed out)",
                    TurnEnd::NotNeeded => " (not needed)",
                };
                format!("{}{how}", brief(reply))
            }
            None if record.is_some() => "*(still running when the recording ends)*".to_string(),
            None => "*(did not start)*".to_string(),
        };
        let mark = if kept == Some(k) { ", kept" } else { "" };
        let _ = writeln!(out, "- **Variant {k}**{mark}: {said}");
    }
    let _ = writeln!(out);
    match rerun.kept {
        Some((k, t_ms)) => {
            let _ = writeln!(
                out,
                "**Kept variant {k} of {}** ({}): the run goes on from it as {name}'s turn {}\n",
                rerun.variants,
                at(t_ms),
                rerun.turn
            );
        }
        None => {
            let _ = writeln!(out, "*No variant kept when the recording ends.*\n");
        }
    }
}

/// A reply on one line: its first line, cut at [`BRIEF_CHARS`] with a mark when there is more.
fn brief(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return "*(empty)*".to_string();
    };
    let first = visible_line(first);
    let mut shown: String = first.chars().take(BRIEF_CHARS).collect();
    if shown.len() < first.len() || lines.next().is_some() {
        shown.push_str(" …");
    }
    shown
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Lines longer than this product of line counts are shown whole, before then after, rather
/// than matched line by line.
const DIFF_CELLS: usize = 250_000;

/// `before` and `after` as a unified listing: lines kept (`  `), taken out (`- `), added (`+ `).
fn diff_lines(before: &str, after: &str) -> String {
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let mut out = String::new();
    if old.len().saturating_mul(new.len()) > DIFF_CELLS {
        for line in &old {
            let _ = writeln!(out, "- {line}");
        }
        for line in &new {
            let _ = writeln!(out, "+ {line}");
        }
        return out;
    }
    // The longest common subsequence, from the ends: common[i][j] is its length for
    // old[i..] and new[j..].
    let width = new.len() + 1;
    let mut common = vec![0usize; (old.len() + 1) * width];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i * width + j] = if old[i] == new[j] {
                common[(i + 1) * width + j + 1] + 1
            } else {
                common[(i + 1) * width + j].max(common[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            let _ = writeln!(out, "  {}", old[i]);
            i += 1;
            j += 1;
        } else if i < old.len()
            && (j == new.len() || common[(i + 1) * width + j] >= common[i * width + j + 1])
        {
            let _ = writeln!(out, "- {}", old[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "+ {}", new[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_keeps_shared_lines_and_marks_the_rest() {
        assert_eq!(
            diff_lines(
                "{\n  \"a\": 1,\n  \"b\": 2\n}",
                "{\n  \"a\": 1,\n  \"b\": 3\n}"
            ),
            "  {\n    \"a\": 1,\n-   \"b\": 2\n+   \"b\": 3\n  }\n"
        );
        assert_eq!(diff_lines("", "new"), "+ new\n");
        assert_eq!(diff_lines("old", ""), "- old\n");
    }

    #[test]
    fn what_a_file_says_of_a_gate_reaches_no_terminal_raw() {
        use crate::engine::run::TimelineLimits;
        use crate::engine::{Event, EventKind};
        let esc = "\u{1b}[2J\u{7}";
        let kinds = [
            EventKind::Gate {
                gate: format!("g1{esc}").as_str().into(),
                agent: format!("a{esc}").as_str().into(),
                kind: GateKind::ToolCall,
                reason: format!("tool:{esc}"),
                detail: serde_json::json!({"tool": esc, "call_id": esc, "arguments": {"x": esc}}),
            },
            EventKind::Guidance {
                agent: format!("a{esc}").as_str().into(),
                text: format!("be {esc}"),
                entry: None,
            },
            EventKind::Decision {
                gate: format!("g1{esc}").as_str().into(),
                op: "edit_call".into(),
                by_resume: false,
                reason: Some(esc.into()),
                arguments: Some(serde_json::json!({"x": format!("{esc}!")})),
                system_prompt: None,
                messages: None,
            },
            EventKind::Gate {
                gate: "g2".into(),
                agent: format!("a{esc}").as_str().into(),
                kind: GateKind::ModelCall,
                reason: "step".into(),
                detail: serde_json::json!({"call": u64::MAX, "model": esc,
                    "system_prompt": esc, "messages": [{"role": "user", "content": esc}]}),
            },
            EventKind::Decision {
                gate: "g2".into(),
                op: format!("deny{esc}"),
                by_resume: false,
                reason: Some(esc.into()),
                arguments: None,
                system_prompt: Some(format!("{esc}?")),
                messages: Some(vec![Message::User {
                    content: format!("{esc}."),
                }]),
            },
        ];
        let mut run = Run::new("c", &[], TimelineLimits::default());
        for (seq, kind) in (0..).zip(kinds) {
            run.apply(&Event { seq, t_ms: 0, kind });
        }
        let a = &run.agents()[0];
        let mut out = String::new();
        for i in 0..3 {
            intervention_text(&mut out, &run, a, a.intervention(i).unwrap(), true);
        }
        assert!(out.contains("␛[2J␇"), "{out}");
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
        assert!(out.contains("ran with edited arguments"), "{out}");
        assert!(out.contains("System prompt changed:"), "{out}");
    }

    #[test]
    fn a_brief_is_one_line_and_says_when_there_is_more() {
        assert_eq!(brief("Draft."), "Draft.");
        assert_eq!(brief("\nFirst.\nSecond."), "First. …");
        assert_eq!(brief(&"x".repeat(200)).chars().count(), BRIEF_CHARS + 2);
        assert_eq!(brief("a\u{1b}[31mred"), "a␛[31mred");
        assert_eq!(brief(""), "*(empty)*");
    }
}
