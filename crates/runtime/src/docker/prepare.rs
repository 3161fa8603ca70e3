//! Making any image fit for an agent: mcpd prepares what the image does not.
//!
//! Before an agent's container is created, a short-lived step runs in mcpd's own agent
//! image (the helper image, `codex-mcp-agent:latest`): as root, but with only
//! `CAP_CHOWN`, `CAP_FOWNER` and `CAP_DAC_OVERRIDE`, no network, a read-only root and
//! `no-new-privileges`, it
//! - gives the agent's volumes to the agent user (1000:1000), including anything an
//!   earlier image left owned by someone else (the repair of root-owned volumes), and
//! - fills, once per helper image, a volume with the helper's pinned Codex (`/opt/codex`),
//!   which every agent container mounts read-only at [`CODEX_DIST`] and finds last on its
//!   `PATH`: an image with its own `codex` keeps it, an image without one gets mcpd's.
//!
//! The target image therefore needs only `sh`, `bash`, `git` and `sleep`; no agent user,
//! no prepared folders. Without the helper image the step runs in the agent's own image
//! (it then needs `chown` and `find`) and no Codex is supplied.
//!
//! The step is skipped (one container lifecycle less for a new agent: about a second,
//! several under load) when it has nothing to do: the agent's volumes were all created
//! just now, the agent's image is the helper image itself, and this server has already
//! seen the pinned Codex volume filled. New empty volumes take their first contents,
//! owner and mode from the image's folders at the mount points when the agent container
//! is created, and mcpd's image has them as 1000:1000 (`/workspace` 0755,
//! `/home/agent/.codex` and `/scratch` 0700): exactly what the step would set.

use std::collections::HashMap;

use bollard::models::{Mount, VolumeCreateRequest};

use super::labels::{self, AGENT_USER, VOLUMES};
use super::{DockerRuntime, layout, oneoff, status_of};
use crate::{AgentId, RuntimeError};

/// Where agent containers see the pinned Codex volume (read-only); Codex itself is
/// `/opt/codex-mcp/codex/bin/codex`.
pub const CODEX_DIST: &str = "/opt/codex-mcp";

/// `PATH` for images that set none (Debian's default).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The part of the preparation both container runtimes share: gives every folder mounted
/// under `/v` to the agent user (only what is not already its, so a second run is cheap)
/// and closes all but the workspace to others. A macro so that it can be `concat!`ed.
macro_rules! own_volumes {
    () => {
        r#"set -eu
for d in /v/*; do
  [ -d "$d" ] || continue
  chown 1000:1000 "$d"
  find "$d" -xdev -mindepth 1 ! -uid 1000 -exec chown -h 1000:1000 {} +
  case "$d" in */workspace) chmod 0755 "$d" ;; *) chmod 0700 "$d" ;; esac
done"#
    };
}
pub(crate) use own_volumes;

/// Runs as root with three capabilities: owns the agent's volumes to 1000:1000 (only
/// what is not already the agent's, so a second run is cheap), closes the Codex home
/// and scratch to others, and copies the pinned Codex into `/dist` once (atomically, so
/// concurrent steps never leave half a copy).
const SCRIPT: &str = concat!(
    own_volumes!(),
    r#"
if [ -d /dist ] && [ ! -x /dist/codex/bin/codex ]; then
  [ -x /opt/codex/bin/codex ] || { echo "the helper image has no /opt/codex/bin/codex" >&2; exit 3; }
  t="/dist/.partial-$(cat /proc/sys/kernel/random/uuid)"
  cp -a /opt/codex "$t"
  mv -T "$t" /dist/codex 2>/dev/null || rm -rf "$t"
fi
echo prepared"#
);

/// What the agent container needs from the preparation.
pub(super) struct Prepared {
    /// The pinned Codex volume to mount at [`CODEX_DIST`], when the helper image exists.
    pub codex_volume: Option<String>,
    /// The container's `PATH`: the image's own, then the pinned Codex.
    pub path: String,
    /// The run helper's path in the container, when the helper image has one.
    pub run_helper: Option<String>,
}

