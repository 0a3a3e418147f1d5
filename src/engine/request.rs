//! A model request as recorded, and what is new in it since the same agent's previous one.
//!
//! Session format 2 keeps files linear in what happened: each `model_request` event carries
//! only a [`RequestDelta`] — how many leading messages it shares with the agent's previous
//! request, the rest, and the system prompt and tools only when they changed. The engine
//! makes deltas with [`Request::delta_from`]; the run model rebuilds whole requests with
//! [`Request::apply`]. A version 1 event is a delta that shares nothing.

use std::sync::Arc;

use super::event::{Message, ToolDef};

/// Everything one model call was sent. The messages are shared with what the agent is shown
/// ([`super::history::AgentView`]): a request costs what is new in it, not a copy of the
/// history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Request {
    pub model: String,
    pub system_prompt: String,
    pub messages: Arc<Vec<Message>>,
    pub tools: Vec<ToolDef>,
}

/// What a request adds to the previous request of the same agent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestDelta {
    /// Leading messages shared with the previous request.
    pub messages_from: usize,
    /// The messages after those.
    pub messages: Vec<Message>,
    /// `None`: as in the previous request.
    pub system_prompt: Option<String>,
    pub tools: Option<Vec<ToolDef>>,
}

impl Request {
    /// What is new in `self` since `previous` (everything when there is none).
    pub fn delta_from(&self, previous: Option<&Request>) -> RequestDelta {
        self.delta_after(previous.map(|p| (p, p.messages.as_slice())))
    }

    /// What is new in `self` since a previous request whose messages were `messages` (which
    /// the request itself may no longer hold, see [`Request::without_messages`]).
    pub fn delta_after(&self, previous: Option<(&Request, &[Message])>) -> RequestDelta {
        let Some((previous, before)) = previous else {
            return RequestDelta {
                messages_from: 0,
                messages: self.messages.to_vec(),
                system_prompt: Some(self.system_prompt.clone()),
                tools: Some(self.tools.clone()),
            };
        };
        // The same storage, grown since: shared without comparing (an agent's view grows in
        // place, and its requests are the view).
        let shared = if std::ptr::eq(before.as_ptr(), self.messages.as_ptr())
            && before.len() <= self.messages.len()
        {
            before.len()
        } else {
            before
                .iter()
                .zip(self.messages.iter())
                .take_while(|(a, b)| a == b)
                .count()
        };
        RequestDelta {
            messages_from: shared,
            messages: self.messages[shared..].to_vec(),
            system_prompt: (previous.system_prompt != self.system_prompt)
                .then(|| self.system_prompt.clone()),
            tools: (previous.tools != self.tools).then(|| self.tools.clone()),
        }
    }

    /// The request without its messages: what a later request may still be recorded against
    /// where holding the messages would make their owner copy them to grow. A delta against
    /// it carries every message again, which is correct, only longer.
    pub fn without_messages(&self) -> Request {
        Request {
            model: self.model.clone(),
            system_prompt: self.system_prompt.clone(),
            messages: Arc::default(),
            tools: self.tools.clone(),
        }
    }

    /// Makes this request the one `delta` describes on top of it.
    pub fn apply_delta(&mut self, model: &str, delta: &RequestDelta) {
        let messages = Arc::make_mut(&mut self.messages);
        messages.truncate(delta.messages_from.min(messages.len()));
        messages.extend(delta.messages.iter().cloned());
        if let Some(prompt) = &delta.system_prompt {
            self.system_prompt.clone_from(prompt);
        }
        if let Some(tools) = &delta.tools {
            self.tools.clone_from(tools);
        }
        if self.model != model {
            self.model = model.to_string();
        }
    }

    /// The whole request `delta` describes, on top of `previous`. A delta that claims more
    /// shared messages than `previous` has (a damaged file) shares only what there is.
    pub fn apply(previous: Option<&Request>, model: &str, delta: &RequestDelta) -> Request {
        let mut messages: Vec<Message> = previous
            .map(|p| p.messages[..delta.messages_from.min(p.messages.len())].to_vec())
            .unwrap_or_default();
        messages.extend(delta.messages.iter().cloned());
        Request {
            model: model.to_string(),
            system_prompt: delta
                .system_prompt
                .clone()
                .or_else(|| previous.map(|p| p.system_prompt.clone()))
                .unwrap_or_default(),
            messages: Arc::new(messages),
            tools: delta
                .tools
                .clone()
                .or_else(|| previous.map(|p| p.tools.clone()))
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Message {
        Message::User {
            content: text.into(),
        }
    }

    #[test]
    fn a_delta_carries_what_is_new_and_applies_back_to_the_whole() {
        let first = Request {
            model: "m".into(),
            system_prompt: "be brief".into(),
            messages: Arc::new(vec![user("a"), user("b")]),
            tools: vec![],
        };
        let mut second = first.clone();
        Arc::make_mut(&mut second.messages).push(user("c"));
        let delta = second.delta_from(Some(&first));
        assert_eq!(delta.messages_from, 2);
        assert_eq!(delta.messages, vec![user("c")]);
        assert_eq!(delta.system_prompt, None);
        assert_eq!(Request::apply(Some(&first), "m", &delta), second);
        let mut in_place = first.clone();
        in_place.apply_delta("m", &delta);
        assert_eq!(in_place, second);

        // An edited earlier message: shared up to it, the rest sent again.
        let mut third = second.clone();
        Arc::make_mut(&mut third.messages)[1] = user("B");
        third.system_prompt = "be long".into();
        let delta = third.delta_from(Some(&second));
        assert_eq!(delta.messages_from, 1);
        assert_eq!(delta.messages.len(), 2);
        assert_eq!(delta.system_prompt.as_deref(), Some("be long"));
        assert_eq!(Request::apply(Some(&second), "m", &delta), third);

        // The first request shares nothing.
        let delta = first.delta_from(None);
        assert_eq!(Request::apply(None, "m", &delta), first);
    }

    #[test]
    fn a_request_recorded_against_one_without_its_messages_is_whole_and_still_correct() {
        let first = Request {
            model: "m".into(),
            system_prompt: "be brief".into(),
            messages: Arc::new(vec![user("a"), user("b")]),
            tools: vec![],
        };
        let mut second = first.clone();
        Arc::make_mut(&mut second.messages).push(user("c"));
        // Against what the first request held, given apart from it: only what is new.
        let kept = first.without_messages();
        let delta = second.delta_after(Some((&kept, first.messages.as_slice())));
        assert_eq!(delta.messages_from, 2);
        assert_eq!(delta.messages, vec![user("c")]);
        assert_eq!(Request::apply(Some(&first), "m", &delta), second);
        // Against the request alone: every message again, the prompt still known.
        let delta = second.delta_from(Some(&kept));
        assert_eq!(delta.messages_from, 0);
        assert_eq!(delta.messages.len(), 3);
        assert_eq!(delta.system_prompt, None);
        assert_eq!(Request::apply(Some(&kept), "m", &delta), second);
    }
}
