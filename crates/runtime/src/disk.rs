//! Counting what an agent's folders take on disk, for both backends: the local one walks
//! the host folders itself ([`walk`]); the Docker one has `find` list the allocated blocks
//! of each entry inside the container and adds them up here ([`tally_blocks`]). Both stop
//! at [`DISK_FILE_CAP`](crate::DISK_FILE_CAP) entries, stay on each folder's file system
//! and never follow symbolic links; hard links count once per name, as `du -l` does.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::DiskUsage;

/// The allocated size of the entries under `roots` (the roots included), counted on the
/// calling thread: run it with `spawn_blocking`. Unreadable entries are skipped.
pub(crate) fn walk(roots: &[PathBuf]) -> DiskUsage {
    let mut usage = DiskUsage::start();
    for root in roots {
        let Ok(meta) = std::fs::symlink_metadata(root) else {
            continue;
        };
        let device = meta.dev();
        if !usage.add(meta.blocks() * 512) {
            return usage;
        }
        let mut folders = if meta.is_dir() {
            vec![root.clone()]
        } else {
            Vec::new()
        };
        while let Some(folder) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(meta) = entry.metadata() else {
                    continue;
                };
                if !usage.add(meta.blocks() * 512) {
                    return usage;
                }
                if meta.is_dir() && meta.dev() == device {
                    folders.push(entry.path());
                }
            }
        }
    }
    usage
}

/// The shell command that prints the allocated 512-byte blocks of every entry under
/// `roots` (the roots included), one number a line, at most one line past the cap (so a
/// cut-off walk shows): GNU `find`, which every Debian-based agent image has.
pub(crate) fn find_blocks_script(roots: &[&str]) -> String {
    let quoted: Vec<String> = roots.iter().map(|r| format!("'{r}'")).collect();
    format!(
        "find {} -xdev -printf '%b\\n' 2>/dev/null | head -n {}",
        quoted.join(" "),
        crate::DISK_FILE_CAP + 1
    )
}

/// Adds up what [`find_blocks_script`] printed. `None` when it printed no number at all
/// (no `find` with `-printf` in the image, or none of the folders exists).
pub(crate) fn tally_blocks(printed: &str) -> Option<DiskUsage> {
    let mut usage = DiskUsage::start();
    let mut any = false;
    for blocks in printed.lines().filter_map(|l| l.trim().parse::<u64>().ok()) {
        any = true;
        if !usage.add(blocks * 512) {
            break;
        }
    }
    any.then_some(usage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DISK_FILE_CAP;
    use pretty_assertions::assert_eq;

    #[test]
    fn find_output_is_added_up_and_cut_at_the_cap() {
        assert_eq!(
            tally_blocks("8\n0\n2048\n"),
            Some(DiskUsage {
                bytes: (8 + 2048) * 512,
                entries: 3,
                complete: true
            })
        );
        assert_eq!(tally_blocks(""), None);
        assert_eq!(tally_blocks("find: unknown predicate\n"), None);
        let many = "1\n".repeat(usize::try_from(DISK_FILE_CAP).unwrap() + 1);
        let cut = tally_blocks(&many).unwrap();
        assert_eq!(
            (cut.entries, cut.bytes, cut.complete),
            (DISK_FILE_CAP, DISK_FILE_CAP * 512, false)
        );
    }

    #[test]
    fn a_walk_counts_a_files_blocks_and_skips_missing_roots() {
        let dir = tempfile::tempdir().unwrap();
        let before = walk(&[dir.path().to_path_buf()]);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/file"), vec![7u8; 1 << 20]).unwrap();
        let after = walk(&[dir.path().to_path_buf(), dir.path().join("missing")]);
        assert_eq!(after.entries, before.entries + 2);
        assert!(after.complete);
        let grown = after.bytes - before.bytes;
        assert!(
            (1 << 20..(1 << 20) + 64 * 1024).contains(&grown),
            "a 1 MiB file added {grown} bytes"
        );
    }
}
