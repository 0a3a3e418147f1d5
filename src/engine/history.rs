//! A session's conversation, and how each agent sees it.
//!
//! The history is one list shared by the crew, each entry tagged with who wrote it. An agent sees
//! its own replies and tool exchanges as they were; the replies of other agents reach it as user
//! messages labelled with their author, and their tool exchanges not at all.

use serde::{Deserialize, Serialize};

use super::event::{AgentId, Message};
use super::shared_vec::SharedVec;

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

    /// The messages to send to the model on behalf of `agent`.
    pub fn view_for(&self, agent: &AgentId) -> Vec<Message> {
        self.entries
            .iter()
            .filter_map(|entry| match &entry.author {
                Author::User => Some(entry.message.clone()),
                Author::Agent(id) if id == agent => Some(entry.message.clone()),
                Author::Agent(other) => match &entry.message {
                    Message::Assistant { content, .. } if !content.is_empty() => {
                        Some(Message::User {
                            content: format!("[{other}] {content}"),
                        })
                    }
                    Message::Assistant { .. } | Message::User { .. } | Message::Tool { .. } => None,
                },
            })
            .collect()
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
}
