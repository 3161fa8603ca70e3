//! Detached tool calls: the one code path behind both MCP tasks (2026-07-28 extension)
//! and background jobs (`"background": true` on a task-capable tool, for clients that do
//! not speak tasks). A job *is* a task: one [`TaskTable`](super::tasks::TaskTable), one
//! lifecycle; the [`JobBook`] only adds what the job tools show that a task does not
//! carry (the tool's name) and when the detached run has fully ended.
//!
//! `get_job` and `cancel_job` (in `crate::tools::server`) reach a job through
//! [`McpServer::wait_job`] and [`McpServer::cancel_job`]; like tasks, a job is visible
//! only to the bearer token that started it.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::Content;
use codex_mcp_protocol::tasks_ext::{DetailedTask, Task, TaskStatus};
use codex_mcp_protocol::tools::CallToolResult;
use codex_mcp_tools::job::{JobStarted, JobStatus};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::McpServer;
use super::call_limit::CallPermit;
use super::context::{AskError, Pending, RequestCtx};
use super::correlation;
use super::dispatch::{Outcome, encode};
use super::registry::{ToolError, ToolHandler};
use super::task_wire::owner;
use super::tasks::{TaskEntry, TaskSpec};

/// How long a cancelled call may take to stop on its own before it is dropped.
pub(super) const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// Runs a detached call of `tool` for `task` in the background, holding `permit`: its
/// result (or error) ends the task, the task's cancellation stops it (after a grace to
/// clean up), and `finished` is dropped once the run is over. Shared by new tasks and
/// tasks a restarted server re-attaches to.
pub(super) fn drive(
    task: Arc<TaskEntry>,
    tool: &str,
    permit: Option<CallPermit>,
    finished: CancellationToken,
    call: impl Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
) {
    let correlation_id = correlation::new_id("call");
    let span = tracing::info_span!(
        "tool_call",
        correlation_id = %correlation_id,
        tool = %tool,
        task = %task.id()
    );
    let call = correlation::scope(correlation_id, call.instrument(span));
    tokio::spawn(async move {
        let _permit = permit;
        let _finished = finished.drop_guard();
        let mut running = tokio::spawn(call);
        let joined = tokio::select! {
            joined = &mut running => joined,
            () = task.cancellation().cancelled() => {
                // The call sees the same token (a Codex turn stops its process on
                // it); it gets a moment to clean up before it is dropped.
                if tokio::time::timeout(CANCEL_GRACE, &mut running).await.is_err() {
                    running.abort();
                }
                return;
            }
        };
        match joined {
            Ok(Ok(result)) => match encode(result) {
                Ok(value) => task.complete(value),
                Err(e) => task.fail(e),
            },
            Ok(Err(ToolError::Failed(message))) => match encode(CallToolResult::error(message)) {
                Ok(value) => task.complete(value),
                Err(e) => task.fail(e),
            },
            Ok(Err(ToolError::Protocol(error))) => task.fail(error),
            Ok(Err(ToolError::Pending(_))) => task.fail(ErrorObject::internal(
                "the tool asked for input without its task",
            )),
            Err(join) => task.fail(ErrorObject::internal(format!("the tool stopped: {join}"))),
        }
    });
}

/// What the job tools know of each detached call beyond its task, oldest first.
#[derive(Default)]
pub(crate) struct JobBook {
    records: Mutex<VecDeque<JobRecord>>,
}

#[derive(Clone)]
struct JobRecord {
    id: String,
    tool: String,
    owner: Option<String>,
    /// Cancelled once the detached run is over (its Codex process stopped).
    finished: CancellationToken,
}

/// A job as the job tools show it: its task and the tool it runs.
#[derive(Debug, Clone)]
pub struct JobView {
    /// The tool it runs.
    pub tool: String,
    /// The task's fields (id, status, latest progress, times).
    pub task: Task,
    /// Its status as a job: a tool result with `isError` is `failed` here.
    pub status: JobStatus,
    /// Once completed: the tool's whole result.
    pub result: Option<CallToolResult>,
    /// Once failed: what went wrong.
    pub error: Option<String>,
}

impl JobView {
    /// Seconds from the start to now, or to the end once it ended.
    pub fn elapsed_seconds(&self) -> f64 {
        let parse = |s: &str| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc));
        let Ok(start) = parse(&self.task.created_at) else {
            return 0.0;
        };
        let end = if self.status.is_terminal() {
            parse(&self.task.last_updated_at).unwrap_or_else(|_| Utc::now())
        } else {
            Utc::now()
        };
        (end - start).num_milliseconds().max(0) as f64 / 1000.0
    }
}

