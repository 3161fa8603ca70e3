//! `finish`, `PreparedCall::finish`, `to_structured`: from Codex's final message (or the
//! server's own response) to `structuredContent`.

use codex_mcp_tools::job::JobStatus;
use codex_mcp_tools::tools::agents::{
    AgentStatusResponse, AgentSummary, CleanupResponse, ListActiveAgentsResponse, RemovedAgent,
    ResourceUsage,
};
use codex_mcp_tools::tools::audit::{self, AuditResponse, Finding, Location};
use codex_mcp_tools::tools::chat::ChatResponse;
use codex_mcp_tools::tools::debug::{DebugResponse, Hypothesis, Likelihood, Solution};
use codex_mcp_tools::tools::fix::{FixResponse, Verification, VerificationStatus};
use codex_mcp_tools::tools::health::{
    CodexHealth, CredentialsHealth, HealthCheckResponse, HealthStatus,
};
use codex_mcp_tools::tools::implement::{self, ChangeKind, ChangedFile, ImplementResponse};
use codex_mcp_tools::tools::jobs::{CancelJobResponse, GetJobResponse, JobInfo};
use codex_mcp_tools::tools::plan::{
    Decision, FileAction, FileToTouch, PlanResponse, PlanStep, Risk,
};
use codex_mcp_tools::tools::review::{InlineComment, ReviewResponse, RubricScore, Verdict};
use codex_mcp_tools::tools::sessions::{
    CallInfo, ListSessionsResponse, MySessionInfo, SessionInfo, ThreadInfo,
};
use codex_mcp_tools::{
    AgentId, OutputError, Severity, find, finish, prepare, to_structured, validate_output,
};
use pretty_assertions::assert_eq;
use serde::Serialize;
use serde_json::{Map, Value, json};

fn plan_response() -> Value {
    json!({
        "summary": "Add a token bucket in front of the handlers.",
        "steps": [{"description": "Add the limiter", "files": ["src/limit.rs"]}],
        "files_to_touch": [{"path": "src/limit.rs", "action": "create", "reason": "the limiter"}],
        "architectural_decisions": [{"decision": "tower layer", "rationale": "reuse", "alternatives": []}],
        "risks": [{"description": "bursts", "severity": "low", "mitigation": "tune"}],
    })
}

#[test]
fn valid_json_becomes_the_structured_content() {
    let plan = find("plan").unwrap();
    let text = serde_json::to_string(&plan_response()).unwrap();
    assert_eq!(finish(plan, &text).unwrap(), plan_response());
    // Whitespace and one code fence around it are tolerated.
    let fenced = format!(
        "\n```json\n{}\n```\n",
        serde_json::to_string_pretty(&plan_response()).unwrap()
    );
    assert_eq!(finish(plan, &fenced).unwrap(), plan_response());
}

#[test]
fn text_that_is_not_json_is_an_error_carrying_it() {
    let plan = find("plan").unwrap();
    let err = finish(plan, "I could not finish the plan.").unwrap_err();
    assert_eq!(
        err,
        OutputError::NotJson {
            tool: "plan".into(),
            reason: "expected value at line 1 column 1".into(),
            raw: "I could not finish the plan.".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "plan: Codex's final message is not JSON (expected value at line 1 column 1): I could not finish the plan."
    );
    assert_eq!(err.raw(), Some("I could not finish the plan."));

    let err = finish(plan, "  \n").unwrap_err();
    assert!(
        matches!(&err, OutputError::NotJson { reason, .. } if reason == "the message is empty")
    );

    let long = format!("{{\"summary\": \"{}", "x".repeat(100_000));
    let raw = finish(plan, &long).unwrap_err().raw().unwrap().to_owned();
    assert!(raw.len() < 4200, "{}", raw.len());
    assert!(raw.starts_with("{\"summary\": \"xxx"));
    assert!(raw.ends_with(&format!("({} bytes in all)", long.len())));
}

#[test]
fn json_that_breaks_the_schema_is_an_error_listing_why() {
    let plan = find("plan").unwrap();
    let mut value = plan_response();
    let object = value.as_object_mut().unwrap();
    object.remove("risks");
    object.insert("extra".into(), json!(1));
    object["files_to_touch"][0]["action"] = json!("rename");
    let text = value.to_string();
    let err = finish(plan, &text).unwrap_err();
    let OutputError::SchemaMismatch {
        tool,
        violations,
        raw,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(tool, "plan");
    assert_eq!(raw, &text);
    assert_eq!(violations.len(), 3, "{violations:?}");
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("(root): ") && v.contains("risks")),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("(root): ") && v.contains("extra")),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.starts_with("/files_to_touch/0/action: ")),
        "{violations:?}"
    );
    assert!(
        err.to_string()
            .starts_with("plan: Codex's final message does not match the output schema: ")
    );

    let err = finish(plan, "[1, 2]").unwrap_err();
    assert!(matches!(err, OutputError::SchemaMismatch { .. }), "{err:?}");
}

