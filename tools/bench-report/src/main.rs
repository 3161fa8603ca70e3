//! `bench-report OUT_DIR DOC IMAGES_DIR`: gathers what the benchmarks wrote to `OUT_DIR`
//! (`NAME.md` tables, `NAME.json` figures; see `codex_mcp_e2e::bench`) into `DOC` between
//! the marker comments, and draws the SVG charts into `IMAGES_DIR`: throughput against N
//! with the raw floor, the latency distribution, RSS against open clients.
//! `scripts/bench-report.sh` runs every bench and then this.

mod charts;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::Value;

/// Where the generated part of the document begins and ends.
const START: &str = "<!-- bench-report:start -->";
const END: &str = "<!-- bench-report:end -->";

/// The sections, in order: file stem and heading.
const SECTIONS: [(&str, &str); 8] = [
    ("protocol", "Protocol throughput (`protocol_load`)"),
    (
        "chat_overhead",
        "Per-call overhead, local runtime (`chat_overhead`)",
    ),
    (
        "docker_overhead",
        "Per-call overhead, Docker runtime (`docker_overhead`)",
    ),
    ("concurrency", "N agents at once (`concurrency`)"),
    ("cold_start", "Cold start (`cold_start`)"),
    ("history", "A long history (`history`)"),
    ("memory", "Memory (`memory`)"),
    (
        "kubernetes",
        "Kubernetes runtime against Docker (`kubernetes`)",
    ),
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, doc, images] = args.as_slice() else {
        anyhow::bail!("usage: bench-report OUT_DIR DOC IMAGES_DIR");
    };
    let (out, doc, images) = (Path::new(out), Path::new(doc), PathBuf::from(images));
    std::fs::create_dir_all(&images)?;
    let image_link = relative_images(doc, &images);

    let current = std::fs::read_to_string(doc).with_context(|| format!("{}", doc.display()))?;
    let mut md = String::new();
    if let Ok(header) = std::fs::read_to_string(out.join("header.md")) {
        md.push_str(header.trim_end());
        md.push_str("\n\n");
    }
    for (stem, heading) in SECTIONS {
        md.push_str(&format!("### {heading}\n\n"));
        let table = match std::fs::read_to_string(out.join(format!("{stem}.md"))) {
            Ok(table) => table,
            // Left out of this run (or run on another machine): the section the document
            // already holds stays, charts included.
            Err(_) => match existing_section(&current, heading) {
                Some(kept) => {
                    md.push_str(kept.trim_end());
                    md.push_str("\n\n");
                    continue;
                }
                None => "Not run for this report (failed or left out; see its log in target/bench-report).".into(),
            },
        };
        md.push_str(table.trim_end());
        md.push_str("\n\n");
        let figures = read_json(&out.join(format!("{stem}.json")))?;
        let drawn = match (stem, &figures) {
            ("concurrency", Some(f)) => vec![
                charts::throughput(f, &images.join("bench-concurrency-throughput.svg"))?,
                charts::latency(f, &images.join("bench-concurrency-latency.svg"))?,
            ],
            ("memory", Some(f)) => vec![charts::rss(f, &images.join("bench-memory-rss.svg"))?],
            _ => Vec::new(),
        };
        for (file, title) in drawn.into_iter().flatten() {
            md.push_str(&format!("![{title}]({image_link}/{file})\n\n"));
        }
    }
    splice(doc, md.trim_end())
}

/// What the generated block of `doc` holds under `### heading`, up to the next heading or
/// the end of the block; `None` when it holds no such section.
fn existing_section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let block = &doc[doc.find(START)?..doc.find(END)?];
    let title = format!("### {heading}\n");
    let body = &block[block.find(&title)? + title.len()..];
    Some(
        body.find("\n### ")
            .map_or(body, |end| &body[..end])
            .trim_start_matches('\n'),
    )
}

/// The figures a bench wrote, `None` when it wrote none.
fn read_json(path: &Path) -> anyhow::Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("{}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("{}", path.display())),
    }
}

/// How `doc` links to `images`: `images` relative to `doc`'s folder when it lies inside
/// it, else its full path.
fn relative_images(doc: &Path, images: &Path) -> String {
    let base = doc.parent().unwrap_or(Path::new(""));
    images
        .strip_prefix(base)
        .unwrap_or(images)
        .display()
        .to_string()
}

/// Replaces what lies between the markers in `doc` with `body` (the markers are added at
/// the end when missing).
fn splice(doc: &Path, body: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(doc).with_context(|| format!("{}", doc.display()))?;
    let block = format!("{START}\n{body}\n{END}");
    let new = match (text.find(START), text.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &text[..a], &text[b + END.len()..]),
        _ => format!("{}\n\n{block}\n", text.trim_end()),
    };
    std::fs::write(doc, new).with_context(|| format!("{}", doc.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_marked_block_and_adds_it_when_missing() {
        let dir = std::env::temp_dir().join(format!("bench-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let doc = dir.join("b.md");
        std::fs::write(&doc, "# B\n\ntext\n").unwrap();
        splice(&doc, "one").unwrap();
        assert_eq!(
            std::fs::read_to_string(&doc).unwrap(),
            format!("# B\n\ntext\n\n{START}\none\n{END}\n")
        );
        splice(&doc, "two").unwrap();
        assert_eq!(
            std::fs::read_to_string(&doc).unwrap(),
            format!("# B\n\ntext\n\n{START}\ntwo\n{END}\n")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_section_left_out_of_a_run_is_read_back_from_the_document() {
        let doc = format!(
            "# B\n{START}\nheader\n\n### One (`one`)\n\n| a |\n\n![c](images/c.svg)\n\n### Two (`two`)\n\nsecond\n{END}\n### Three\nafter\n"
        );
        assert_eq!(
            existing_section(&doc, "One (`one`)"),
            Some("| a |\n\n![c](images/c.svg)\n")
        );
        assert_eq!(existing_section(&doc, "Two (`two`)"), Some("second\n"));
        assert_eq!(existing_section(&doc, "Three"), None, "outside the block");
        assert_eq!(existing_section("no markers", "One (`one`)"), None);
    }

    #[test]
    fn images_are_linked_relative_to_the_document() {
        assert_eq!(
            relative_images(Path::new("docs/benchmarks.md"), Path::new("docs/images")),
            "images"
        );
    }
}
