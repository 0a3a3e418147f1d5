//! Session files of format version 1 still replay and resume. The files under
//! `tests/fixtures/sessions/` were recorded by crewtui before format 2 (commit 661a804): the
//! demo crew paused at its question, run through, and paused then resumed by that version.

mod common;

use std::path::{Path, PathBuf};

use common::{run_on, story};
use crewtui::config::model::Crew;
use crewtui::engine::run::TimelineLimits;
use crewtui::engine::{self, EventKind, Outcome, SessionParts};
use crewtui::session::{self, Playback};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sessions")
        .join(name)
}

/// The demo crew from disk, as `resume` takes it, streaming at once.
fn demo() -> Crew {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews/demo.yaml");
    let mut crew = crewtui::config::load_crew(&path).crew.expect("demo loads");
    crew.settings.scripted_tokens_per_second = 0.0;
    crew
}

const ANSWER: &str = "Crew authors on Linux; launch next Tuesday.";

#[test]
fn version_1_recordings_replay_to_their_end() {
    for name in ["v1-demo-completed.jsonl", "v1-demo-resumed.jsonl"] {
        let path = fixture(name);
        let recording = session::read(&path).expect("a version 1 file reads");
        assert_eq!(recording.header.version, 1, "{name}");
        assert!(
            recording.warnings.is_empty(),
            "{name}: {:?}",
            recording.warnings
        );

        let (mut playback, _, _) =
            Playback::open(&path, TimelineLimits::default()).expect("it plays");
        playback.seek(playback.len());
        let run = playback.run();
        assert_eq!(run.outcome(), Some(Outcome::Completed), "{name}");
        let editor = run.agent("editor").expect("the editor ran");
        let replied = editor
            .calls()
            .filter_map(|c| c.reply.as_ref())
            .any(|r| r.kept && r.content.contains("The plan is final."));
        assert!(replied, "{name}: the editor's reply is on record");
        // The upgrade reads back what version 1 did not record: the history the run built.
        assert!(run.history().len() >= 14, "{name}: {}", run.history().len());

        let (text, _) = session::transcript_file(&path).expect("a transcript");
        for part in [
            "## lead, turn 1",
            "**Answer** to lead",
            "## Parallel group research: market, tech, risks",
            "**Tool failed** `fault`",
            "**Hand-off** writer → editor (signal [REVIEW], ",
            "## Outcome: completed",
            "- Replies: 10",
        ] {
            assert!(text.contains(part), "{name}: missing {part:?} in\n{text}");
        }
    }
}

#[test]
fn a_version_1_resume_reads_as_one_run() {
    // Version 1 asked its question again when it resumed; read as version 2 it asks once and
    // says the session went on.
    let recording = session::read(&fixture("v1-demo-resumed.jsonl")).unwrap();
    let pauses = recording
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Paused { .. }))
        .count();
    let goes_on = recording
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::SessionResumed {}))
        .count();
    assert_eq!((pauses, goes_on), (1, 1));
    let whole = session::read(&fixture("v1-demo-completed.jsonl")).unwrap();
    assert_eq!(
        story(&recording.events, &["current_time"]),
        story(&whole.events, &["current_time"])
    );
}

#[tokio::test]
async fn a_paused_version_1_recording_resumes_to_the_uninterrupted_end() {
    let paused = session::read(&fixture("v1-demo-paused.jsonl")).unwrap();
    let whole = session::read(&fixture("v1-demo-completed.jsonl")).unwrap();
    let prior = paused.resumable_events();
    let crew = demo();
    let parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    let handle = engine::resume(crew, prior, parts).expect("a paused v1 session resumes");
    let rest = run_on(handle, prior, &[ANSWER]).await;
    assert!(matches!(rest[0].kind, EventKind::SessionResumed {}));
    assert!(
        !rest
            .iter()
            .any(|e| matches!(e.kind, EventKind::Paused { .. })),
        "the question is not asked again"
    );
    let mut joined = prior.to_vec();
    joined.extend(rest);
    assert_eq!(
        story(&joined, &["current_time"]),
        story(&whole.events, &["current_time"])
    );
}

#[tokio::test]
async fn a_version_1_recording_cut_inside_a_turn_goes_on_from_that_turn() {
    let whole = session::read(&fixture("v1-demo-completed.jsonl")).unwrap();
    // Cut just after the writer's reply, before its hand-off: version 1 did not record that
    // the turn was over, so the turn runs again, and the run still ends as it did.
    let cut = whole
        .events
        .iter()
        .position(|e| matches!(&e.kind, EventKind::Message { agent, .. } if agent == "writer"))
        .unwrap()
        + 1;
    let mut cut_file = whole.clone();
    cut_file.events.truncate(cut);
    let prior = cut_file.resumable_events();
    assert!(
        prior.len() < cut,
        "the writer's unfinished turn is left to run again"
    );
    let crew = demo();
    let parts = SessionParts::for_crew(&crew, &reqwest::Client::new());
    let handle = engine::resume(crew, prior, parts).expect("resumes");
    let rest = run_on(handle, prior, &[]).await;
    let mut joined = prior.to_vec();
    joined.extend(rest);
    assert_eq!(
        story(&joined, &["current_time"]),
        story(&whole.events, &["current_time"])
    );
}
