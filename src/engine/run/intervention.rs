//! Where a person stepped in on a run, kept for telling it afterwards: the gates an agent
//! stopped at and how each was left (what an edit changed, worked out once, here), guidance
//! given and when it was taken, holds, and re-runs with the variant kept.
//!
//! The panes show these as timeline notes; this is the record a transcript reads, placed
//! where it happened: inside the agent's open turn, or between chapters when it had none.
//! Only [`super::Run::apply`] fills it in. Nothing here formats text for a reader.

use super::{Chapter, Run};
use crate::engine::event::{AgentId, GateId, GateKind, Message};

/// One time a person stepped in on an agent.
#[derive(Clone, Debug, PartialEq)]
pub enum Intervention {
    /// Boxed: a stop holds much more than the others.
    Stop(Box<Stop>),
    Guidance(Guidance),
    /// Held at its next gate (`held`), or let go.
    Hold {
        held: bool,
        t_ms: u64,
    },
}

/// A gate an agent stopped at.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub gate: GateId,
    pub kind: GateKind,
    /// The breakpoint spec that hit, `step`, `hold`, `approval` or `budget`.
    pub reason: String,
    /// Where, in words: `before calling fault`.
    pub at: String,
    /// What it stopped at (the tool call, the signal, the budget), without a model call's
    /// request: that is on record as the call's own, and kept once is enough.
    pub detail: serde_json::Value,
    pub t_ms: u64,
    pub decision: Option<Decided>,
    /// The session ended while the gate waited (a detach): resumable from here.
    pub left_open_ms: Option<u64>,
    /// A tool call waiting for approval when the session ended is asked anew on resuming.
    pub asked_again: bool,
}

/// How a gate was left.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    /// `continue`, `step`, `approve`, `deny`, `edit_call`, `edit_request`.
    pub op: String,
    /// Resuming the session was the decision.
    pub by_resume: bool,
    /// A denial's reason.
    pub reason: Option<String>,
    /// The arguments an edited tool call ran with.
    pub arguments: Option<serde_json::Value>,
    pub request: Option<RequestEdit>,
    pub t_ms: u64,
}

/// What an edited model request changed from the one the agent stopped with.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestEdit {
    /// The prompt before (`None` when the gate did not say) and as sent; absent when unchanged.
    pub system_prompt: Option<(Option<String>, String)>,
    pub messages: Option<MessagesEdit>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MessagesEdit {
    /// How many there were, when the gate said.
    pub before: Option<usize>,
    pub after: usize,
    /// The messages that differ, by their place in the request as sent.
    pub changes: Vec<MessageChange>,
}

/// A message changed (both), added (`after` only) or taken out (`before` only).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageChange {
    pub index: usize,
    pub before: Option<Message>,
    pub after: Option<Message>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Guidance {
    pub text: String,
    /// `None` when the recording has it only as taken.
    pub given_ms: Option<u64>,
    /// When a model call took it in; `None` while it waits.
    pub taken_ms: Option<u64>,
}

/// A turn run again from its start.
#[derive(Clone, Debug, PartialEq)]
pub struct RerunRecord {
    pub agent: AgentId,
    /// The turn number the re-run has (the turn run again is the one before it).
    pub turn: u32,
    pub variants: u32,
    /// The prompt it runs with instead of the agent's own, and the one it had before.
    pub system_prompt: Option<(Option<String>, String)>,
    pub temperature: Option<f64>,
    pub t_ms: u64,
    /// The variant kept, and when.
    pub kept: Option<(u32, u64)>,
}

impl RerunRecord {
    /// The ids the variants ran under (`writer~1`, ...); none for a re-run as the agent itself.
    pub fn variant_ids(&self) -> Vec<AgentId> {
        if self.variants <= 1 {
            return Vec::new();
        }
        (1..=self.variants)
            .map(|k| AgentId(format!("{}~{k}", self.agent)))
            .collect()
    }
}

/// The differences between the request a model-call gate showed (`shown`: its detail) and the
/// one sent after an edit.
pub(super) fn request_edit(
    shown: &serde_json::Value,
    system_prompt: Option<&String>,
    messages: Option<&Vec<Message>>,
) -> RequestEdit {
    let prompt_before = shown
        .get("system_prompt")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let system_prompt = system_prompt
        .filter(|after| prompt_before.as_deref() != Some(after.as_str()))
        .map(|after| (prompt_before, after.clone()));
    let before: Option<Vec<Message>> = shown
        .get("messages")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let messages = messages
        .map(|after| match &before {
            Some(before) => MessagesEdit {
                before: Some(before.len()),
                after: after.len(),
                changes: changed_messages(before, after),
            },
            None => MessagesEdit {
                before: None,
                after: after.len(),
                changes: after
                    .iter()
                    .enumerate()
                    .map(|(index, m)| MessageChange {
                        index,
                        before: None,
                        after: Some(m.clone()),
                    })
                    .collect(),
            },
        })
        .filter(|edit| !edit.changes.is_empty());
    RequestEdit {
        system_prompt,
        messages,
    }
}

