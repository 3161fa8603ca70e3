//! Tasks that outlive a restart: at start, every task a previous process of this server
//! left running with a call still running ([`TaskStore::left_running`]) is taken over
//! again. A tool that can finish such a call ([`ToolHandler::reattachable`]: the Codex
//! tools, whose runs outlive mcpd in Docker) runs it detached as a new task would run,
//! through [`super::jobs::drive`]; any other task is failed with the restart message
//! and its call recorded `interrupted`.

use codex_mcp_store::{LeftTask, TaskStore};
use serde_json::Map;

use super::McpServer;
use super::context::{CtxParts, RequestCtx};
use super::jobs::drive;
use super::task_durable::owner_of_key;

impl McpServer {
    /// Takes over `left` (from [`TaskStore::left_running`] of `store`, the server's task
    /// store): re-attaches each task whose tool can finish it and fails the rest.
    /// Returns how many were re-attached. Call it once, at start, before serving.
    pub async fn reattach_tasks(&self, store: &dyn TaskStore, left: Vec<LeftTask>) -> usize {
        let mut reattached = 0;
        for task in left {
            let tool = self
                .tool(&task.task.tool)
                .filter(|t| t.reattachable())
                .cloned();
            let Some(tool) = tool else {
                tracing::warn!(task = %task.task.id, tool = %task.task.tool, "the task's tool cannot re-attach: failed as the server restarted");
                if let Err(e) = store.fail_left_running(&task, codex_mcp_store::now()).await {
                    tracing::error!(task = %task.task.id, error = %e, "could not record the task failed");
                }
                continue;
            };
            let entry = self.inner.tasks.resume(&task.task);
            let name = task.task.tool.clone();
            let finished = self.record_job(&entry, &name, owner_of_key(&task.task.owner));
            let ctx = RequestCtx::new(
                Some(self.clone()),
                CtxParts::default(),
                None,
                Map::new(),
                None,
            )
            .for_task(entry.clone());
            tracing::info!(task = %entry.id(), call = %task.call_id, tool = %name, "re-attaching a task left running by a previous mcpd");
            drive(entry, &name, None, finished, async move {
                tool.reattach(task, ctx).await
            });
            reattached += 1;
        }
        reattached
    }
}
