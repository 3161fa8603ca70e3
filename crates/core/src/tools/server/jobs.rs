//! `get_job` and `cancel_job`, and the caller's jobs as `list_sessions` and
//! `get_my_session_info` show them: the engine's view of a detached call
//! ([`crate::server::jobs`]) in the catalogue's shapes.

use std::time::Duration;

use codex_mcp_protocol::content::Content;
use codex_mcp_protocol::tools::CallToolResult;
use codex_mcp_tools::job::{JobStatus, LISTED_JOBS};
use codex_mcp_tools::tools::jobs::{CancelJobResponse, GetJobResponse, JobInfo};

use super::{ServerToolHandler, out};
use crate::server::jobs::{JobError, JobView};
use crate::server::{McpServer, RequestCtx, ToolError};

impl From<JobError> for ToolError {
    fn from(error: JobError) -> Self {
        ToolError::Failed(error.to_string())
    }
}

fn server(ctx: &RequestCtx) -> Result<&McpServer, ToolError> {
    ctx.server().ok_or_else(|| {
        ToolError::Failed("jobs need the server engine; none serves this call".into())
    })
}

fn info(job: &JobView) -> JobInfo {
    JobInfo {
        job_id: job.task.task_id.clone(),
        tool: job.tool.clone(),
        status: job.status,
        created_at: job.task.created_at.clone(),
    }
}

/// The caller's latest jobs, newest first (none outside a server engine).
pub(super) fn caller_jobs(ctx: &RequestCtx) -> Vec<JobInfo> {
    ctx.server()
        .map(|s| s.jobs_of(ctx, LISTED_JOBS).iter().map(info).collect())
        .unwrap_or_default()
}

impl ServerToolHandler {
    /// `get_job`: the job after waiting up to `wait_seconds` for it to end. Once
    /// completed, the structured answer carries the tool's structured result, and the
    /// result's links (a cut result's `resource_link`) and `_meta` (its call id) come
    /// along as they would on a foreground call.
    pub(super) async fn get_job(
        &self,
        ctx: &RequestCtx,
        job_id: &str,
        wait_seconds: u32,
    ) -> Result<CallToolResult, ToolError> {
        let wait = Duration::from_secs(wait_seconds.into());
        let job = server(ctx)?.wait_job(ctx, job_id, wait).await?;
        let response = GetJobResponse {
            job_id: job.task.task_id.clone(),
            tool: job.tool.clone(),
            status: job.status,
            progress: job.task.status_message.clone(),
            created_at: job.task.created_at.clone(),
            elapsed_seconds: job.elapsed_seconds(),
            result: job
                .result
                .as_ref()
                .and_then(|r| r.structured_content.clone()),
            error: job.error.clone(),
        };
        let mut answer = CallToolResult::structured(out(self.spec, &response)?);
        if let Some(done) = job.result {
            answer.content.extend(
                done.content
                    .into_iter()
                    .filter(|c| matches!(c, Content::ResourceLink { .. })),
            );
            answer.meta = done.meta;
        }
        if job.status == JobStatus::Working || job.status == JobStatus::InputRequired {
            answer.content.insert(
                0,
                Content::text(format!(
                    "Job {job_id} is still {}; call get_job again (wait_seconds up to 50).",
                    job.status.as_str()
                )),
            );
        }
        Ok(answer)
    }

    /// `cancel_job`: stops the job; its Codex process is gone when this answers.
    pub(super) async fn cancel_job(
        &self,
        ctx: &RequestCtx,
        job_id: &str,
    ) -> Result<CallToolResult, ToolError> {
        let job = server(ctx)?.cancel_job(ctx, job_id).await?;
        let response = CancelJobResponse {
            job_id: job.task.task_id,
            status: job.status,
        };
        Ok(CallToolResult::structured(out(self.spec, &response)?))
    }
}
