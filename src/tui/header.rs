//! The header line: the crew, the session, the clock, the tokens and what they cost, how many
//! agents are running, done, failed or cancelled, and the outcome — fitted to the width. The
//! least telling parts shorten or go first (the session id, the crew's name), so that the
//! outcome stays in view down to the narrowest screen.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::render::count;
use super::theme::{AgentState, Theme};
use super::title::{cut_end, state_glyph};
use crate::engine::Run;
use crate::engine::run::{Spend, dollars};
use crate::text::visible_line;

const SEP: &str = " │ ";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Full,
    Short,
    Hidden,
}

/// How much of each part to show.
#[derive(Clone, Copy)]
struct Plan {
    brand: bool,
    crew: Option<usize>,
    id: Form,
    clock: bool,
    tokens: Form,
    cost: bool,
    counts: Form,
}

/// Steps from the fullest header to the barest, each applied on top of the ones before. The
/// first [`SHORTEN`] only shorten; the outcome's reason is cut before any part goes.
const SHORTEN: usize = 8;
const STEPS: [fn(&mut Plan); 12] = [
    |_| {},
    |p| p.id = Form::Short,
    |p| p.crew = Some(16),
    |p| p.brand = false,
    |p| p.counts = Form::Short,
    |p| p.tokens = Form::Short,
    |p| p.id = Form::Hidden,
    |p| p.crew = Some(10),
    |p| p.tokens = Form::Hidden,
    |p| p.crew = Some(0),
    |p| p.clock = false,
    |p| p.cost = false,
];

/// The header for `run` in `width` columns.
pub fn line(run: &Run, theme: &Theme, now_ms: u64, width: usize) -> Line<'static> {
    let mut plan = Plan {
        brand: true,
        crew: None,
        id: Form::Full,
        clock: true,
        tokens: Form::Full,
        cost: true,
        counts: Form::Full,
    };
    let (outcome, label, outcome_style) = outcome(run, theme);
    // First with the whole outcome, then with its reason cut, before anything else goes.
    for whole in [true, false] {
        let steps = if whole { &STEPS[..SHORTEN] } else { &STEPS[..] };
        for step in steps {
            step(&mut plan);
            let parts = parts(run, theme, now_ms, &plan);
            let used: usize = parts
                .iter()
                .flatten()
                .map(|s| s.content.width())
                .sum::<usize>()
                + parts.len() * SEP.width();
            let room = width.saturating_sub(used);
            let fits = if whole {
                outcome.width() <= room
            } else {
                label.width() <= room
            };
            if fits || (!whole && plan_is_bare(&plan)) {
                return assemble(parts, cut_end(&outcome, room), outcome_style, theme);
            }
        }
        plan.brand = true;
        plan.crew = None;
        plan.id = Form::Full;
        plan.clock = true;
        plan.tokens = Form::Full;
        plan.cost = true;
        plan.counts = Form::Full;
    }
    assemble(Vec::new(), cut_end(&outcome, width), outcome_style, theme)
}

fn plan_is_bare(plan: &Plan) -> bool {
    !plan.cost && !plan.clock
}

/// One part of the header: spans drawn together.
type Part = Vec<Span<'static>>;

fn assemble(
    parts: Vec<Part>,
    outcome: String,
    outcome_style: Style,
    theme: &Theme,
) -> Line<'static> {
    let mut spans = Vec::new();
    for part in parts {
        if !spans.is_empty() {
            spans.push(Span::styled(SEP, theme.dim()));
        }
        spans.extend(part);
    }
    if !spans.is_empty() {
        spans.push(Span::styled(SEP, theme.dim()));
    }
    spans.push(Span::styled(outcome, outcome_style));
    Line::from(spans)
}

/// The outcome in full, the part that must stay (its label), and its style.
fn outcome(run: &Run, theme: &Theme) -> (String, String, Style) {
    match run.finish() {
        Some(finish) => {
            let style = if finish.failures > 0 {
                theme.error()
            } else {
                theme.outcome(finish.outcome)
            };
            let label = visible_line(&finish.label()).into_owned();
            (visible_line(&finish.describe()).into_owned(), label, style)
        }
        None => {
            let (text, style) = if run.pause().is_some() {
                ("paused", theme.state(AgentState::Paused))
            } else if run.started {
                ("running", theme.state(AgentState::Streaming))
            } else {
                ("waiting for input", theme.dim())
            };
            (text.to_string(), text.to_string(), style)
        }
    }
}