fn finding(title: &str, severity: Severity) -> Finding {
    Finding {
        title: title.into(),
        severity,
        category: "injection".into(),
        cwe_ids: vec!["CWE-89".into()],
        locations: vec![Location {
            file: Some("src/db.rs".into()),
            line: Some(3),
        }],
        description: "d".into(),
        remediation: "r".into(),
        compliance: vec!["OWASP A03:2021".into()],
    }
}

#[test]
fn audit_findings_below_the_threshold_are_dropped() {
    let response = AuditResponse {
        summary: "s".into(),
        overall_risk: Severity::Critical,
        findings: vec![
            finding("a", Severity::Critical),
            finding("b", Severity::Low),
            finding("c", Severity::Medium),
            finding("d", Severity::Info),
        ],
    };
    let arguments: Map<String, Value> =
        serde_json::from_value(json!({"code": "x", "severity_threshold": "medium"})).unwrap();
    let call = prepare("audit", &arguments).unwrap();
    let value = call
        .finish(&serde_json::to_string(&response).unwrap())
        .unwrap();
    let titles: Vec<&str> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["a", "c"]);

    // Without a threshold everything stays.
    let call = prepare(
        "audit",
        &serde_json::from_value(json!({"code": "x"})).unwrap(),
    )
    .unwrap();
    let value = call
        .finish(&serde_json::to_string(&response).unwrap())
        .unwrap();
    assert_eq!(value["findings"].as_array().unwrap().len(), 4);

    let mut typed = response.clone();
    assert_eq!(
        audit::apply_severity_threshold(&mut typed, Severity::High),
        3
    );
    assert_eq!(typed.findings, vec![finding("a", Severity::Critical)]);
    let mut untyped = serde_json::to_value(&response).unwrap();
    assert_eq!(audit::filter_findings(&mut untyped, Severity::Info), 0);
    assert_eq!(audit::filter_findings(&mut untyped, Severity::Critical), 3);
}

#[test]
fn the_real_diff_replaces_the_models() {
    let tool = find("implement").unwrap();
    let response = ImplementResponse {
        diff: "(model's diff)".into(),
        files_changed: vec![ChangedFile {
            path: "a.rs".into(),
            change: ChangeKind::Modified,
            summary: "s".into(),
        }],
        explanation: "e".into(),
        integration_notes: vec![],
    };
    let mut value = finish(tool, &serde_json::to_string(&response).unwrap()).unwrap();
    assert!(implement::replace_diff(
        &mut value,
        "--- a/a.rs\n+++ b/a.rs\n"
    ));
    assert_eq!(value["diff"], "--- a/a.rs\n+++ b/a.rs\n");
    assert_eq!(validate_output(tool, &value), Ok(()));
    assert!(!implement::replace_diff(&mut json!({}), "x"));
}

fn round_trip<T: Serialize>(tool: &str, response: &T) {
    let spec = find(tool).unwrap();
    let value = to_structured(spec, response).unwrap_or_else(|e| panic!("{tool}: {e}"));
    if spec.codex().is_some() {
        assert_eq!(finish(spec, &value.to_string()).unwrap(), value, "{tool}");
    }
}

