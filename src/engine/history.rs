//! A session's conversation, and how each agent sees it.
//!
//! The history is one list shared by the crew, each entry tagged with who wrote it. An agent sees
//! its own replies and tool exchanges as they were; the replies of other agents reach it as user
//! messages labelled with their author, and their tool exchanges not at all.

use serde::{Deserialize, Serialize};

use crate::provider::ChatMessage;

/// Who added an entry to the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    User,
    Agent(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub author: Author,
    pub message: ChatMessage,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    entries: Vec<Entry>,
}

impl History {
    pub fn push(&mut self, author: Author, message: ChatMessage) {
        self.entries.push(Entry { author, message });
    }

    pub fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        self.entries.extend(entries);
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Entries added after the first `from` ones.
    pub fn since(&self, from: usize) -> &[Entry] {
        self.entries.get(from..).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The messages to send to the model on behalf of `agent`.
    pub fn view_for(&self, agent: &str) -> Vec<ChatMessage> {
        self.entries
            .iter()
            .filter_map(|entry| match &entry.author {
                Author::User => Some(entry.message.clone()),
                Author::Agent(id) if id == agent => Some(entry.message.clone()),
                Author::Agent(other) => match &entry.message {
                    ChatMessage::Assistant { content, .. } if !content.is_empty() => {
                        Some(ChatMessage::User {
                            content: format!("[{other}] {content}"),
                        })
                    }
                    ChatMessage::Assistant { .. }
                    | ChatMessage::User { .. }
                    | ChatMessage::Tool { .. } => None,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ToolCallRequest;

    #[test]
    fn other_agents_replies_are_labelled_and_their_tools_hidden() {
        let mut h = History::default();
        h.push(
            Author::User,
            ChatMessage::User {
                content: "plan a trip".into(),
            },
        );
        h.push(
            Author::Agent("planner".into()),
            ChatMessage::Assistant {
                content: String::new(),
                tool_calls: vec![ToolCallRequest {
                    id: "1".into(),
                    name: "calculator".into(),
                    arguments: "{}".into(),
                }],
            },
        );
        h.push(
            Author::Agent("planner".into()),
            ChatMessage::Tool {
                call_id: "1".into(),
                name: "calculator".into(),
                content: "4".into(),
            },
        );
        h.push(
            Author::Agent("planner".into()),
            ChatMessage::Assistant {
                content: "Go to Rome.".into(),
                tool_calls: vec![],
            },
        );
        assert_eq!(h.view_for("planner").len(), 4);
        assert_eq!(
            h.view_for("writer"),
            vec![
                ChatMessage::User {
                    content: "plan a trip".into()
                },
                ChatMessage::User {
                    content: "[planner] Go to Rome.".into()
                },
            ]
        );
    }
}
