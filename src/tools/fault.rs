//! The `fault` built-in: fails on purpose, so crew authors can see how their crew handles a
//! tool that panics, hangs or errors.

use crate::provider::ToolSpec;

use super::{BoxFuture, Tool, ToolContext, json_kind};

pub(super) struct Fault {
    spec: ToolSpec,
}

impl Fault {
    pub(super) fn new() -> Self {
        Self {
            spec: ToolSpec {
                name: "fault".to_string(),
                description: "Fails on purpose, for testing how a crew copes with a broken tool: \
                              mode \"panic\" panics, \"hang\" never returns (until the call \
                              times out), \"error\" returns an error."
                    .to_string(),
                parameters: serde_json::json!({
                    "type": "object",
                    "properties": {
                        "mode": {"type": "string", "enum": ["panic", "hang", "error"]},
                        "message": {"type": "string", "description": "Text of the panic or error"},
                    },
                    "required": ["mode"],
                }),
            },
        }
    }
}

impl Tool for Fault {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(
        &'a self,
        args: serde_json::Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let mode = super::string_arg(&args, "mode")?;
            let message = match args.get("message") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.as_str()),
                Some(other) => {
                    return Err(format!(
                        "argument `message` must be a string, got {}",
                        json_kind(other)
                    ));
                }
            };
            match mode {
                "panic" => panic!(
                    "{}",
                    message.unwrap_or("the fault tool panicked on purpose")
                ),
                "hang" => {
                    ctx.cancel.cancelled().await;
                    Err("cancelled".to_string())
                }
                "error" => Err(message
                    .unwrap_or("the fault tool failed on purpose")
                    .to_string()),
                other => Err(format!(
                    "unknown mode `{other}`: expected panic, hang or error"
                )),
            }
        })
    }
}
