//! The live loop, observed: a timed backend, a tapped event channel, scripted keys.

use super::*;

/// A backend that times every `Terminal::draw`: from the size query it starts with to the
/// flush it ends with.
pub(crate) struct Timed<B> {
    pub(crate) inner: B,
    pub(crate) start: std::cell::Cell<Option<Instant>>,
    /// When each draw started, and how long it took.
    pub(crate) draws: Vec<(Instant, Duration)>,
}

impl<B> Timed<B> {
    pub(crate) fn new(inner: B) -> Self {
        Self {
            inner,
            start: std::cell::Cell::new(None),
            draws: Vec::new(),
        }
    }
}

pub(crate) fn io_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> io::Error {
    io::Error::other(e)
}

impl<B: Backend> Backend for Timed<B>
where
    B::Error: Send + Sync + 'static,
{
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content).map_err(io_err)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor().map_err(io_err)
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor().map_err(io_err)
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        self.inner.get_cursor_position().map_err(io_err)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position).map_err(io_err)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear().map_err(io_err)
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type).map_err(io_err)
    }
    fn size(&self) -> io::Result<Size> {
        self.start.set(Some(Instant::now()));
        self.inner.size().map_err(io_err)
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        self.inner.window_size().map_err(io_err)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(io_err)?;
        if let Some(start) = self.start.take() {
            self.draws.push((start, start.elapsed()));
        }
        Ok(())
    }
}

/// What the tap between the engine and the TUI saw.
#[derive(Debug, Default)]
pub(crate) struct Tapped {
    /// Highest `seq` + 1: events the engine produced.
    pub(crate) produced: u64,
    /// Most events waiting for the TUI at once (its queue holds `EVENT_QUEUE`).
    pub(crate) max_tui_depth: usize,
    /// Most events waiting in the engine's own queue at once, behind the tap.
    pub(crate) max_engine_depth: usize,
    pub(crate) first_token: Option<Instant>,
    pub(crate) finished: Option<Instant>,
    pub(crate) tokens: u64,
}

/// Terminal input that stays silent until `q` is sent through the returned sender.
pub(crate) fn keys() -> (
    mpsc::Sender<io::Result<TermEvent>>,
    impl Stream<Item = io::Result<TermEvent>> + Unpin,
) {
    let (tx, rx) = mpsc::channel(8);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (event, rx))
    });
    (tx, Box::pin(stream))
}

pub(crate) fn key_q() -> io::Result<TermEvent> {
    Ok(TermEvent::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )))
}

/// Puts a tap between a running session and the TUI: a queue of the same size as the engine's,
/// whose depth is sampled after every event, the events counted, and `q` pressed `linger`
/// after the session finished. The TUI sees the same events, in the same order, through a
/// queue of the same bound.
pub(crate) fn tapped(
    handle: SessionHandle,
    keys: mpsc::Sender<io::Result<TermEvent>>,
    linger: Duration,
) -> (SessionHandle, Arc<Mutex<Tapped>>) {
    let SessionHandle {
        session_id,
        mut events,
        commands,
        cancel,
        task,
    } = handle;
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    let seen = Arc::new(Mutex::new(Tapped::default()));
    let probe = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let waiting = events.len() + 1;
            let now = Instant::now();
            let finished = matches!(event.kind, EventKind::SessionFinished { .. });
            {
                let mut s = probe.lock().expect("tap lock");
                s.produced = s.produced.max(event.seq + 1);
                s.max_engine_depth = s.max_engine_depth.max(waiting);
                if matches!(event.kind, EventKind::Token { .. }) {
                    s.tokens += 1;
                    s.first_token.get_or_insert(now);
                }
                if finished {
                    s.finished = Some(now);
                }
            }
            if tx.send(event).await.is_err() {
                break;
            }
            let depth = tx.max_capacity() - tx.capacity();
            {
                let mut s = probe.lock().expect("tap lock");
                s.max_tui_depth = s.max_tui_depth.max(depth);
            }
            if finished {
                let keys = keys.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(linger).await;
                    let _ = keys.send(key_q()).await;
                });
            }
        }
    });
    let handle = SessionHandle {
        session_id,
        events: rx,
        commands,
        cancel,
        task,
    };
    (handle, seen)
}

pub(crate) struct LiveRun {
    pub(crate) stats: Stats,
    pub(crate) draws: Vec<(Instant, Duration)>,
    pub(crate) tap: Tapped,
    pub(crate) outcome: Option<Outcome>,
}

/// Runs `crew` on a `width` x `height` TestBackend through the real live loop, quitting
/// `linger` after the session finished.
pub(crate) async fn live_run(crew: Crew, width: u16, height: u16, linger: Duration) -> LiveRun {
    let agents = AgentInfo::from_crew(&crew);
    let terms = Terms::for_crew(&crew);
    let name = crew.name.clone();
    let p = parts(&crew);
    let (keys_tx, input) = keys();
    let (handle, tap) = tapped(engine::start(crew, "go".into(), p), keys_tx, linger);
    let mut terminal = Terminal::new(Timed::new(TestBackend::new(width, height))).expect("term");
    let theme = Theme::default_dark();
    let (outcome, stats) = live::run(
        &mut terminal,
        input,
        futures_util::stream::pending(),
        &name,
        &agents,
        terms,
        &[],
        Launch::Running(handle),
        &theme,
    )
    .await
    .expect("the live loop runs");
    let draws = std::mem::take(&mut terminal.backend_mut().draws);
    let tap = std::mem::take(&mut *tap.lock().expect("tap lock"));
    LiveRun {
        stats,
        draws,
        tap,
        outcome,
    }
}