/// Every part but the outcome, as `plan` has them.
fn parts(run: &Run, theme: &Theme, now_ms: u64, plan: &Plan) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    let push = |parts: &mut Vec<Part>, text: String, style: Style| {
        // The first part starts one column in from the edge.
        let text = if parts.is_empty() {
            format!(" {text}")
        } else {
            text
        };
        parts.push(vec![Span::styled(text, style)]);
    };
    if plan.brand {
        push(&mut parts, "crewtui".to_string(), theme.header());
    }
    let crew = visible_line(&run.crew).into_owned();
    match plan.crew {
        None => push(&mut parts, crew, theme.title(false)),
        Some(0) => {}
        Some(n) => push(&mut parts, cut_end(&crew, n), theme.title(false)),
    }
    if !run.session_id.is_empty() {
        let id = visible_line(&run.session_id).into_owned();
        match plan.id {
            Form::Full => push(&mut parts, id, theme.dim()),
            Form::Short => push(&mut parts, short_id(&id), theme.dim()),
            Form::Hidden => {}
        }
    }
    if plan.clock {
        push(&mut parts, super::render::clock(now_ms), theme.text());
    }
    let spend = run.spend();
    match plan.tokens {
        Form::Full => push(&mut parts, tokens(&spend, " in / ", " out"), theme.text()),
        Form::Short => push(&mut parts, tokens(&spend, "/", ""), theme.text()),
        Form::Hidden => {}
    }
    if plan.cost
        && let Some((text, style)) = cost(run, &spend, theme)
    {
        push(&mut parts, text, style);
    }
    if plan.counts != Form::Hidden {
        let words = plan.counts == Form::Full;
        let mut part: Part = Vec::new();
        for (text, state) in counts(run, words) {
            if !part.is_empty() {
                part.push(Span::styled(if words { " · " } else { " " }, theme.dim()));
            }
            part.push(Span::styled(text, theme.state(state)));
        }
        if !part.is_empty() {
            if parts.is_empty() {
                part.insert(0, Span::raw(" "));
            }
            parts.push(part);
        }
    }
    parts
}

/// The random end of a session id, which tells sessions of one second apart and which
/// `crewtui replay` takes too: `…3fa9c1`.
pub fn short_id(id: &str) -> String {
    match id.rsplit_once('-') {
        Some((_, tail)) if !tail.is_empty() => format!("…{tail}"),
        Some(_) | None => cut_end(id, 8),
    }
}

/// `1.2k in / ~96 out`: `~` while some of the count is estimated from the text.
fn tokens(spend: &Spend, between: &str, after: &str) -> String {
    let approx = if spend.estimated() { "~" } else { "" };
    format!(
        "{}{between}{approx}{}{after}",
        count(spend.prompt_tokens),
        count(spend.output_tokens())
    )
}

/// `$0.042`, or `$0.042 / $2.00` with the run's budget, in the warning colour past 80 % of
/// it and the error colour once reached; nothing for tokens of models without a price.
fn cost(run: &Run, spend: &Spend, theme: &Theme) -> Option<(String, Style)> {
    let text = spend.cost_text()?;
    let budget = run.ledger().terms().run_budget().max_cost_usd;
    Some(match budget {
        Some(max) if max > 0.0 => {
            let style = match spend.cost_usd / max {
                r if r >= 1.0 => theme.error(),
                r if r >= 0.8 => theme.warning(),
                _ => theme.text(),
            };
            (format!("{text} / {}", dollars(max)), style)
        }
        Some(_) | None => (text, theme.text()),
    })
}

/// How many agents failed, were cancelled, wait at a gate, run and are done, worst first, those with none
/// left out: `1 failed · 3 running` or `✗1 ▸3`.
fn counts(run: &Run, words: bool) -> Vec<(String, AgentState)> {
    let c = run.counts();
    [
        (c.failed, "failed", AgentState::Failed),
        (c.cancelled, "cancelled", AgentState::Cancelled),
        (c.stopped, "stopped", AgentState::Stopped),
        (c.running, "running", AgentState::Streaming),
        (c.done, "done", AgentState::Done),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, word, state)| {
        let text = if words {
            format!("{n} {word}")
        } else {
            format!("{}{n}", state_glyph(state))
        };
        (text, state)
    })
    .collect()
}
