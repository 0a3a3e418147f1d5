//! Transcript.
