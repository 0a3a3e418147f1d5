//! A session's conversation, and how each agent sees it.
//!
//! The history is one list shared by the crew, each entry tagged with who wrote it. An agent sees
//! its own replies and tool exchanges as they were; the replies of other agents reach it as user
//! messages labelled with their author, and their tool exchanges not at all.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::event::{AgentId, Message};
use super::shared_vec::SharedVec;
use crate::provider::ChatMessage;

/// Who added an entry to the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    User,
    Agent(AgentId),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub author: Author,
    pub message: Message,
}

/// Cheap to clone: every turn starts from a copy (see [`SharedVec`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    entries: SharedVec<Entry>,
}

impl History {
    pub fn push(&mut self, author: Author, message: Message) {
        self.entries.push(Entry { author, message });
    }

    pub fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        self.entries.extend(entries);
    }

    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> + '_ {
        self.entries.iter()
    }

    /// Entries added after the first `from` ones.
    pub fn since(&self, from: usize) -> impl Iterator<Item = &Entry> + '_ {
        self.entries.iter_from(from as u64)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps the first `len` entries; returns the rest.
    pub fn truncate(&mut self, len: usize) -> Vec<Entry> {
        self.entries.truncate(len)
    }

    /// Whether `prefix` is this history's start (it is, for the copy a turn began from).
    pub fn starts_with(&self, prefix: &History) -> bool {
        self.entries.starts_with(&prefix.entries)
    }

    /// The messages to send to the model on behalf of `agent`.
    pub fn view_for(&self, agent: &AgentId) -> Vec<Message> {
        self.entries
            .iter()
            .filter_map(|entry| entry.seen_by(agent))
            .collect()
    }
}

impl Entry {
    /// This entry as `agent` is shown it, if at all: the one rule of who sees what.
    pub fn seen_by(&self, agent: &AgentId) -> Option<Message> {
        match &self.author {
            Author::User => Some(self.message.clone()),
            Author::Agent(id) if id == agent => Some(self.message.clone()),
            Author::Agent(other) => match &self.message {
                Message::Assistant { content, .. } if !content.is_empty() => Some(Message::User {
                    content: format!("[{other}] {content}"),
                }),
                Message::Assistant { .. } | Message::User { .. } | Message::Tool { .. } => None,
            },
        }
    }
}

/// What one agent is shown of a history, kept up to date as the history grows: each model
/// call adds only the entries since the last one, where building the view afresh would cost
/// every call the whole history, and a long run the square of its length.
#[derive(Clone, Debug, Default)]
pub struct AgentView {
    /// The history the view was last brought up to (sharing its storage).
    seen: History,
    messages: Arc<Vec<Message>>,
    /// The same messages as providers take them.
    chat: Arc<Vec<ChatMessage>>,
}

impl AgentView {
    /// Brings the view up to `history`: adds what is new, or starts again if `history` is not
    /// the one the view followed (a parallel member's own copy, say).
    pub fn update(&mut self, history: &History, agent: &AgentId) {
        if !self.follows(history) {
            *self = AgentView::default();
        }
        let new: Vec<Message> = history
            .since(self.seen.len())
            .filter_map(|entry| entry.seen_by(agent))
            .collect();
        if !new.is_empty() {
            Arc::make_mut(&mut self.chat).extend(new.iter().map(ChatMessage::from));
            Arc::make_mut(&mut self.messages).extend(new);
        }
        self.seen = history.clone();
    }

    /// Whether [`AgentView::update`] to `history` extends the view rather than starting again.
    pub fn follows(&self, history: &History) -> bool {
        history.starts_with(&self.seen)
    }

    pub fn messages(&self) -> &Arc<Vec<Message>> {
        &self.messages
    }

    pub fn chat(&self) -> &Arc<Vec<ChatMessage>> {
        &self.chat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::CallRequest;

    #[test]
    fn other_agents_replies_are_labelled_and_their_tools_hidden() {
        let planner = AgentId::from("planner");
        let mut h = History::default();
        h.push(
            Author::User,
            Message::User {
                content: "plan a trip".into(),
            },
        );
        h.push(
            Author::Agent(planner.clone()),
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![CallRequest {
                    id: "1".into(),
                    name: "calculator".into(),
                    arguments: "{}".into(),
                }],
            },
        );
        h.push(
            Author::Agent(planner.clone()),
            Message::Tool {
                call_id: "1".into(),
                name: "calculator".into(),
                content: "4".into(),
            },
        );
        h.push(
            Author::Agent(planner.clone()),
            Message::Assistant {
                content: "Go to Rome.".into(),
                tool_calls: vec![],
            },
        );
        assert_eq!(h.view_for(&planner).len(), 4);
        assert_eq!(
            h.view_for(&"writer".into()),
            vec![
                Message::User {
                    content: "plan a trip".into()
                },
                Message::User {
                    content: "[planner] Go to Rome.".into()
                },
            ]
        );
    }

    #[test]
    fn a_view_kept_up_to_date_is_the_view_made_afresh() {
        let mut h = History::default();
        h.push(
            Author::Agent("planner".into()),
            Message::Assistant {
                content: "Go to Rome.".into(),
                tool_calls: vec![],
            },
        );
        // Kept up to date, the view is what building it afresh gives.
        let mut view = AgentView::default();
        let writer = AgentId::from("writer");
        view.update(&h, &writer);
        h.push(
            Author::User,
            Message::User {
                content: "and back".into(),
            },
        );
        view.update(&h, &writer);
        assert_eq!(**view.messages(), h.view_for(&writer));
        let mut other = History::default();
        other.push(
            Author::User,
            Message::User {
                content: "elsewhere".into(),
            },
        );
        view.update(&other, &writer);
        assert_eq!(
            **view.messages(),
            other.view_for(&writer),
            "a history it never followed"
        );
    }
}
