//! What the scripted model answers: [`Reply`] (one scripted answer to one
//! `POST /v1/responses`) and [`Usage`] (the token counts it reports).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::request::RecordedRequest;

/// Token counts reported in `response.completed`. Codex adds them up per turn and prints
/// them in `turn.completed.usage`, so tests script them to assert token accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// `usage.input_tokens`.
    pub input_tokens: u64,
    /// `usage.input_tokens_details.cached_tokens`.
    pub cached_input_tokens: u64,
    /// `usage.output_tokens`.
    pub output_tokens: u64,
    /// `usage.output_tokens_details.reasoning_tokens`.
    pub reasoning_output_tokens: u64,
    /// `usage.total_tokens`.
    pub total_tokens: u64,
}

impl Usage {
    /// Input and output tokens, nothing cached, no reasoning; total = input + output.
    pub fn new(input_tokens: u64, output_tokens: u64) -> Self {
        Self {
            input_tokens,
            cached_input_tokens: 0,
            output_tokens,
            reasoning_output_tokens: 0,
            total_tokens: input_tokens + output_tokens,
        }
    }

    /// Sets `input_tokens_details.cached_tokens`.
    pub fn cached(mut self, cached_input_tokens: u64) -> Self {
        self.cached_input_tokens = cached_input_tokens;
        self
    }

    /// Sets `output_tokens_details.reasoning_tokens`.
    pub fn reasoning(mut self, reasoning_output_tokens: u64) -> Self {
        self.reasoning_output_tokens = reasoning_output_tokens;
        self
    }

    /// The `usage` object of a Responses-API `response.completed` event.
    pub fn to_json(&self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_input_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_output_tokens},
            "total_tokens": self.total_tokens,
        })
    }
}

impl Default for Usage {
    /// 10 input + 5 output tokens.
    fn default() -> Self {
        Self::new(10, 5)
    }
}

/// A function that picks the reply from the request (see [`Reply::from_fn`]).
pub type ReplyFn = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

/// One scripted answer to one `POST /v1/responses` request.
///
/// Build one with a constructor, refine it with the `with_*` methods, and queue it with
/// [`ScriptedModel::push`](crate::ScriptedModel::push).
#[derive(Clone)]
pub struct Reply {
    pub(crate) kind: Kind,
}

#[derive(Clone)]
pub(crate) enum Kind {
    /// A well-formed stream: created, one `output_item.done` per item, completed.
    Output {
        items: Vec<Value>,
        usage: Usage,
        response_id: Option<String>,
    },
    /// A plain HTTP error with a JSON body, and a `Retry-After` header (seconds) if set.
    HttpError {
        status: u16,
        body: String,
        retry_after: Option<u64>,
    },
    /// A `200 text/event-stream` with exactly this body.
    RawSse(String),
    /// Wait, then answer with the inner reply.
    Slow(Duration, Box<Reply>),
    /// Send `response.created`, then one reasoning item every `every` until `total` has
    /// passed, then the inner reply's items and `response.completed`.
    Streaming {
        total: Duration,
        every: Duration,
        answer: Box<Reply>,
    },
    /// Send `response.created`, then keep the stream open forever.
    Hang,
    /// Let a function choose.
    FromFn(ReplyFn),
}

impl Reply {
    /// An assistant message with this text: Codex's `agent_message` item and final message.
    pub fn text(text: impl Into<String>) -> Self {
        Self::items(vec![assistant_message(&text.into())])
    }

    /// An assistant message whose text is this JSON (compact): the answer to an
    /// `--output-schema` request. Codex does not validate it against the schema.
    pub fn json(value: Value) -> Self {
        Self::text(value.to_string())
    }

    /// A `function_call` of Codex's `exec_command` tool with `{"cmd": cmd}`: Codex runs the
    /// command (through `/bin/bash -lc`) in its working directory under its sandbox, then
    /// sends a follow-up request ending with a `function_call_output`; queue the reply to
    /// that follow-up too.
    pub fn exec_command(cmd: impl Into<String>) -> Self {
        Self::function_call("exec_command", json!({"cmd": cmd.into()}))
    }

    /// A `function_call` of any tool the request offers, with these JSON arguments.
    pub fn function_call(name: &str, arguments: Value) -> Self {
        Self::items(vec![function_call(name, &arguments)])
    }

    /// A well-formed response stream with these output items, verbatim.
    pub fn items(items: Vec<Value>) -> Self {
        Self {
            kind: Kind::Output {
                items,
                usage: Usage::default(),
                response_id: None,
            },
        }
    }

    /// An HTTP error with an OpenAI-style body `{"error":{"message",...}}`. Codex 0.169
    /// shows the body's message only for some statuses (see docs/testing.md): a 500 becomes
    /// "We’re currently experiencing high demand...", a 429 "exceeded retry limit, last
    /// status: 429 Too Many Requests", a 400 the raw body.
    pub fn http_error(status: u16, message: impl Into<String>) -> Self {
        let body = json!({"error": {
            "message": message.into(),
            "type": if status >= 500 { "server_error" } else { "invalid_request_error" },
            "code": Value::Null,
        }});
        Self {
            kind: Kind::HttpError {
                status,
                body: body.to_string(),
                retry_after: None,
            },
        }
    }

