//! No module circle in `crates/core` or `crates/tools` (issue 11), checked by reading their
//! `use` lines and code paths; plus the cycle finder on small synthetic crates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pretty_assertions::assert_eq;

use super::cycles::find_cycles;
use super::module_graph::ModuleGraph;

fn crate_src(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src")
}

fn cycles_of(sources: &[(&str, &str)]) -> Vec<Vec<String>> {
    ModuleGraph::from_sources(sources.iter().copied()).cycles()
}

fn edges(list: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in list {
        map.entry((*a).to_owned())
            .or_default()
            .insert((*b).to_owned());
    }
    map
}

fn strings(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| c.iter().map(|s| (*s).to_owned()).collect())
        .collect()
}

#[test]
fn core_and_tools_have_no_module_circle() {
    let mut found = Vec::new();
    for krate in ["core", "tools"] {
        let graph = ModuleGraph::from_dir(&crate_src(krate)).unwrap();
        for cycle in graph.cycles() {
            found.push(format!("crates/{krate}: {}", cycle.join(" -> ")));
        }
    }
    assert!(
        found.is_empty(),
        "module circles (break each by moving the shared item down):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_real_crates_are_read() {
    // Guards the test above against passing because nothing was parsed.
    let graph = ModuleGraph::from_dir(&crate_src("core")).unwrap();
    assert!(graph.edge_count() > 20, "{} edges", graph.edge_count());
}

#[test]
fn finder_names_each_circle_once_as_a_shortest_round_trip() {
    let graph = edges(&[
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "d"),
        ("d", "e"),
        ("e", "d"),
        ("x", "a"),
    ]);
    assert_eq!(
        find_cycles(&graph),
        strings(&[&["a", "b", "c", "a"], &["d", "e", "d"]])
    );
}

#[test]
fn finder_shows_every_module_of_a_knot() {
    let graph = edges(&[("a", "b"), ("b", "a"), ("b", "c"), ("c", "b")]);
    assert_eq!(
        find_cycles(&graph),
        strings(&[&["a", "b", "a"], &["c", "b", "c"]])
    );
}

#[test]
fn children_circling_with_a_top_level_module_are_named_at_the_top() {
    let sources = [
        ("lib.rs", "mod catalogue;\nmod tools;\n"),
        ("catalogue.rs", "use crate::tools::{self, Severity};\n"),
        ("tools/mod.rs", "pub mod chat;\npub enum Severity {}\n"),
        ("tools/chat.rs", "use crate::catalogue::Definition;\n"),
    ];
    assert_eq!(
        cycles_of(&sources),
        strings(&[&["catalogue", "tools", "catalogue"]])
    );
}

#[test]
fn finder_finds_nothing_in_a_dag() {
    let graph = edges(&[("a", "b"), ("a", "c"), ("b", "c"), ("c", "d")]);
    assert_eq!(find_cycles(&graph), Vec::<Vec<String>>::new());
}

#[test]
fn use_lines_and_code_paths_make_edges_between_siblings() {
    let sources = [
        ("lib.rs", "pub mod server;\npub mod session;\n"),
        ("server/mod.rs", "pub mod context;\n"),
        (
            "server/context.rs",
            "use crate::session::{Session, other::Thing};\n",
        ),
        (
            "session.rs",
            "fn f() { let _ = crate::server::context::make(); }\n",
        ),
    ];
    assert_eq!(
        cycles_of(&sources),
        strings(&[
            &["server::context", "session", "server::context"],
            &["server", "session", "server"],
        ])
    );
}

#[test]
fn re_exports_are_followed_to_the_defining_module() {
    let sources = [
        ("lib.rs", "pub mod server;\npub mod session;\n"),
        (
            "server/mod.rs",
            "pub mod context;\npub use context::{Ctx, Kind as TransportKind};\n",
        ),
        ("server/context.rs", "use crate::session::Session;\n"),
        ("session.rs", "use crate::server::TransportKind;\n"),
    ];
    assert_eq!(
        cycles_of(&sources),
        strings(&[
            &["server::context", "session", "server::context"],
            &["server", "session", "server"],
        ])
    );
}

#[test]
fn super_paths_between_siblings_count_and_parents_do_not() {
    let sources = [
        ("lib.rs", "mod http;\n"),
        (
            "http/mod.rs",
            "mod a;\nmod b;\nuse a::A;\nuse b::B;\npub struct State;\n",
        ),
        ("http/a.rs", "use super::State;\nuse super::b::helper;\n"),
        (
            "http/b.rs",
            "use super::{State, a};\nfn g() { super::a::run(); }\n",
        ),
    ];
    assert_eq!(
        cycles_of(&sources),
        strings(&[&["http::a", "http::b", "http::a"]])
    );
}

#[test]
fn comments_strings_and_test_modules_are_ignored() {
    let sources = [
        ("lib.rs", "mod a;\nmod b;\n"),
        (
            "a.rs",
            "use crate::b::X; // crate::b\nconst S: &str = \"use crate::a::Y;\";\n",
        ),
        (
            "b.rs",
            "/* use crate::a::Z; */\n// crate::a::W\n#[cfg(test)]\nmod tests {\n    use crate::a::V;\n}\n",
        ),
    ];
    assert_eq!(cycles_of(&sources), Vec::<Vec<String>>::new());
}
