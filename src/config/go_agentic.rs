//! go-agentic's own keys that crewtui accepts but gives no meaning, by where they are written.
//!
//! go-agentic (the Go crew server crewtui descends from) defines these in its loader; a crew
//! written for it has many of them. They are said once each as having no effect (an info
//! line), never as unknown keys. Keys go-agentic gives a meaning crewtui shares are read where
//! their section is read (`sections.rs`, `agent.rs`, `models.rs`) and are not listed here;
//! keys go-agentic never defined are unknown keys like any other.

/// The top of `crew.yaml`.
pub(crate) const CREW: &[&str] = &["version", "tasks"];

/// `settings`: limits and knobs of go-agentic's HTTP server, logging, memory accounting and
/// per-day quotas. Read and used instead: `parallel_timeout_seconds`,
/// `tool_execution_timeout_seconds`, `max_tokens_per_call`, `max_tokens_per_day` and
/// `max_cost_per_day`.
pub(crate) const SETTINGS: &[&str] = &[
    "config_mode",
    "language",
    "organization",
    "tool_result_timeout_seconds",
    "min_tool_timeout_millis",
    "stream_chunk_timeout_millis",
    "sse_keep_alive_seconds",
    "request_store_cleanup_minutes",
    "retry_backoff_min_millis",
    "retry_backoff_max_seconds",
    "client_cache_ttl_minutes",
    "graceful_shutdown_check_millis",
    "max_input_size_kb",
    "min_agent_id_length",
    "max_agent_id_length",
    "max_request_body_size_kb",
    // Characters, where crewtui's `tool_output_limit` counts bytes.
    "max_tool_output_chars",
    "max_total_tool_output_chars",
    "stream_buffer_size",
    "max_stored_requests",
    "timeout_warning_threshold_pct",
    "cost_alert_threshold",
    "max_memory_mb",
    "max_daily_memory_gb",
    "memory_alert_percent",
    "max_context_window",
    "context_trim_percent",
    "slow_call_threshold_seconds",
    "max_errors_per_hour",
    "max_errors_per_day",
    "max_consecutive_errors",
    "max_calls_per_minute",
    "max_calls_per_hour",
    "max_calls_per_day",
    "block_on_quota_exceed",
];

/// An agent's own keys: memory and error accounting, logging, cost alerts and whether limits
/// block (a budget here always stops at a gate). Read and used instead (`agent.rs`):
/// `primary`, `backup`, `provider_url`, `max_tokens_per_call`, and the per-day quotas
/// `max_tokens_per_day` and `max_cost_per_day`, which are the agent's budget for the run.
pub(crate) const AGENT: &[&str] = &[
    "memory_limits",
    "error_limits",
    "logging",
    "cost_alert_threshold",
    "enforce_cost_limits",
];

/// An agent's `cost_limits`: alerts and whether limits block. Read and used instead:
/// `max_tokens_per_call`, `max_tokens_per_day` and `max_cost_per_day_usd` (the agent's
/// budget for the run), and `input_token_price_per_million` with
/// `output_token_price_per_million` (a price of the agent's model).
pub(crate) const COST_LIMITS: &[&str] = &["alert_threshold", "block_on_cost_exceed"];

/// `routing`.
pub(crate) const ROUTING: &[&str] = &["defaults"];

/// `routing.agent_behaviors.<agent>`.
pub(crate) const BEHAVIOR: &[&str] = &["auto_route", "description"];

/// `routing.parallel_groups.<group>`.
pub(crate) const GROUP: &[&str] = &["description"];