/// Why a job tool could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// No job of the caller has this id: never started, expired, or another token's.
    #[error(
        "unknown job id {0:?}: no job of yours has this id (jobs are kept for an hour after they start)"
    )]
    Unknown(String),
    /// The store could not be read for a job this process does not hold.
    #[error("cannot read job {id:?} from the store: {message}")]
    Unreadable {
        /// The job.
        id: String,
        /// What the store said.
        message: String,
    },
    /// `cancel_job` on a job that already ended.
    #[error("job {id} already ended ({status}); there is nothing to cancel")]
    Ended {
        /// The job.
        id: String,
        /// How it ended.
        status: &'static str,
    },
}

/// How a detached start went: running, or waiting for the client's answers first.
pub(super) enum Detached {
    Started(Arc<TaskEntry>),
    InputRequired(Pending),
}

fn job_status(task: &TaskEntry) -> JobView {
    job_view(task.detailed())
}

/// A job's view from its task, live or stored.
fn job_view(detailed: DetailedTask) -> JobView {
    let result: Option<CallToolResult> =
        detailed.result.and_then(|r| serde_json::from_value(r).ok());
    let failed_result = result.as_ref().is_some_and(CallToolResult::is_error);
    let status = match detailed.task.status {
        TaskStatus::Working => JobStatus::Working,
        TaskStatus::InputRequired => JobStatus::InputRequired,
        TaskStatus::Completed if failed_result => JobStatus::Failed,
        TaskStatus::Completed => JobStatus::Completed,
        TaskStatus::Failed => JobStatus::Failed,
        TaskStatus::Cancelled => JobStatus::Cancelled,
    };
    let error = match (&result, detailed.error) {
        (_, Some(error)) => Some(error.message),
        (Some(r), None) if failed_result => Some(text_of(r)),
        _ => None,
    };
    JobView {
        tool: String::new(),
        task: detailed.task,
        status,
        result: result.filter(|_| !failed_result),
        error,
    }
}

