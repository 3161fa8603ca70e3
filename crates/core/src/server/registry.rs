//! What a server offers: tools, resources, prompts and completions, each behind a
//! small trait so the Codex tools, the conformance fixtures and embedding programs
//! plug into the same engine.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::ResourceContents;
use codex_mcp_protocol::prompts::{Completion, GetPromptResult, Prompt};
use codex_mcp_protocol::resources::{Resource, ResourceTemplate};
use codex_mcp_protocol::tasks_ext::TaskSupport;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use serde_json::{Map, Value};

use super::context::{AskError, Pending, RequestCtx};

/// How a tool call can fail short of producing a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The client must answer questions first (stateless era): the engine returns an
    /// `input_required` result.
    #[error("input required")]
    Pending(Pending),
    /// A protocol-level error (JSON-RPC error response).
    #[error(transparent)]
    Protocol(ErrorObject),
    /// The tool ran and failed: becomes a result with `isError: true` and this message.
    #[error("{0}")]
    Failed(String),
}

impl ToolError {
    /// What fails a task whose call did not survive a restart of the server (its run is
    /// gone, or its tool cannot re-attach): the store's restart sentence, as the task's
    /// error and status message.
    pub fn restarted() -> Self {
        Self::Protocol(super::task_durable::plain_internal(
            codex_mcp_store::TASK_INTERRUPTED,
        ))
    }
}

impl From<AskError> for ToolError {
    fn from(err: AskError) -> Self {
        match err {
            AskError::Pending(p) => Self::Pending(p),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// A callable tool.
#[async_trait]
pub trait ToolHandler: Send + Sync + 'static {
    /// The definition shown by `tools/list`. It must not change while the server runs
    /// (`listChanged` is false): the first page of `tools/list` is serialised once, when
    /// the server is built.
    fn definition(&self) -> Tool;
    /// Runs the tool.
    async fn call(
        &self,
        arguments: Map<String, Value>,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError>;
    /// Whether a call may run as a task of the 2026-07-28 tasks extension, detached
    /// from its request (long work). Synchronous only unless overridden.
    fn task_support(&self) -> TaskSupport {
        TaskSupport::Forbidden
    }
    /// Questions (key, method, params) the client must answer through the multi
    /// round-trip loop before the call becomes a task; the task then finds the answers
    /// with [`RequestCtx::ask`]. None unless overridden.
    fn questions_before_task(&self) -> Vec<Question> {
        Vec::new()
    }
    /// Whether a call of this tool that a previous process of this server ran as a
    /// task, and left running, can be finished after a restart ([`Self::reattach`]).
    /// False unless overridden: such a task is failed with the restart message.
    fn reattachable(&self) -> bool {
        false
    }
    /// Finishes `left`'s call (its arguments, as first received, are in `left`), which a
    /// previous process of this server started, in task context `ctx`: the result the
    /// call would have had. Only called when [`Self::reattachable`]; the default fails
    /// the task with the restart message.
    async fn reattach(
        &self,
        left: codex_mcp_store::LeftTask,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError> {
        let _ = (left, ctx);
        Err(ToolError::restarted())
    }
}

/// A question for the client: (key, method, params).
pub type Question = (String, String, Value);

/// A source of readable resources.
#[async_trait]
pub trait ResourceProvider: Send + Sync + 'static {
    /// Concrete resources, in a stable order.
    fn resources(&self) -> Vec<Resource>;
    /// The resources `ctx`'s caller may see, in a stable order (`resources/list` pages
    /// through them). A provider whose resources depend on the caller or change while
    /// the server runs (stored call results) overrides it and reports
    /// [`Self::per_caller`]; the default is [`Self::resources`].
    async fn list(&self, ctx: &RequestCtx) -> Result<Vec<Resource>, ErrorObject> {
        let _ = ctx;
        Ok(self.resources())
    }
    /// Whether [`Self::list`] and [`Self::read`] depend on the caller or change over
    /// time: their answers are then marked `cacheScope: private` with a zero `ttlMs`.
    fn per_caller(&self) -> bool {
        false
    }
    /// Resource templates, in a stable order.
    fn templates(&self) -> Vec<ResourceTemplate> {
        Vec::new()
    }
    /// Reads a resource; `Ok(None)` when the URI is unknown.
    async fn read(
        &self,
        uri: &str,
        ctx: &RequestCtx,
    ) -> Result<Option<Vec<ResourceContents>>, ErrorObject>;
}

/// A prompt template.
#[async_trait]
pub trait PromptHandler: Send + Sync + 'static {
    /// The definition shown by `prompts/list`.
    fn definition(&self) -> Prompt;
    /// Renders the prompt; missing required arguments are `-32602`
    /// ([`ToolError::Protocol`]); it may ask the client for input like a tool.
    async fn get(
        &self,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
    ) -> Result<GetPromptResult, ToolError>;
}

/// Suggests argument values for prompts and resource templates.
#[async_trait]
pub trait Completer: Send + Sync + 'static {
    /// `reference` is the `ref` object; `argument` the argument name and partial value.
    async fn complete(
        &self,
        reference: &Value,
        argument: &str,
        value: &str,
        context: Option<&Value>,
    ) -> Result<Completion, ErrorObject>;
}

/// Ordered name -> item map: listing order is registration order.
pub(crate) struct Ordered<T: ?Sized> {
    items: Vec<Arc<T>>,
    index: HashMap<String, usize>,
}

impl<T: ?Sized> Default for Ordered<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: ?Sized> Ordered<T> {
    /// Adds or replaces an item under `name`.
    pub fn insert(&mut self, name: String, item: Arc<T>) {
        match self.index.get(&name) {
            Some(&i) => self.items[i] = item,
            None => {
                self.index.insert(name, self.items.len());
                self.items.push(item);
            }
        }
    }

