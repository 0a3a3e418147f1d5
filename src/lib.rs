//! crewtui: load a multi-agent crew from YAML, run it, and report everything it does as
//! [`engine::Event`]s.
//!
//! The library is what a headless run, the TUI and the tests all drive the same way. It knows
//! nothing about terminals: front ends consume events and send [`engine::Command`]s.

pub mod config;
pub mod engine;
pub mod files;
pub mod provider;
pub mod redact;
pub mod session;
pub mod signals;
pub mod text;
pub mod tools;
#[cfg(feature = "tui")]
pub mod tui;