/// The response types and the schemas agree: whatever the types serialize validates.
#[test]
fn every_response_type_satisfies_its_schema() {
    let id = |s: &str| s.parse::<AgentId>().unwrap();
    round_trip(
        "plan",
        &serde_json::from_value::<PlanResponse>(plan_response()).unwrap(),
    );
    round_trip(
        "plan",
        &PlanResponse {
            summary: "s".into(),
            steps: vec![PlanStep {
                description: "d".into(),
                files: vec![],
            }],
            files_to_touch: vec![FileToTouch {
                path: "p".into(),
                action: FileAction::Delete,
                reason: "r".into(),
            }],
            architectural_decisions: vec![Decision {
                decision: "d".into(),
                rationale: "r".into(),
                alternatives: vec!["a".into()],
            }],
            risks: vec![Risk {
                description: "d".into(),
                severity: Severity::High,
                mitigation: "m".into(),
            }],
        },
    );
    round_trip(
        "review",
        &ReviewResponse {
            summary: "s".into(),
            verdict: Verdict::ApproveWithSuggestions,
            comments: vec![InlineComment {
                file: None,
                line: None,
                severity: Severity::Info,
                message: "m".into(),
                suggestion: None,
            }],
            scores: vec![RubricScore {
                criterion: "tests".into(),
                score: 10,
                rationale: "r".into(),
            }],
            recommendations: vec![],
        },
    );
    round_trip(
        "fix",
        &FixResponse {
            root_cause: "c".into(),
            explanation: "e".into(),
            diff: String::new(),
            files_changed: vec![],
            verification: Verification {
                status: VerificationStatus::NotRun,
                commands: vec![],
                details: "no tests".into(),
            },
            prevention: vec!["p".into()],
        },
    );
    round_trip(
        "chat",
        &ChatResponse {
            reply: "hi".into(),
            referenced_files: vec![],
            follow_up_suggestions: vec![],
        },
    );
    round_trip(
        "audit",
        &AuditResponse {
            summary: "s".into(),
            overall_risk: Severity::Info,
            findings: vec![finding("f", Severity::Low)],
        },
    );
    round_trip(
        "debug",
        &DebugResponse {
            summary: "s".into(),
            hypotheses: vec![Hypothesis {
                cause: "c".into(),
                likelihood: Likelihood::High,
                evidence: "e".into(),
                how_to_confirm: "h".into(),
            }],
            solutions: vec![Solution {
                approach: "a".into(),
                steps: vec!["s".into()],
                trade_offs: "t".into(),
            }],
            next_steps: vec![],
        },
    );
    let job = JobInfo {
        job_id: "task-1".into(),
        tool: "implement".into(),
        status: JobStatus::Working,
        created_at: "2026-01-01T00:00:00Z".into(),
    };
    let session = SessionInfo {
        agent_id: id("agent-1"),
        runtime: "docker".into(),
        container_id: Some("abc123".into()),
        state: "running".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        last_active_at: "2026-01-01T01:00:00Z".into(),
        workspace: Some("/workspace".into()),
        calls: 3,
        calls_running: 1,
        tokens_in: 1000,
        tokens_out: 200,
        threads: vec![ThreadInfo {
            conversation: "chat".into(),
            thread_id: "t-1".into(),
        }],
        recent_calls: vec![
            CallInfo {
                call_id: "call-2".into(),
                tool: "chat".into(),
                status: "running".into(),
                started_at: "2026-01-01T01:00:00Z".into(),
                finished_at: None,
                duration_ms: None,
                error: None,
                tokens_in: None,
                tokens_out: None,
            },
            CallInfo {
                call_id: "call-1".into(),
                tool: "plan".into(),
                status: "interrupted".into(),
                started_at: "2026-01-01T00:00:00Z".into(),
                finished_at: None,
                duration_ms: None,
                error: Some("the server stopped during the call".into()),
                tokens_in: Some(10),
                tokens_out: Some(2),
            },
        ],
    };
    round_trip(
        "list_sessions",
        &ListSessionsResponse {
            sessions: vec![session.clone()],
            total: 3,
            next_offset: Some(1),
            jobs: vec![job.clone()],
        },
    );
    round_trip(
        "list_sessions",
        &ListSessionsResponse {
            sessions: vec![session.clone()],
            total: 1,
            next_offset: None,
            jobs: vec![],
        },
    );
    round_trip(
        "get_my_session_info",
        &MySessionInfo {
            session: session.clone(),
            jobs: vec![job.clone()],
        },
    );
    // The session's fields sit beside `jobs`, as before jobs existed.
    let mine = to_structured(
        find("get_my_session_info").unwrap(),
        &MySessionInfo {
            session: session.clone(),
            jobs: vec![],
        },
    )
    .unwrap();
    assert_eq!(mine["agent_id"], json!("agent-1"));
    assert_eq!(mine["jobs"], json!([]));
    round_trip(
        "health_check",
        &HealthCheckResponse {
            status: HealthStatus::Degraded,
            version: "0.1.0".into(),
            uptime_seconds: 5,
            runtime: "local".into(),
            runtime_note: Some("no Docker engine".into()),
            open_sessions: 0,
            active_agents: 0,
            credentials: CredentialsHealth {
                method: "none".into(),
                source: None,
                expires_in_seconds: None,
                problems: vec!["no credentials".into()],
            },
            codex: CodexHealth {
                available: false,
                version: None,
                problem: None,
            },
        },
    );
    round_trip(
        "list_active_agents",
        &ListActiveAgentsResponse {
            agents: vec![AgentSummary {
                agent_id: id("a"),
                runtime: "docker".into(),
                container_id: None,
                state: "running".into(),
                last_active_at: "2026-01-01T00:00:00Z".into(),
                idle_seconds: 12,
                running_calls: 1,
            }],
        },
    );
    round_trip(
        "get_agent_status",
        &AgentStatusResponse {
            session,
            running_calls: 0,
            resources: Some(ResourceUsage {
                cpu_percent: Some(1.5),
                memory_bytes: Some(1 << 20),
                memory_limit_bytes: None,
                disk_bytes: None,
            }),
        },
    );
    round_trip(
        "cleanup_inactive_agents",
        &CleanupResponse {
            idle_seconds: 3600,
            purge: true,
            removed: vec![RemovedAgent {
                agent_id: id("old"),
                idle_seconds: 7200,
                purged: true,
            }],
            kept: 2,
        },
    );
    let chat = json!({"reply": "hi", "referenced_files": [], "follow_up_suggestions": []});
    for (status, result, error) in [
        (JobStatus::Working, None, None),
        (JobStatus::Completed, Some(chat), None),
        (JobStatus::Completed, Some(plan_response()), None),
        (JobStatus::Failed, None, Some("Codex failed".to_string())),
    ] {
        round_trip(
            "get_job",
            &GetJobResponse {
                job_id: "task-1".into(),
                tool: "chat".into(),
                status,
                progress: Some("thinking".into()),
                created_at: "2026-01-01T00:00:00Z".into(),
                elapsed_seconds: 1.5,
                result,
                error,
            },
        );
    }
    round_trip(
        "cancel_job",
        &CancelJobResponse {
            job_id: "task-1".into(),
            status: JobStatus::Cancelled,
        },
    );
    // A result that is no Codex tool's is caught.
    let odd = GetJobResponse {
        job_id: "task-1".into(),
        tool: "chat".into(),
        status: JobStatus::Completed,
        progress: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        elapsed_seconds: 1.5,
        result: Some(json!({"nope": 1})),
        error: None,
    };
    assert!(to_structured(find("get_job").unwrap(), &odd).is_err());
}

#[test]
fn server_responses_that_break_the_schema_are_caught() {
    let health = find("health_check").unwrap();
    let err = validate_output(health, &json!({"status": "fine"})).unwrap_err();
    assert!(matches!(err, OutputError::SchemaMismatch { .. }), "{err:?}");
}

#[test]
fn review_scores_stay_within_ten() {
    let review = find("review").unwrap();
    let value = json!({
        "summary": "s", "verdict": "approve", "comments": [], "recommendations": [],
        "scores": [{"criterion": "tests", "score": 11, "rationale": "r"}],
    });
    let err = finish(review, &value.to_string()).unwrap_err();
    let OutputError::SchemaMismatch { violations, .. } = err else {
        panic!()
    };
    assert_eq!(violations.len(), 1);
    assert!(
        violations[0].starts_with("/scores/0/score: "),
        "{violations:?}"
    );
}