    /// Adds `Retry-After: SECONDS` to an [`http_error`](Self::http_error) (a 429 or 503
    /// asking the client to wait); no effect on other replies.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        if let Kind::HttpError { retry_after, .. } = &mut self.kind {
            *retry_after = Some(seconds);
        }
        self
    }

    /// A `200 text/event-stream` whose event data is not JSON, and which then closes.
    pub fn malformed_sse() -> Self {
        Self::raw_sse("event: response.created\ndata: {this is not json\n\n")
    }

    /// A stream that starts well and closes before `response.completed`.
    pub fn truncated_sse() -> Self {
        Self::raw_sse(&sse_event(
            "response.created",
            &json!({"type": "response.created", "response": {"id": "resp_truncated"}}),
        ))
    }

    /// A stream that ends with `response.failed` carrying this error code and message.
    pub fn failed(code: &str, message: &str) -> Self {
        let mut body = sse_event(
            "response.created",
            &json!({"type": "response.created", "response": {"id": "resp_failed"}}),
        );
        body.push_str(&sse_event(
            "response.failed",
            &json!({"type": "response.failed", "response": {
                "id": "resp_failed",
                "status": "failed",
                "error": {"code": code, "message": message},
            }}),
        ));
        Self::raw_sse(&body)
    }

    /// A `200 text/event-stream` with exactly this body (use [`sse_event`] to build it).
    pub fn raw_sse(body: &str) -> Self {
        Self {
            kind: Kind::RawSse(body.to_owned()),
        }
    }

    /// Waits `delay` before answering with `inner` (nothing is sent meanwhile).
    pub fn slow(delay: Duration, inner: Reply) -> Self {
        Self {
            kind: Kind::Slow(delay, Box::new(inner)),
        }
    }

    /// Streams for `total` before answering with `answer`: `response.created` at once,
    /// then a reasoning item (summary "step i of n") every `every`, then `answer`'s items
    /// and `response.completed`. Codex reports each reasoning item as an
    /// `item.completed` of type `reasoning` as it arrives, so a run stays busy and keeps
    /// emitting events (mcpd's progress) for as long as a real long turn. An `answer`
    /// that is not a well-formed output stream (an error, a hang) is sent after `total`
    /// of silence instead, like [`slow`](Self::slow).
    pub fn streaming(total: Duration, every: Duration, answer: Reply) -> Self {
        Self {
            kind: Kind::Streaming {
                total,
                every,
                answer: Box::new(answer),
            },
        }
    }

    /// Sends the headers and `response.created`, then nothing, never closing the stream
    /// until the [`ScriptedModel`](crate::ScriptedModel) is dropped: a model that hangs.
    pub fn hang() -> Self {
        Self { kind: Kind::Hang }
    }

    /// Chooses the reply from the request, e.g. to answer concurrent agents by their
    /// prompt, bearer token or working directory. As the fallback it answers every request
    /// the queue does not.
    pub fn from_fn(f: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static) -> Self {
        Self {
            kind: Kind::FromFn(Arc::new(f)),
        }
    }

    /// The fallback used when nothing is queued: a 400 whose body names the problem, so
    /// Codex's `turn.failed` message shows "no scripted reply left".
    pub fn no_scripted_reply_left() -> Self {
        Self::http_error(
            400,
            "codex-mcp-testkit: no scripted reply left for this POST /v1/responses",
        )
    }

    /// Appends an output item (e.g. a message after a function call).
    pub fn with_item(mut self, item: Value) -> Self {
        if let Kind::Output { items, .. } = &mut self.kind {
            items.push(item);
        }
        self
    }

    /// Sets the token counts reported in `response.completed` (ignored by replies that
    /// never complete).
    pub fn with_usage(mut self, new_usage: Usage) -> Self {
        match &mut self.kind {
            Kind::Output { usage, .. } => *usage = new_usage,
            Kind::Slow(_, inner) | Kind::Streaming { answer: inner, .. } => {
                **inner = inner.as_ref().clone().with_usage(new_usage)
            }
            _ => {}
        }
        self
    }

    /// Sets the response id (default: `resp_<n>`, unique per server).
    pub fn with_response_id(mut self, id: impl Into<String>) -> Self {
        if let Kind::Output { response_id, .. } = &mut self.kind {
            *response_id = Some(id.into());
        }
        self
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Output { items, usage, .. } => f
                .debug_struct("Reply::Output")
                .field("items", items)
                .field("usage", usage)
                .finish(),
            Kind::HttpError {
                status,
                body,
                retry_after,
            } => f
                .debug_struct("Reply::HttpError")
                .field("status", status)
                .field("body", body)
                .field("retry_after", retry_after)
                .finish(),
            Kind::RawSse(body) => f.debug_tuple("Reply::RawSse").field(body).finish(),
            Kind::Slow(d, inner) => f.debug_tuple("Reply::Slow").field(d).field(inner).finish(),
            Kind::Streaming {
                total,
                every,
                answer,
            } => f
                .debug_struct("Reply::Streaming")
                .field("total", total)
                .field("every", every)
                .field("answer", answer)
                .finish(),
            Kind::Hang => f.write_str("Reply::Hang"),
            Kind::FromFn(_) => f.write_str("Reply::FromFn(..)"),
        }
    }
}