    /// Finds an item by name.
    pub fn get(&self, name: &str) -> Option<&Arc<T>> {
        self.index.get(name).map(|&i| &self.items[i])
    }

    /// All items in order.
    pub fn all(&self) -> &[Arc<T>] {
        &self.items
    }

    /// Whether any item is registered.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;
type ToolFn = dyn Fn(Map<String, Value>, RequestCtx) -> BoxFuture<Result<CallToolResult, ToolError>>
    + Send
    + Sync;

/// A tool made from a definition and an async closure, for small tools that need no
/// state of their own.
pub struct FnTool {
    definition: Tool,
    call: Box<ToolFn>,
    task_support: TaskSupport,
    before_task: Vec<Question>,
}

impl FnTool {
    /// Wraps `call` as the handler of `definition`.
    pub fn new<F, Fut>(definition: Tool, call: F) -> Self
    where
        F: Fn(Map<String, Value>, RequestCtx) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        Self {
            definition,
            call: Box::new(move |args, ctx| Box::pin(call(args, ctx))),
            task_support: TaskSupport::Forbidden,
            before_task: Vec::new(),
        }
    }

    /// Lets the tool run as a task (see [`ToolHandler::task_support`]).
    #[must_use]
    pub fn with_task_support(mut self, support: TaskSupport) -> Self {
        self.task_support = support;
        self
    }

    /// Questions answered before the task starts (see
    /// [`ToolHandler::questions_before_task`]).
    #[must_use]
    pub fn asking_before_task(mut self, questions: Vec<Question>) -> Self {
        self.before_task = questions;
        self
    }
}

#[async_trait]
impl ToolHandler for FnTool {
    fn definition(&self) -> Tool {
        self.definition.clone()
    }

    async fn call(
        &self,
        arguments: Map<String, Value>,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError> {
        (self.call)(arguments, ctx).await
    }

    fn task_support(&self) -> TaskSupport {
        self.task_support
    }

    fn questions_before_task(&self) -> Vec<Question> {
        self.before_task.clone()
    }
}
