//! What a front end can ask of a running session.

/// A request from a front end (TUI, headless driver, test) to a running session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// The user's answer to the current pause.
    Answer(String),
    /// Cancel one agent's turn; in a parallel group the other agents go on.
    CancelAgent(String),
    /// Cancel every agent of a running parallel group; the run goes on with what it has.
    CancelGroup(String),
    /// Cancel the whole run.
    CancelSession,
}
