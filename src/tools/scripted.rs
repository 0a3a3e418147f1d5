//! Tools bound to canned results by a bindings file: stand-ins for tools crewtui cannot have,
//! such as the Go functions of go-agentic's host program.
//!
//! Results given in order are taken one per call, across the session's agents; a call past
//! the last fails, saying so. Each session has its own count (the registry is built per
//! session), and a resumed session goes on from the count its recording reached.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::model::{ScriptedResults, ScriptedToolConfig};
use crate::provider::ToolSpec;

use super::{BoxFuture, Tool, ToolContext};

pub(super) struct ScriptedTool {
    spec: ToolSpec,
    results: ScriptedResults,
    /// Results given so far.
    used: AtomicUsize,
}

impl ScriptedTool {
    pub(super) fn new(name: &str, config: &ScriptedToolConfig) -> Self {
        Self {
            spec: super::declared_spec(name, &config.description, &config.parameters),
            results: config.results.clone(),
            used: AtomicUsize::new(0),
        }
    }

    /// Counts `n` results as given already (by the recording a session resumes).
    pub(super) fn skip(&self, n: usize) {
        self.used.store(n, Ordering::Relaxed);
    }

    fn next(&self) -> Result<String, String> {
        let n = self.used.fetch_add(1, Ordering::Relaxed);
        match &self.results {
            ScriptedResults::Fixed(result) => Ok(result.clone()),
            ScriptedResults::InOrder(results) => results.get(n).cloned().ok_or_else(|| {
                format!(
                    "no scripted result left: the bindings file gives {} for `{}`, and all \
                     were used",
                    results.len(),
                    self.spec.name
                )
            }),
        }
    }
}

impl Tool for ScriptedTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(
        &'a self,
        _args: serde_json::Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        let result = self.next();
        Box::pin(async move { result })
    }
}