/// Prepares `agent`'s volumes for `image` (see the module documentation);
/// `new_volumes` says they were all created just now.
pub(super) async fn prepare(
    rt: &DockerRuntime,
    agent: &AgentId,
    image: &str,
    with_workspace: bool,
    new_volumes: bool,
) -> Result<Prepared, RuntimeError> {
    let (image_path, image_id) = image_path(rt, image).await?;
    let (helper_id, run_helper) = match rt.docker.inspect_image(&rt.cfg.helper_image).await {
        Ok(i) => {
            let labels = i.config.and_then(|c| c.labels);
            let path = labels
                .as_ref()
                .and_then(|l| l.get(labels::LABEL_RUN_HELPER));
            (i.id, path.and_then(|p| run_helper_in_agents(p)))
        }
        Err(e) if status_of(&e) == Some(404) => (None, None),
        Err(e) => return Err(rt.map_err("inspect image", e)),
    };
    let codex_volume = match &helper_id {
        Some(id) => Some(codex_volume(rt, id).await?),
        None => {
            tracing::warn!(helper = %rt.cfg.helper_image, %image, "helper image missing: volumes prepared by the agent's image, no pinned Codex supplied");
            None
        }
    };
    let path = match codex_volume {
        Some(_) => format!("{image_path}:{CODEX_DIST}/codex/bin"),
        None => image_path,
    };
    // The helper comes with the pinned Codex volume, or not at all.
    let run_helper = run_helper.filter(|_| codex_volume.is_some() && rt.cfg.run_helper);
    let own_image = helper_id.is_some() && image_id == helper_id;
    if new_volumes
        && own_image
        && let Some(v) = &codex_volume
        && rt.codex_filled.lock().await.contains(v)
    {
        tracing::debug!(%agent, %image, "new volumes take their owner from mcpd's agent image: no preparation step");
        return Ok(Prepared {
            codex_volume,
            path,
            run_helper,
        });
    }
    let mut mounts: Vec<Mount> = VOLUMES
        .iter()
        .filter(|(kind, _)| with_workspace || *kind != "workspace")
        .map(|(kind, _)| {
            layout::volume_mount(
                labels::volume_name(&rt.cfg, agent, kind),
                &format!("/v/{kind}"),
                false,
            )
        })
        .collect();
    if let Some(v) = &codex_volume {
        mounts.push(layout::volume_mount(v.clone(), "/dist", false));
    }
    let step_image = if helper_id.is_some() {
        rt.cfg.helper_image.as_str()
    } else {
        image
    };
    let mut body = oneoff::body(
        step_image,
        "0:0",
        vec!["sh".into(), "-c".into(), SCRIPT.into()],
    );
    body.labels = Some(helper_labels(rt));
    if let Some(hc) = body.host_config.as_mut() {
        hc.mounts = Some(mounts);
        hc.cap_add = Some(vec!["CHOWN".into(), "FOWNER".into(), "DAC_OVERRIDE".into()]);
    }
    let (code, output) = oneoff::run_once(rt, body).await?;
    if code != 0 {
        return Err(RuntimeError::Docker {
            op: "prepare the agent's volumes",
            status: None,
            message: format!(
                "the preparation step in {step_image} exited with {code}: {output}. Build mcpd's agent image (scripts/build-agent-image.sh) so it can run there"
            ),
        });
    }
    if let Some(v) = &codex_volume {
        rt.codex_filled.lock().await.insert(v.clone());
    }
    Ok(Prepared {
        codex_volume,
        path,
        run_helper,
    })
}

