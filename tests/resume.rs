//! Resuming never redoes finished work: for several crews, the recording of a whole run is cut
//! after every event and each cut is resumed. The joined run must hold the same replies, tool
//! outcomes, hand-offs and outcome as the whole one, with no reply or tool result recorded
//! twice — model calls cost money and do not repeat themselves.
//!
//! What is compared is read from the raw events, not through the run model that resume itself
//! projects, so a fault in the fold cannot hide a fault in resume.

mod common;

use common::{crew, run_on, run_to_end, start, story};
use crewtui::config::model::Crew;
use crewtui::engine::{self, Event, EventKind, ResumeError, SessionParts};

fn resume(crew: &Crew, prior: &[Event]) -> Result<engine::SessionHandle, ResumeError> {
    let parts = SessionParts::for_crew(crew, &reqwest::Client::new());
    engine::resume(crew.clone(), prior, parts)
}

/// Cuts the whole run after every event and resumes each cut; every joined run must tell the
/// whole run's story.
async fn every_cut_resumes_to_the_same_story(
    crew: Crew,
    answers: &[&str],
    nondeterministic_tools: &[&str],
) {
    let whole = run_to_end(start(crew.clone(), "go"), answers).await;
    let want = story(&whole, nondeterministic_tools);
    assert!(!want.outcome.is_empty(), "the whole run ended: {want:?}");
    let mut resumed = 0;
    for cut in 1..whole.len() {
        let prior = &whole[..cut];
        let handle = match resume(&crew, prior) {
            Ok(handle) => handle,
            // Only a cut after the end is not resumable.
            Err(ResumeError::Finished(_)) => {
                assert!(
                    matches!(
                        prior.last().unwrap().kind,
                        EventKind::SessionFinished { .. }
                    ),
                    "cut at {cut} refused though the run had not ended"
                );
                continue;
            }
            Err(e) => panic!("cut at {cut}: {e}"),
        };
        let answered = prior
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Resumed { .. }))
            .count();
        let rest = run_on(handle, prior, &answers[answered.min(answers.len())..]).await;
        assert_eq!(
            rest.first().map(|e| e.seq),
            Some(prior.last().unwrap().seq + 1),
            "cut at {cut}: numbering goes on"
        );
        let mut joined = prior.to_vec();
        joined.extend(rest);
        let got = story(&joined, nondeterministic_tools);
        assert_eq!(
            got,
            want,
            "cut at {cut}, after {:?}",
            serde_json::to_string(&prior.last().unwrap().kind).unwrap()
        );
        resumed += 1;
    }
    assert!(resumed > whole.len() / 2, "most cuts were resumable");
}

#[tokio::test]
async fn tools_and_a_text_form_call_are_never_run_twice() {
    let crew = crew(
        r#"
name: tools
settings: {scripted_tokens_per_second: 0}
agents:
  - id: calc
    provider: scripted
    tools: [calculator, fault]
    handoff_targets: [report]
    script:
      - reply: "Working it out."
        tool_calls:
          - {tool: calculator, arguments: {expression: "6*7"}}
          - {tool: fault, arguments: {mode: error, message: "disk on fire"}}
      - reply: "Once more, by the book:\ncalculator(\"2+2\")"
      - reply: "The answer is 42."
  - id: report
    provider: scripted
    is_terminal: true
    script:
      - reply: "Reported: 42."
"#,
    );
    every_cut_resumes_to_the_same_story(crew, &[], &[]).await;
}

#[tokio::test]
async fn a_parallel_group_with_a_failing_member_reruns_only_the_unfinished() {
    let crew = crew(
        r#"
name: group
settings: {scripted_tokens_per_second: 0}
routing:
  signals:
    lead: [{signal: "[GO]", target: team}]
  parallel_groups:
    team: {agents: [a, b, c], wait_for_all: true, timeout_seconds: 60, next_agent: sink}
agents:
  - id: lead
    provider: scripted
    script: [{reply: "Split it three ways. [GO]"}]
  - id: a
    provider: scripted
    tools: [calculator]
    script:
      - {reply: "a computes", tool_calls: [{tool: calculator, arguments: {expression: "1+1"}}]}
      - {reply: "a says 2"}
  - id: b
    provider: scripted
    tools: [fault]
    script:
      - {reply: "b tries", tool_calls: [{tool: fault, arguments: {mode: panic, message: "b broke"}}]}
  - id: c
    provider: scripted
    script: [{reply: "c says hi"}]
  - id: sink
    provider: scripted
    is_terminal: true
    script: [{reply: "merged"}]
"#,
    );
    every_cut_resumes_to_the_same_story(crew, &[], &[]).await;
}

#[tokio::test]
async fn a_pause_and_two_handoffs_resume_without_asking_twice() {
    let crew = crew(
        r#"
name: pause
settings: {scripted_tokens_per_second: 0}
routing:
  signals:
    asker: [{signal: "[DONE]", target: writer}]
  agent_behaviors:
    asker: {wait_for_signal: true}
agents:
  - id: asker
    provider: scripted
    script:
      - {reasoning: "No colour was given.", reply: "Which colour?"}
      - {reply: "Blue it is. [DONE]"}
  - id: writer
    provider: scripted
    handoff_targets: [editor]
    script: [{reply: "Wrote it in blue."}]
  - id: editor
    provider: scripted
    is_terminal: true
    script: [{reply: "Looks good."}]
"#,
    );
    every_cut_resumes_to_the_same_story(crew, &["blue"], &[]).await;
}

#[tokio::test]
async fn a_run_that_ends_at_a_limit_ends_there_again() {
    let crew = crew(
        r#"
name: limit
settings: {scripted_tokens_per_second: 0, max_handoffs: 3}
agents:
  - id: ping
    provider: scripted
    handoff_targets: [pong]
    script: [{reply: "ping 1"}, {reply: "ping 2"}, {reply: "ping 3"}]
  - id: pong
    provider: scripted
    handoff_targets: [ping]
    script: [{reply: "pong 1"}, {reply: "pong 2"}, {reply: "pong 3"}]
"#,
    );
    every_cut_resumes_to_the_same_story(crew, &[], &[]).await;
}

#[tokio::test]
async fn the_demo_crew_resumes_from_anywhere() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crews/demo.yaml");
    let mut crew = crewtui::config::load_crew(&path).crew.expect("demo loads");
    crew.settings.scripted_tokens_per_second = 0.0;
    every_cut_resumes_to_the_same_story(crew, &["Crew authors"], &["current_time"]).await;
}