/// The messages that differ, once the run they share at both ends is set aside: a message
/// taken out of the middle is one change, not every message after it.
fn changed_messages(before: &[Message], after: &[Message]) -> Vec<MessageChange> {
    let head = before.iter().zip(after).take_while(|(b, a)| b == a).count();
    let tail = before[head..]
        .iter()
        .rev()
        .zip(after[head..].iter().rev())
        .take_while(|(b, a)| b == a)
        .count();
    let before = &before[head..before.len() - tail];
    let after = &after[head..after.len() - tail];
    (0..before.len().max(after.len()))
        .map(|i| MessageChange {
            index: head + i,
            before: before.get(i).cloned(),
            after: after.get(i).cloned(),
        })
        .collect()
}

/// A gate's detail without what the run keeps elsewhere: a model call's request (kept as the
/// call's), a turn's input (kept as the turn's).
pub(super) fn slim_detail(kind: GateKind, detail: &serde_json::Value) -> serde_json::Value {
    let kept_elsewhere: &[&str] = match kind {
        GateKind::ModelCall => &["system_prompt", "messages"],
        GateKind::Turn => &["input"],
        GateKind::ToolCall | GateKind::Signal | GateKind::Failure | GateKind::Budget => &[],
    };
    match detail {
        serde_json::Value::Object(fields) if !kept_elsewhere.is_empty() => fields
            .iter()
            .filter(|(key, _)| !kept_elsewhere.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        _ => detail.clone(),
    }
}

impl Run {
    /// Keeps `item` for `agent`: in its open turn, else as a chapter of its own.
    pub(super) fn intervene(&mut self, agent: &AgentId, item: Intervention) {
        let a = self.agent_mut(agent);
        a.interventions.push(item);
        let index = a.interventions.len() - 1;
        match a.open_turn() {
            Some(open) => open.steps.push(super::TurnStep::Intervention(index)),
            None => self.story.push(Chapter::Intervention {
                agent: agent.clone(),
                index,
            }),
        }
    }

    /// The stop at `gate` that `agent` made, to record how it was left.
    pub(super) fn stop_mut(&mut self, agent: &AgentId, gate: &GateId) -> Option<&mut Stop> {
        let a = self.agent_mut(agent);
        let at = a
            .interventions
            .rfind_index(|i| matches!(i, Intervention::Stop(s) if s.gate == *gate))?;
        match a.interventions.get_mut(at) {
            Some(Intervention::Stop(stop)) => Some(&mut **stop),
            Some(Intervention::Guidance(_) | Intervention::Hold { .. }) | None => None,
        }
    }

    /// Guidance `agent` took into a model call at `t_ms`: the oldest given with this text and
    /// not yet taken, else a record of it as taken only.
    pub(super) fn guidance_taken(&mut self, agent: &AgentId, text: &str, t_ms: u64) {
        let a = self.agent_mut(agent);
        let first = a.interventions.first_index();
        let waiting = a.interventions.iter().position(
            |i| matches!(i, Intervention::Guidance(g) if g.text == text && g.taken_ms.is_none()),
        );
        if let Some(at) = waiting
            && let Some(Intervention::Guidance(g)) = a.interventions.get_mut(first + at as u64)
        {
            g.taken_ms = Some(t_ms);
            return;
        }
        self.intervene(
            agent,
            Intervention::Guidance(Guidance {
                text: text.to_string(),
                given_ms: None,
                taken_ms: Some(t_ms),
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Message {
        Message::User {
            content: text.to_string(),
        }
    }

    #[test]
    fn an_edit_names_only_the_messages_it_changed() {
        let shown = serde_json::json!({
            "system_prompt": "Be terse.",
            "messages": [user("a"), user("b"), user("c"), user("d")],
        });
        let sent = vec![user("a"), user("c"), user("D")];
        let edit = request_edit(&shown, Some(&"Be terse.".to_string()), Some(&sent));
        assert_eq!(edit.system_prompt, None, "the prompt was sent as it was");
        let messages = edit.messages.unwrap();
        assert_eq!((messages.before, messages.after), (Some(4), 3));
        let changes: Vec<(usize, Option<&str>, Option<&str>)> = messages
            .changes
            .iter()
            .map(|c| {
                (
                    c.index,
                    c.before.as_ref().map(Message::content),
                    c.after.as_ref().map(Message::content),
                )
            })
            .collect();
        assert_eq!(
            changes,
            [
                (1, Some("b"), Some("c")),
                (2, Some("c"), Some("D")),
                (3, Some("d"), None)
            ]
        );

        let prompt = request_edit(&shown, Some(&"Be kind.".to_string()), None);
        assert_eq!(
            prompt.system_prompt,
            Some((Some("Be terse.".to_string()), "Be kind.".to_string()))
        );
        assert_eq!(prompt.messages, None);
    }

    #[test]
    fn a_gate_keeps_what_it_was_about_but_not_the_request_or_input() {
        let detail = serde_json::json!({
            "call": 2, "model": "m", "system_prompt": "long", "messages": [user("x")],
        });
        assert_eq!(
            slim_detail(GateKind::ModelCall, &detail),
            serde_json::json!({"call": 2, "model": "m"})
        );
        let turn = serde_json::json!({"input": "a long hand-off"});
        assert_eq!(slim_detail(GateKind::Turn, &turn), serde_json::json!({}));
        let tool = serde_json::json!({"tool": "fault", "arguments": {"mode": "panic"}});
        assert_eq!(slim_detail(GateKind::ToolCall, &tool), tool);
    }
}
