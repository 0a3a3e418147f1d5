//! What a pane's border says: the agent's label, its role, a state badge, and the glyphs that
//! tell a failed or cancelled agent without colour; and how wide a pane must be to say it.
//!
//! A label is the agent's name, made unique with its id when two agents share a name. A title
//! that runs out of room first drops the role, then shortens the badge to a glyph and a time;
//! it never cuts the label: the layout gives up on the grid first (see `layout.rs`), so no two
//! titles on screen can read the same.

use std::collections::BTreeMap;

use unicode_width::UnicodeWidthStr;

use crate::engine::Run;
use crate::engine::run::{AgentRun, AgentState};
use crate::text::visible_line;

/// Each agent's label, by its place in the run.
pub fn labels(run: &Run) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for a in run.agents() {
        *seen.entry(visible_line(&a.name).into_owned()).or_default() += 1;
    }
    run.agents()
        .iter()
        .map(|a| {
            let name = visible_line(&a.name).into_owned();
            let id = visible_line(a.id.as_str());
            if name.trim().is_empty() {
                id.into_owned()
            } else if seen.get(&name).is_some_and(|&n| n > 1) && name != id {
                format!("{name} ({id})")
            } else {
                name
            }
        })
        .collect()
}

/// A state in one character, for short badges and lists.
pub fn state_glyph(state: AgentState) -> &'static str {
    match state {
        AgentState::Idle => "·",
        AgentState::Waiting => "◦",
        AgentState::Thinking => "…",
        AgentState::Streaming => "▸",
        AgentState::RunningTool => "⚙",
        AgentState::Paused => "⏸",
        AgentState::Stopped => "◆",
        AgentState::Done => "✓",
        AgentState::Failed => "✗",
        AgentState::Cancelled => "■",
    }
}

/// The glyph that marks an agent that failed (itself, or one of its tools) or was cancelled.
pub fn trouble_glyph(agent: &AgentRun) -> Option<&'static str> {
    if agent.failed {
        return Some("✗");
    }
    match agent.state {
        AgentState::Failed => Some("✗"),
        AgentState::Cancelled => Some("■"),
        AgentState::Idle
        | AgentState::Waiting
        | AgentState::Thinking
        | AgentState::Streaming
        | AgentState::RunningTool
        | AgentState::Paused
        | AgentState::Stopped
        | AgentState::Done => None,
    }
}

/// How long a state has lasted, in the room a badge has: `4.2s`, `3m05s`, `1h02m`.
pub fn duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        s if s < 60 => format!("{:.1}s", ms as f64 / 1000.0),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// The time a badge shows: how long the state has lasted while it goes on, how long the turn
/// took once it is over; `None` for an agent that never started.
fn badge_time(agent: &AgentRun, now_ms: u64) -> Option<String> {
    match agent.state {
        AgentState::Idle => None,
        AgentState::Done | AgentState::Failed | AgentState::Cancelled => Some(duration(
            agent.since_ms.saturating_sub(agent.turn_started_ms),
        )),
        AgentState::Waiting
        | AgentState::Thinking
        | AgentState::Streaming
        | AgentState::RunningTool
        | AgentState::Paused
        | AgentState::Stopped => Some(duration(now_ms.saturating_sub(agent.since_ms))),
    }
}

/// The badge in full (` ✗ failed 2.0s `) or short (` ✗ 2.0s `).
pub fn badge(agent: &AgentRun, now_ms: u64, short: bool) -> String {
    let time = badge_time(agent, now_ms);
    let mark = trouble_glyph(agent);
    let mut text = String::from(" ");
    if short {
        text.push_str(mark.unwrap_or(state_glyph(agent.state)));
    } else {
        if let Some(mark) = mark {
            text.push_str(mark);
            text.push(' ');
        }
        text.push_str(agent.state.label());
    }
    if let Some(time) = time {
        text.push(' ');
        text.push_str(&time);
    }
    text.push(' ');
    text
}

/// What a title shows, chosen for the room there is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title {
    /// ` ✗ ` before the label, for an agent in trouble.
    pub mark: Option<&'static str>,
    pub label: String,
    /// `· role ` after the label, when it fits.
    pub role: Option<String>,
    pub badge: String,
}