/// The text blocks of a result, joined: an `isError` result's message.
fn text_of(result: &CallToolResult) -> String {
    let texts: Vec<&str> = result
        .content
        .iter()
        .filter_map(|c| match c {
            Content::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join("\n")
}

impl McpServer {
    /// Starts `tool` detached from the request, as a task or a job: asks the tool's
    /// up-front questions first (multi round-trip), then creates the task (readable
    /// before this returns) and runs the call in the background, holding `permit`.
    /// The call sees the task's cancellation and reports progress as its status message.
    pub(super) async fn detach(
        &self,
        tool: Arc<dyn ToolHandler>,
        name: &str,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
        permit: CallPermit,
        ttl: Duration,
    ) -> Result<Detached, ErrorObject> {
        let before = tool.questions_before_task();
        if !before.is_empty() {
            match ctx.ask_many(before).await {
                Ok(_) => {}
                Err(AskError::Pending(pending)) => return Ok(Detached::InputRequired(pending)),
                Err(other) => return Err(ErrorObject::invalid_params(other)),
            }
        }
        let caller = owner(ctx);
        let spec = TaskSpec {
            tool: name.to_string(),
            ttl,
        };
        let entry = self.inner.tasks.create_with(caller.clone(), spec);
        // In the store before the client hears of it.
        self.inner.tasks.flush().await;
        let finished = self.record_job(&entry, name, caller);
        let task_ctx = ctx.for_task(entry.clone());
        let call = async move { tool.call(arguments, task_ctx).await };
        drive(entry.clone(), name, Some(permit), finished, call);
        Ok(Detached::Started(entry))
    }

    /// Makes `entry` a job the job tools find (running `tool`, visible to `owner`);
    /// returns the token to drop once its run is over.
    pub(super) fn record_job(
        &self,
        entry: &TaskEntry,
        tool: &str,
        owner: Option<String>,
    ) -> CancellationToken {
        let finished = CancellationToken::new();
        self.inner.jobs.record(
            JobRecord {
                id: entry.id().to_string(),
                tool: tool.to_string(),
                owner,
                finished: finished.clone(),
            },
            &self.inner.tasks,
        );
        finished
    }

    /// `"background": true`: starts the call detached and answers at once with the
    /// job's id (a [`JobStarted`]) and how to fetch it.
    pub(super) async fn start_job(
        &self,
        tool: Arc<dyn ToolHandler>,
        name: &str,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
        permit: CallPermit,
    ) -> Result<Outcome, ErrorObject> {
        let ttl = self.inner.options.task_ttl;
        let entry = match self.detach(tool, name, arguments, ctx, permit, ttl).await? {
            Detached::Started(entry) => entry,
            Detached::InputRequired(pending) => return Ok(Outcome::InputRequired(pending)),
        };
        let started = JobStarted {
            job_id: entry.id().to_string(),
            status: JobStatus::Working,
        };
        let mut result = CallToolResult::structured(encode(&started)?);
        result.content = vec![Content::text(format!(
            "Started {name} as background job {id}. Call get_job {{\"job_id\": \"{id}\", \
             \"wait_seconds\": 50}} until its status is no longer \"working\" to get the \
             result; cancel_job {{\"job_id\": \"{id}\"}} stops it.",
            id = started.job_id
        ))];
        Ok(Outcome::Done(encode(result)?, None))
    }

    /// The caller's job `id`, after waiting up to `wait` for it to end (or for the
    /// request asking to be cancelled).
    pub async fn wait_job(
        &self,
        ctx: &RequestCtx,
        id: &str,
        wait: Duration,
    ) -> Result<JobView, JobError> {
        let (task, record) = match self.find_job(ctx, id) {
            Ok(found) => found,
            // A job of a previous process (ended: a restart fails what was running)
            // or of another replica: its stored state, no waiting.
            Err(unknown) => return self.stored_job(ctx, id).await?.ok_or(unknown),
        };
        if !wait.is_zero() && !task.task().status.is_terminal() {
            let _ = tokio::time::timeout(wait, async {
                tokio::select! {
                    () = record.finished.cancelled() => {}
                    () = task.cancellation().cancelled() => {}
                    // The client gave up on this get_job: stop waiting for it.
                    () = ctx.cancellation().cancelled() => {}
                }
            })
            .await;
        }
        Ok(JobView {
            tool: record.tool,
            ..job_status(&task)
        })
    }

    /// Cancels the caller's job `id` and waits (up to the cancel grace) until its run is
    /// over, so its Codex process is gone when this returns. A job that already ended
    /// is an error naming how it ended.
    pub async fn cancel_job(&self, ctx: &RequestCtx, id: &str) -> Result<JobView, JobError> {
        let (task, record) = match self.find_job(ctx, id) {
            Ok(found) => found,
            Err(unknown) => {
                let view = self.stored_job(ctx, id).await?.ok_or(unknown)?;
                if view.status.is_terminal() {
                    return Err(JobError::Ended {
                        id: id.to_string(),
                        status: view.status.as_str(),
                    });
                }
                // Another replica runs it: the store records the cancel.
                self.inner
                    .tasks
                    .cancel_stored(id)
                    .await
                    .map_err(|e| unreadable(id, e))?;
                return Ok(self.stored_job(ctx, id).await?.unwrap_or(view));
            }
        };
        let before = job_status(&task);
        if before.status.is_terminal() {
            return Err(JobError::Ended {
                id: id.to_string(),
                status: before.status.as_str(),
            });
        }
        task.cancel();
        let _ = tokio::time::timeout(
            CANCEL_GRACE + Duration::from_secs(1),
            record.finished.cancelled(),
        )
        .await;
        Ok(JobView {
            tool: record.tool,
            ..job_status(&task)
        })
    }

    /// The caller's latest `limit` jobs (tasks included), newest first.
    pub fn jobs_of(&self, ctx: &RequestCtx, limit: usize) -> Vec<JobView> {
        let caller = owner(ctx);
        let records: Vec<JobRecord> = self
            .inner
            .jobs
            .records
            .lock()
            .iter()
            .rev()
            .filter(|r| r.owner == caller)
            .cloned()
            .collect();
        records
            .into_iter()
            .filter_map(|r| {
                let task = self.inner.tasks.find(&r.id, caller.as_deref()).ok()?;
                Some(JobView {
                    tool: r.tool,
                    ..job_status(&task)
                })
            })
            .take(limit)
            .collect()
    }

    /// The caller's job `id` as the store has it (see [`super::tasks::TaskTable::stored`]).
    async fn stored_job(&self, ctx: &RequestCtx, id: &str) -> Result<Option<JobView>, JobError> {
        let caller = owner(ctx);
        let stored = self
            .inner
            .tasks
            .stored(id, caller.as_deref())
            .await
            .map_err(|e| unreadable(id, e))?;
        Ok(stored.map(|(tool, detailed)| JobView {
            tool,
            ..job_view(detailed)
        }))
    }

    fn find_job(
        &self,
        ctx: &RequestCtx,
        id: &str,
    ) -> Result<(Arc<TaskEntry>, JobRecord), JobError> {
        let caller = owner(ctx);
        let unknown = || JobError::Unknown(id.to_string());
        let task = self
            .inner
            .tasks
            .find(id, caller.as_deref())
            .map_err(|_| unknown())?;
        let record = self
            .inner
            .jobs
            .records
            .lock()
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(unknown)?;
        Ok((task, record))
    }
}

fn unreadable(id: &str, e: ErrorObject) -> JobError {
    JobError::Unreadable {
        id: id.to_string(),
        message: e.message,
    }
}

impl JobBook {
    /// Adds a record, dropping those whose task has expired.
    fn record(&self, record: JobRecord, tasks: &super::tasks::TaskTable) {
        let mut records = self.records.lock();
        records.retain(|r| tasks.find(&r.id, r.owner.as_deref()).is_ok());
        records.push_back(record);
    }
}
