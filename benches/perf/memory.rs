//! Item 6: peak RSS with 16 agents × 1,000,000 tokens through the TUI.

use super::*;

pub(crate) const MEMORY_AGENTS: usize = 16;
pub(crate) const MEMORY_TOKENS: usize = 1_000_000;

pub(crate) fn memory_item() {
    let rt = runtime();
    let baseline = peak_rss();
    let t = Instant::now();
    let (stats, draws, events) = rt.block_on(async {
        let ids: Vec<crewtui::engine::AgentId> = (0..MEMORY_AGENTS)
            .map(|i| format!("a{i:02}").into())
            .collect();
        let agents: Vec<AgentInfo> = ids
            .iter()
            .map(|id| AgentInfo {
                id: id.clone(),
                name: id.to_string(),
                role: "streams".into(),
            })
            .collect();
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let (commands, _command_rx) = mpsc::channel(64);
        let (keys_tx, input) = keys();
        let producer_ids = ids.clone();
        let task = tokio::spawn(async move {
            let mut seq = 0u64;
            let t0 = Instant::now();
            let mut send = |kind: EventKind| {
                let event = Event {
                    seq,
                    t_ms: t0.elapsed().as_millis() as u64,
                    kind,
                };
                seq += 1;
                event
            };
            let ids = producer_ids;
            let _ = tx
                .send(send(EventKind::SessionStarted {
                    session_id: "memory".into(),
                    crew: "memory".into(),
                    input: "go".into(),
                }))
                .await;
            let _ = tx
                .send(send(EventKind::ParallelStarted {
                    group: "all".into(),
                    agents: ids.clone(),
                    round: None,
                    handoffs: None,
                }))
                .await;
            for id in &ids {
                let _ = tx
                    .send(send(EventKind::AgentStarted {
                        agent: id.clone(),
                        turn: 1,
                        input: "go".into(),
                        round: None,
                        entry: None,
                    }))
                    .await;
            }
            for i in 0..MEMORY_TOKENS {
                for id in &ids {
                    let sep = if i % 47 == 46 { "\n" } else { " " };
                    let text = format!("{sep}{}", WORDS[(i * 7 + id.as_str().len()) % WORDS.len()]);
                    let _ = tx
                        .send(send(EventKind::Token {
                            agent: id.clone(),
                            text,
                            reasoning: false,
                        }))
                        .await;
                }
            }
            for id in &ids {
                let _ = tx
                    .send(send(EventKind::Message {
                        agent: id.clone(),
                        // The TUI shows streamed text, not this: the whole reply would only
                        // measure the producer.
                        content: String::new(),
                        usage: Some(Usage {
                            prompt_tokens: 10,
                            completion_tokens: MEMORY_TOKENS as u64,
                            cached_tokens: 0,
                        }),
                        finish_reason: Some("stop".into()),
                        truncated: false,
                        tool_calls: Vec::new(),
                        text_calls: false,
                        entry: None,
                    }))
                    .await;
            }
            let _ = tx
                .send(send(EventKind::SessionFinished {
                    outcome: Outcome::Completed,
                    reason: "done".into(),
                }))
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = keys_tx.send(key_q()).await;
            Outcome::Completed
        });
        let handle = SessionHandle {
            session_id: "memory".into(),
            events: rx,
            commands,
            cancel: tokio_util::sync::CancellationToken::new(),
            task,
        };
        let mut terminal = Terminal::new(Timed::new(TestBackend::new(200, 50))).expect("term");
        let theme = Theme::default_dark();
        let (_, stats) = live::run(
            &mut terminal,
            input,
            futures_util::stream::pending(),
            "memory",
            &agents,
            Terms::default(),
            &[],
            Launch::Running(handle),
            &theme,
        )
        .await
        .expect("live loop");
        let draws = std::mem::take(&mut terminal.backend_mut().draws);
        (stats, draws, MEMORY_AGENTS * MEMORY_TOKENS)
    });
    let peak = peak_rss();
    note(&format!(
        "{MEMORY_AGENTS} panes, {events} token events folded by live::run on a 200x50 \
         TestBackend ({} events, {} draws, {:.1} s), default pane limits (2 MiB / 100k lines)",
        stats.events,
        stats.draws,
        t.elapsed().as_secs_f64()
    ));
    let p99 = percentile(&draws.iter().map(|d| d.1).collect::<Vec<_>>(), 0.99);
    row("draw time p99 during the flood", ms(p99), "", None);
    row(
        "peak RSS (VmHWM)",
        mb(peak),
        "< 200 MB",
        Some(peak < 200_000_000),
    );
    note(&format!("before the run: {}", mb(baseline)));
}
