//! Summaries of every session in a directory.