impl Title {
    /// The fullest title that fits `width` columns of border (the corners excluded): the
    /// role goes first, then the badge shortens. The label is cut (at its middle) only when
    /// even that does not fit, which the grid never lets happen.
    pub fn fit(agent: &AgentRun, label: &str, now_ms: u64, width: usize) -> Title {
        let mark = trouble_glyph(agent);
        let role = visible_line(&agent.role).into_owned();
        let full = badge(agent, now_ms, false);
        let short = badge(agent, now_ms, true);
        let with = |role: Option<String>, badge: &str| Title {
            mark,
            label: label.to_string(),
            role,
            badge: badge.to_string(),
        };
        let tries = [
            (!role.is_empty()).then(|| with(Some(role.clone()), &full)),
            Some(with(None, &full)),
            Some(with(None, &short)),
        ];
        if let Some(title) = tries.into_iter().flatten().find(|t| t.width() <= width) {
            return title;
        }
        let mut title = with(None, &short);
        let room = width.saturating_sub(title.width() - label.width());
        title.label = cut_middle(label, room);
        title
    }

    /// ` ✗ Label · role ` and the badge, and one column between them.
    pub fn width(&self) -> usize {
        let mark = self.mark.map_or(0, |m| m.width() + 1);
        let role = self.role.as_ref().map_or(0, |r| r.width() + 3);
        1 + mark + self.label.width() + 1 + role + 1 + self.badge.width()
    }
}

/// What a pane's bottom border says: on the left the group it runs in and whether it is
/// scrolled, on the right its tokens and cost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Foot {
    /// The group's name, while the agent runs in one.
    pub group: Option<String>,
    pub scrolled: bool,
    /// `1.2k in`, when the provider said.
    pub prompt: Option<String>,
    /// `~96 out`.
    pub output: Option<String>,
    pub cost: Option<String>,
}

impl Foot {
    /// The left and right texts that fit `width` columns (corners excluded) with a column
    /// between them: the prompt count goes first, then the group's name (its mark stays),
    /// then the scroll hint's words, then the output count, then the cost.
    pub fn fit(&self, width: usize) -> (Vec<String>, String) {
        let mut foot = self.clone();
        let mut short_group = false;
        let mut short_scroll = false;
        loop {
            let (left, right) = foot.texts(short_group, short_scroll);
            let used: usize = left.iter().map(|t| t.width()).sum::<usize>() + right.width();
            if used < width || (left.is_empty() && right.is_empty()) {
                return (left, right);
            }
            // What to give up next, least telling first.
            if foot.prompt.is_some() {
                foot.prompt = None;
            } else if foot.group.is_some() && !short_group {
                short_group = true;
            } else if foot.scrolled && !short_scroll {
                short_scroll = true;
            } else if foot.output.is_some() {
                foot.output = None;
            } else if foot.cost.is_some() {
                foot.cost = None;
            } else if foot.group.is_some() {
                foot.group = None;
            } else {
                foot.scrolled = false;
            }
        }
    }

    fn texts(&self, short_group: bool, short_scroll: bool) -> (Vec<String>, String) {
        let mut left = Vec::new();
        if let Some(group) = &self.group {
            left.push(if short_group {
                " ∥ ".to_string()
            } else {
                format!(" ∥ {group} ")
            });
        }
        if self.scrolled {
            left.push(if short_scroll {
                " ↑ End ".to_string()
            } else {
                " ↑ scrolled · End follows ".to_string()
            });
        }
        let parts: Vec<&str> = [&self.prompt, &self.output, &self.cost]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        let right = if parts.is_empty() {
            String::new()
        } else {
            format!(" {} ", parts.join(" · "))
        };
        (left, right)
    }
}

/// The narrowest pane (borders included) that shows `label` for `agent` uncut, with a short
/// badge of a running clock's width.
pub fn min_width(agent: &AgentRun, label: &str) -> u16 {
    let title = Title {
        mark: trouble_glyph(agent),
        label: label.to_string(),
        role: None,
        // Room for a short badge with a clock of minutes: ` ▸ 12m05s `.
        badge: " ▸ 00m00s ".to_string(),
    };
    u16::try_from(title.width() + 2).unwrap_or(u16::MAX)
}