/// Where agent containers find the run helper the helper image holds at `/opt/codex/<rel>`
/// (its [`labels::LABEL_RUN_HELPER`]); `None`, and the shell scripts, for a label that is
/// not a plain relative path.
fn run_helper_in_agents(rel: &str) -> Option<String> {
    let plain = !rel.is_empty()
        && rel.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    if !plain {
        tracing::warn!(
            label = labels::LABEL_RUN_HELPER,
            value = rel,
            "the helper image names its run helper oddly: turns run under the shell scripts"
        );
        return None;
    }
    Some(format!("{CODEX_DIST}/codex/{rel}"))
}

/// The `PATH` `image` sets (or Debian's default when it sets none), and its id.
async fn image_path(
    rt: &DockerRuntime,
    image: &str,
) -> Result<(String, Option<String>), RuntimeError> {
    let found = match rt.docker.inspect_image(image).await {
        Ok(i) => i,
        Err(e) if status_of(&e) == Some(404) => {
            return Err(RuntimeError::ImageMissing {
                image: image.to_string(),
            });
        }
        Err(e) => return Err(rt.map_err("inspect image", e)),
    };
    let path = found
        .config
        .and_then(|c| c.env)
        .into_iter()
        .flatten()
        .find_map(|e| e.strip_prefix("PATH=").map(str::to_string));
    Ok((path.unwrap_or_else(|| DEFAULT_PATH.to_string()), found.id))
}

/// The pinned Codex volume of the helper image `helper_id` (created when missing; one
/// per helper image, so a rebuilt helper brings its Codex to containers created later).
async fn codex_volume(rt: &DockerRuntime, helper_id: &str) -> Result<String, RuntimeError> {
    let short: String = helper_id
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect();
    let name = format!("{}pinned-codex-{short}", rt.cfg.name_prefix);
    let mut l = helper_labels(rt);
    l.insert(labels::LABEL_VOLUME.into(), "codex".into());
    let req = VolumeCreateRequest {
        name: Some(name.clone()),
        labels: Some(l),
        ..Default::default()
    };
    match rt.docker.inspect_volume(&name).await {
        Ok(_) => {}
        Err(e) if status_of(&e) == Some(404) => {
            // A new (or removed and recreated) volume is empty until a step fills it.
            rt.codex_filled.lock().await.remove(&name);
            // Creating a volume another server created meanwhile is a no-op.
            rt.docker
                .create_volume(req)
                .await
                .map_err(rt.err("create volume"))?;
        }
        Err(e) => return Err(rt.map_err("inspect volume", e)),
    }
    Ok(name)
}

/// Labels of the preparation step and the Codex volume: ours, but no agent's.
fn helper_labels(rt: &DockerRuntime) -> HashMap<String, String> {
    let mut l: HashMap<String, String> = rt.cfg.extra_labels.clone().into_iter().collect();
    l.insert(labels::LABEL_MANAGED.into(), "true".into());
    l
}

/// What an image offers an agent, from a one-off container of it (`mcpd doctor`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImageReport {
    /// The image checked.
    pub image: String,
    /// Required programs it lacks (`sh`, `bash`, `git`, `sleep`).
    pub missing: Vec<String>,
    /// `codex --version` of its own Codex, if it has one on its `PATH`.
    pub codex: Option<String>,
    /// Whether its `/etc/passwd` names uid 1000 (not required: agents run as 1000:1000
    /// with `HOME` set either way; tools that look the user up print a warning).
    pub agent_user: bool,
}

impl ImageReport {
    /// Whether agents can run in the image (mcpd supplies Codex and the folders).
    pub fn usable(&self) -> bool {
        self.missing.is_empty()
    }

