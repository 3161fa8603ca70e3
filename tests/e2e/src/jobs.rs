//! Background jobs through `mcpd`'s job tools: start one, read it, wait for its end.

use serde_json::{Value, json};

use crate::Mcpd;

/// A tool result's structured content; the result must not be an error.
pub fn structured_ok(result: &Value) -> Value {
    assert_eq!(result.get("isError"), None, "{result}");
    result["structuredContent"].clone()
}

/// Starts `arguments` on `tool` in the background; returns the job id.
pub async fn start_job(mcpd: &Mcpd, tool: &str, mut arguments: Value) -> String {
    arguments["background"] = json!(true);
    let started = mcpd
        .call_tool(tool, arguments)
        .await
        .unwrap_or_else(|e| panic!("{tool} in the background: {e}"));
    let job = structured_ok(&started);
    let id = job["job_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(job, json!({"job_id": id, "status": "working"}));
    let text = started["content"][0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("get_job") && text.contains(&id),
        "the answer says how to fetch it: {text}"
    );
    id
}

/// `get_job` waiting up to `wait` seconds; its structured answer.
pub async fn get_job(mcpd: &Mcpd, id: &str, wait: u32) -> Value {
    let got = mcpd
        .call_tool("get_job", json!({"job_id": id, "wait_seconds": wait}))
        .await
        .unwrap_or_else(|e| panic!("get_job {id}: {e}"));
    structured_ok(&got)
}

/// `get_job` with the longest wait until the job ends (a few rounds at most).
pub async fn until_done(mcpd: &Mcpd, id: &str) -> Value {
    for _ in 0..4 {
        let job = get_job(mcpd, id, 50).await;
        if job["status"] != json!("working") {
            return job;
        }
    }
    panic!("job {id} still working after 200 s");
}