/// Rows at the foot of a pane `inner_height` rows tall kept for the agent's last failure.
pub fn pinned_rows(agent: &AgentRun, inner_height: u16) -> u16 {
    u16::from(agent.last_failure.is_some() && inner_height >= 3)
}

/// `text` in at most `width` columns, its middle replaced by `…` when it is longer: the start
/// and the end of a name tell most (`Worker 1…r 10`).
pub fn cut_middle(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let head_room = room.div_ceil(2);
    let mut head = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > head_room {
            break;
        }
        head.push(c);
        used += w;
    }
    let tail_room = room - used;
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > tail_room {
            break;
        }
        tail.push(c);
        used += w;
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

/// `text` in at most `width` columns, its end replaced by `…` when it is longer.
pub fn cut_end(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::run::{AgentInfo, TimelineLimits};

    #[test]
    fn shared_names_get_their_ids_and_cuts_keep_both_ends() {
        let agents: Vec<AgentInfo> = ["w1", "w2", "lead"]
            .iter()
            .map(|id| AgentInfo {
                id: (*id).into(),
                name: if id.starts_with('w') {
                    "Worker"
                } else {
                    "Lead"
                }
                .into(),
                role: String::new(),
            })
            .collect();
        let run = Run::new("c", &agents, TimelineLimits::default());
        assert_eq!(labels(&run), ["Worker (w1)", "Worker (w2)", "Lead"]);
        assert_eq!(cut_middle("Worker 10", 7), "Wor… 10");
        assert_eq!(cut_middle("Worker 10", 9), "Worker 10");
        assert_eq!(cut_end("completed — agent", 9), "complete…");
    }

    #[test]
    fn a_foot_gives_up_the_prompt_count_first_and_the_cost_last() {
        let foot = Foot {
            group: Some("survey".into()),
            scrolled: false,
            prompt: Some("1.2k in".into()),
            output: Some("48 out".into()),
            cost: Some("$0.0002".into()),
        };
        let wide = foot.fit(60);
        assert_eq!(
            wide,
            (
                vec![" ∥ survey ".into()],
                " 1.2k in · 48 out · $0.0002 ".into()
            )
        );
        assert_eq!(foot.fit(30).1, " 48 out · $0.0002 ");
        assert_eq!(
            foot.fit(22),
            (vec![" ∥ ".into()], " 48 out · $0.0002 ".into())
        );
        assert_eq!(foot.fit(14), (vec![" ∥ ".into()], " $0.0002 ".into()));
        for width in 0..40 {
            let (left, right) = foot.fit(width);
            let used: usize = left.iter().map(|t| t.width()).sum::<usize>() + right.width();
            assert!(used < width.max(1), "{width}: {left:?} {right:?}");
        }
    }

    #[test]
    fn a_title_drops_the_role_then_shortens_the_badge_and_never_cuts_a_label_that_fits() {
        let agents = [AgentInfo {
            id: "w10".into(),
            name: "Worker 10".into(),
            role: "summarises the findings".into(),
        }];
        let run = Run::new("c", &agents, TimelineLimits::default());
        let a = &run.agents()[0];
        let wide = Title::fit(a, "Worker 10", 0, 60);
        assert_eq!(wide.role.as_deref(), Some("summarises the findings"));
        let middle = Title::fit(a, "Worker 10", 0, 20);
        assert_eq!(
            (middle.role.as_deref(), middle.badge.as_str()),
            (None, " idle ")
        );
        let narrow = Title::fit(a, "Worker 10", 0, 15);
        assert_eq!(
            (narrow.label.as_str(), narrow.badge.as_str()),
            ("Worker 10", " · ")
        );
        for width in 0..40 {
            let t = Title::fit(a, "Worker 10", 0, width);
            assert!(t.width() <= width || t.label.width() <= 1, "{width}: {t:?}");
        }
        assert!(usize::from(min_width(a, "Worker 10")) <= 30);
    }
}