    /// One line for people: what the image has, lacks, and how to fix it.
    pub fn summary(&self) -> String {
        let codex = self.codex.as_deref().map_or_else(
            || "no Codex of its own (mcpd mounts its pinned Codex)".to_string(),
            |v| format!("its own Codex ({v})"),
        );
        let user = if self.agent_user {
            "a user 1000"
        } else {
            "no user 1000 (agents run as uid 1000 with HOME=/home/agent anyway)"
        };
        if self.missing.is_empty() {
            format!("{}: sh, bash, git, sleep; {codex}; {user}", self.image)
        } else {
            format!(
                "{} lacks {}: install them in the image (e.g. `RUN apt-get install -y bash git coreutils`) or pick another with CODEX_MCP_AGENT_IMAGE / CODEX_MCP_AGENT_IMAGES",
                self.image,
                self.missing.join(", ")
            )
        }
    }
}

/// Asks, as the agent user, which of the programs agents need the image has.
const CHECK: &str = r#"for t in sh bash git sleep; do command -v "$t" >/dev/null 2>&1 || echo "lack $t"; done
if command -v codex >/dev/null 2>&1; then echo "codex $(codex --version 2>/dev/null | head -n 1)"; fi
grep -q '^[^:]*:[^:]*:1000:' /etc/passwd 2>/dev/null && echo "user" || true"#;

pub(super) async fn check_requirements(
    rt: &DockerRuntime,
    image: &str,
) -> Result<ImageReport, RuntimeError> {
    rt.check_image(image).await?;
    let mut body = oneoff::body(
        image,
        AGENT_USER,
        vec!["sh".into(), "-c".into(), CHECK.into()],
    );
    body.labels = Some(helper_labels(rt));
    let (code, output) = oneoff::run_once(rt, body).await?;
    Ok(parse_report(image, code, &output))
}

fn parse_report(image: &str, code: i64, output: &str) -> ImageReport {
    let mut report = ImageReport {
        image: image.to_string(),
        ..Default::default()
    };
    if code != 0 {
        // Not even `sh` ran.
        report.missing = vec!["sh".into()];
        return report;
    }
    for line in output.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix("lack ") {
            report.missing.push(t.to_string());
        } else if let Some(v) = line.strip_prefix("codex ") {
            report.codex = Some(v.trim().to_string()).filter(|v| !v.is_empty());
        } else if line == "user" {
            report.agent_user = true;
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_relative_run_helper_label_is_followed() {
        let got: Vec<Option<String>> = [
            "bin/codex-mcp-run",
            "codex-mcp-run",
            "",
            "/bin/sh",
            "../../bin/sh",
            "bin/./x",
            "bin//x",
            "bin/x y",
            "bin/x;rm",
        ]
        .into_iter()
        .map(run_helper_in_agents)
        .collect();
        let mut want = vec![
            Some("/opt/codex-mcp/codex/bin/codex-mcp-run".to_string()),
            Some("/opt/codex-mcp/codex/codex-mcp-run".to_string()),
        ];
        want.resize(9, None);
        pretty_assertions::assert_eq!(got, want);
    }

    #[test]
    fn a_plain_image_lacks_codex_and_user_but_is_usable() {
        let r = parse_report("plain:1", 0, "");
        assert_eq!(
            r,
            ImageReport {
                image: "plain:1".into(),
                ..Default::default()
            }
        );
        assert!(r.usable());
        assert!(r.summary().contains("mcpd mounts its pinned Codex"));
    }

    #[test]
    fn missing_programs_are_named_with_the_fix() {
        let r = parse_report(
            "tiny:1",
            0,
            "lack bash\nlack git\ncodex codex-cli 0.169.0\nuser\n",
        );
        assert_eq!(r.missing, vec!["bash".to_string(), "git".to_string()]);
        assert_eq!(r.codex.as_deref(), Some("codex-cli 0.169.0"));
        assert!(r.agent_user);
        assert!(!r.usable());
        let s = r.summary();
        assert!(
            s.contains("lacks bash, git") && s.contains("CODEX_MCP_AGENT_IMAGES"),
            "{s}"
        );
        // An image without sh at all.
        assert_eq!(
            parse_report("x", 127, "exec: sh: not found").missing,
            vec!["sh"]
        );
    }
}