/// An assistant `message` output item with one `output_text` part.
pub fn assistant_message(text: &str) -> Value {
    json!({
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    })
}

/// A `function_call` output item; `call_id` is filled in when the reply is sent.
pub fn function_call(name: &str, arguments: &Value) -> Value {
    json!({
        "type": "function_call",
        "name": name,
        "arguments": arguments.to_string(),
    })
}

/// A `reasoning` output item whose summary is `text` (what Codex shows as the reasoning
/// item's text).
pub fn reasoning(text: &str) -> Value {
    json!({
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}],
    })
}

/// The pauses of a [`Reply::streaming`] reply: `every` until `total` is used up (the last
/// one shorter), at least one.
pub(crate) fn streaming_steps(total: Duration, every: Duration) -> Vec<Duration> {
    let every = every.max(Duration::from_millis(1));
    let mut steps = Vec::new();
    let mut left = total;
    while left > every {
        steps.push(every);
        left -= every;
    }
    steps.push(left);
    steps
}

/// One server-sent event: `event: TYPE`, `data: JSON`, blank line.
pub fn sse_event(event_type: &str, data: &Value) -> String {
    format!("event: {event_type}\ndata: {data}\n\n")
}

/// The full event stream of a well-formed reply. Items get ids (`msg_<n>_<i>`,
/// `fc_<n>_<i>`) and function calls a `call_id` (`call_<n>_<i>`) unless they have them.
pub(crate) fn output_stream(items: &[Value], usage: &Usage, response_id: &str, n: u64) -> String {
    let mut out = sse_event(
        "response.created",
        &json!({"type": "response.created", "response": {"id": response_id}}),
    );
    for (i, item) in items.iter().enumerate() {
        let mut item = item.clone();
        if let Some(obj) = item.as_object_mut() {
            let kind = obj.get("type").and_then(Value::as_str);
            let is_call = kind == Some("function_call");
            let prefix = match kind {
                Some("function_call") => "fc",
                Some("reasoning") => "rs",
                _ => "msg",
            };
            obj.entry("id")
                .or_insert_with(|| Value::String(format!("{prefix}_{n}_{i}")));
            if is_call {
                obj.entry("call_id")
                    .or_insert_with(|| Value::String(format!("call_{n}_{i}")));
            }
        }
        out.push_str(&sse_event(
            "response.output_item.done",
            &json!({"type": "response.output_item.done", "output_index": i, "item": item}),
        ));
    }
    out.push_str(&sse_event(
        "response.completed",
        &json!({"type": "response.completed", "response": {
            "id": response_id,
            "status": "completed",
            "usage": usage.to_json(),
        }}),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_stream_has_ids_call_ids_and_usage() {
        let items = vec![
            function_call("exec_command", &json!({"cmd": "true"})),
            assistant_message("done"),
        ];
        let usage = Usage::new(3, 4).cached(1).reasoning(2);
        let s = output_stream(&items, &usage, "resp_7", 7);
        let events: Vec<Value> = s
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        assert_eq!(events.len(), 4);
        assert_eq!(events[1]["item"]["call_id"], "call_7_0");
        assert_eq!(events[1]["item"]["arguments"], r#"{"cmd":"true"}"#);
        assert_eq!(events[2]["item"]["id"], "msg_7_1");
        assert_eq!(events[3]["response"]["usage"]["total_tokens"], 7);
        assert_eq!(
            events[3]["response"]["usage"]["input_tokens_details"]["cached_tokens"],
            1
        );
    }

    #[test]
    fn streaming_steps_use_up_the_total() {
        let ms = Duration::from_millis;
        assert_eq!(streaming_steps(ms(900), ms(300)), vec![ms(300); 3]);
        assert_eq!(
            streaming_steps(ms(1000), ms(300)),
            vec![ms(300), ms(300), ms(300), ms(100)]
        );
        assert_eq!(streaming_steps(ms(100), ms(300)), vec![ms(100)]);
        assert_eq!(streaming_steps(ms(0), ms(0)), vec![ms(0)]);
    }

    #[test]
    fn usage_survives_slow_wrapper() {
        let r =
            Reply::slow(Duration::from_millis(1), Reply::text("x")).with_usage(Usage::new(1, 1));
        let Kind::Slow(_, inner) = r.kind else {
            panic!("not slow")
        };
        assert!(matches!(inner.kind, Kind::Output { usage, .. } if usage == Usage::new(1, 1)));
    }
}
