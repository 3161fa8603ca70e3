//! Parsing of the resource and workspace settings, shared by both backends.

use std::path::PathBuf;

use crate::RuntimeError;

/// Parses `CONTAINER_MEMORY_LIMIT`-style sizes: a whole number of bytes with an optional
/// `b`, `k`, `m` or `g` suffix (powers of 1024, case-insensitive; `2048m`, `2g`, `2gb`,
/// `512k`), at least the 6 MiB Docker needs.
///
/// Docker's own CLI accepts the same shapes, so values copied from `docker run -m` work.
pub fn parse_memory_limit(name: &str, value: &str) -> Result<u64, RuntimeError> {
    let bytes = parse_size(name, value)?;
    // Docker refuses limits under 6 MiB; say so here rather than at container creation.
    if bytes < 6 << 20 {
        return Err(RuntimeError::InvalidSetting {
            name: name.to_string(),
            value: value.to_string(),
            reason: "Docker needs at least 6m of memory per container".to_string(),
        });
    }
    Ok(bytes)
}

/// Parses a size in bytes written as [`parse_memory_limit`] reads it, without the
/// container minimum (the one size parser of every setting holding a size).
pub fn parse_size(name: &str, value: &str) -> Result<u64, RuntimeError> {
    let bad = |reason: &str| RuntimeError::InvalidSetting {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let v = value.trim().to_ascii_lowercase();
    let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => v.split_at(i),
        None => (v.as_str(), ""),
    };
    let mult: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(bad(
                "use a number with an optional k, m or g suffix, e.g. 2048m",
            ));
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| bad("use a number with an optional k, m or g suffix, e.g. 2048m"))?;
    let bytes = n
        .checked_mul(mult)
        .ok_or_else(|| bad("the size is too large"))?;
    Ok(bytes)
}

/// Parses `CONTAINER_CPU_LIMIT`: a positive decimal number of CPUs (`4.0`, `0.5`),
/// returned as Docker's `NanoCpus`.
pub fn parse_cpu_limit(name: &str, value: &str) -> Result<i64, RuntimeError> {
    let bad = || RuntimeError::InvalidSetting {
        name: name.to_string(),
        value: value.to_string(),
        reason: "use a positive number of CPUs, e.g. 4.0 or 0.5".to_string(),
    };
    let cpus: f64 = value.trim().parse().map_err(|_| bad())?;
    if !cpus.is_finite() || !(0.01..=1024.0).contains(&cpus) {
        return Err(bad());
    }
    // Bounded above, so the cast cannot overflow.
    Ok((cpus * 1e9).round() as i64)
}

/// Parses `CODEX_MCP_WORKSPACE_ROOTS`: host folders separated by `:` or `,`, each absolute.
/// Empty entries are skipped; an empty value means no host folder may be mounted.
pub fn parse_workspace_roots(name: &str, value: &str) -> Result<Vec<PathBuf>, RuntimeError> {
    value
        .split([':', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let p = PathBuf::from(s);
            if p.is_absolute() {
                Ok(p)
            } else {
                Err(RuntimeError::InvalidSetting {
                    name: name.to_string(),
                    value: value.to_string(),
                    reason: format!("{s} is not an absolute path"),
                })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        let m = |v| parse_memory_limit("M", v).ok();
        assert_eq!(m("2048m"), Some(2048 << 20));
        assert_eq!(m("2g"), Some(2 << 30));
        assert_eq!(m("2G"), Some(2 << 30));
        assert_eq!(m("8192k"), Some(8 << 20));
        assert_eq!(m("10485760"), Some(10 << 20));
        assert_eq!(m(" 64mb "), Some(64 << 20));
        for bad in ["", "m", "12x", "-1g", "1.5g", "1m", "99999999999999999999g"] {
            let e = parse_memory_limit("CONTAINER_MEMORY_LIMIT", bad).err();
            assert!(
                matches!(e, Some(RuntimeError::InvalidSetting { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn cpu_limits() {
        assert_eq!(parse_cpu_limit("C", "4.0").ok(), Some(4_000_000_000));
        assert_eq!(parse_cpu_limit("C", "0.5").ok(), Some(500_000_000));
        assert_eq!(parse_cpu_limit("C", "2").ok(), Some(2_000_000_000));
        for bad in ["", "0", "-1", "abc", "NaN", "inf"] {
            assert!(parse_cpu_limit("C", bad).is_err(), "{bad}");
        }
        let msg = parse_cpu_limit("CONTAINER_CPU_LIMIT", "x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("CONTAINER_CPU_LIMIT"), "{msg}");
    }

    #[test]
    fn workspace_roots() {
        let r = parse_workspace_roots("R", "/a:/b, /c,,").ok();
        assert_eq!(
            r,
            Some(vec![
                PathBuf::from("/a"),
                PathBuf::from("/b"),
                PathBuf::from("/c")
            ])
        );
        assert!(parse_workspace_roots("R", "rel/x").is_err());
        assert_eq!(parse_workspace_roots("R", "").ok(), Some(vec![]));
    }
}
