//! The Docker API calls of a warm turn, counted by a recording proxy in front of the
//! engine (`codex_mcp_e2e::docker_proxy`): a regression that adds a round trip to every
//! turn fails here. And the fallbacks of a turn that trusts the container to be running:
//! stopped or removed behind mcpd's back between two turns, the next turn still works.

use codex_mcp_e2e::bench::{answer_pong, chat_call};
use codex_mcp_e2e::docker::docker_ok;
use codex_mcp_e2e::docker_proxy::{ApiCall, DockerProxy};
use codex_mcp_e2e::{Runtime, Setup};
use pretty_assertions::assert_eq;

/// `mcpd` on Docker reaching the engine through `proxy`, every model answer "pong".
async fn through(proxy: &DockerProxy) -> Option<Setup> {
    let env = [
        ("DOCKER_HOST", proxy.docker_host()),
        ("LOG_LEVEL", "debug".to_string()),
    ];
    let s = Setup::start(Runtime::Docker, "suggest", &env).await?;
    answer_pong(&s.model);
    Some(s)
}

/// The calls' names, the agent's container written `{container}`; prints when each was
/// sent and how long its answer took to begin (for the benchmark notes).
fn names(calls: &[ApiCall], container: &str) -> Vec<String> {
    let start = calls.first().map(|c| c.sent);
    calls
        .iter()
        .map(|c| {
            let at = start.map_or(0.0, |s| (c.sent - s).as_secs_f64() * 1e3);
            let took = c.answered.map(|a| (a - c.sent).as_secs_f64() * 1e3);
            eprintln!("{at:8.2} ms  {:<45} answer after {took:?} ms", c.call);
            c.call.replace(container, "{container}")
        })
        .collect()
}

/// What a warm `chat` turn asks of the engine: Codex (exec create, attached start, the
/// exit status once its output ended). No container inspect (the container is trusted
/// to run), no archive upload (the run carries the Codex home files in).
fn warm_turn() -> Vec<String> {
    [
        "POST /containers/{container}/exec",
        "POST /exec/{exec}/start",
        "GET /exec/{exec}/json",
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test]
async fn a_warm_docker_turn_makes_three_engine_calls() {
    let proxy = DockerProxy::start().unwrap();
    let Some(s) = through(&proxy).await else {
        return;
    };
    let container = s.scope().container("warm");
    // The first turn creates the container, the second installs nothing new.
    for _ in 0..2 {
        chat_call(&s.mcpd, "warm").await.unwrap();
    }
    proxy.take();
    for turn in 0..3 {
        chat_call(&s.mcpd, "warm").await.unwrap();
        eprintln!("warm turn {turn}:");
        let calls = proxy.take();
        // The exit status may take more than one look when the engine is slow.
        let mut seen = names(&calls, &container);
        seen.dedup();
        assert_eq!(seen, warm_turn(), "turn {turn}");
    }
    for line in s.mcpd.log().lines().filter(|l| l.contains("turn phases")) {
        eprintln!("{line}");
    }
}

/// The agent `dev` after one turn, its container then handled by `docker ARGS... NAME`
/// behind mcpd's back; the engine calls recorded from there on; its environment id
/// before.
async fn behind_the_back(
    proxy: &DockerProxy,
    args: &[&str],
) -> Option<(Setup, String, Option<String>)> {
    let s = through(proxy).await?;
    let container = s.scope().container("dev");
    chat_call(&s.mcpd, "dev").await.unwrap();
    let before = s.environment_id("dev");
    docker_ok(&[args, &[container.as_str()]].concat()).unwrap();
    proxy.take();
    Some((s, container, before))
}

/// One more turn of `dev`: back to the warm path.
async fn warm_again(s: &Setup, proxy: &DockerProxy, container: &str) {
    proxy.take();
    chat_call(&s.mcpd, "dev").await.unwrap();
    let mut seen = names(&proxy.take(), container);
    seen.dedup();
    assert_eq!(seen, warm_turn());
}

#[tokio::test]
async fn a_container_stopped_between_two_turns_is_started_again_by_the_next() {
    let proxy = DockerProxy::start().unwrap();
    let Some((s, container, before)) = behind_the_back(&proxy, &["stop", "-t", "1"]).await else {
        return;
    };
    chat_call(&s.mcpd, "dev").await.unwrap();
    let seen = names(&proxy.take(), &container);
    assert_eq!(
        seen.iter().filter(|c| c.ends_with("/start")).count(),
        2,
        "the container, then Codex, started: {seen:#?}"
    );
    assert_eq!(s.environment_id("dev"), before, "the same container");
    warm_again(&s, &proxy, &container).await;
}

#[tokio::test]
async fn a_container_removed_between_two_turns_is_recreated_by_the_next() {
    let proxy = DockerProxy::start().unwrap();
    let Some((s, container, before)) = behind_the_back(&proxy, &["rm", "-f"]).await else {
        return;
    };
    chat_call(&s.mcpd, "dev").await.unwrap();
    let seen = names(&proxy.take(), &container);
    assert!(
        seen.contains(&"POST /containers/create".to_string()),
        "created again: {seen:#?}"
    );
    assert_ne!(s.environment_id("dev"), before, "a new container");
    assert_eq!(s.scope().containers().len(), 1);
    warm_again(&s, &proxy, &container).await;
}
