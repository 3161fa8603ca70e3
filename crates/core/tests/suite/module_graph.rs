//! A module graph read from a crate's source files, and the cycle finder the
//! module-circle test uses (issue 11: no module circle in `crates/core` or `crates/tools`).
//!
//! Nodes are file modules (`server::context` for `src/server/context.rs`). An edge
//! `a -> b` means `a` names an item of `b` through `crate::`, `super::`, `self::` or a
//! child module (in `use` lines and in code paths); a name `b` re-exports (`pub use`) is
//! followed to the module defining it. Edges between a module and its own ancestor are left
//! out (a parent re-exporting or building on its children is the normal Rust layout), and
//! so is code under `#[cfg(test)]`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::cycles::find_cycles;

/// Module path segments (`["server", "context"]`); the crate root is empty.
type ModPath = Vec<String>;

/// What one source file says: the paths it names and the names it re-exports.
#[derive(Default)]
struct FileFacts {
    /// Every absolute path named in the file (use trees expanded).
    paths: Vec<ModPath>,
    /// Re-exported name -> the absolute path it comes from.
    reexports: BTreeMap<String, ModPath>,
}

/// The modules of one crate and the dependencies between them.
pub struct ModuleGraph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl ModuleGraph {
    /// Reads every `.rs` file under `src` (a crate's `src/` folder).
    pub fn from_dir(src: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        collect(src, src, &mut files)?;
        Ok(Self::from_sources(
            files.iter().map(|(p, t)| (p.as_str(), t.as_str())),
        ))
    }

    /// Builds the graph from `(path relative to src/, source text)` pairs.
    pub fn from_sources<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let sources: Vec<(ModPath, String)> = sources
            .into_iter()
            .filter_map(|(path, text)| Some((module_of(path)?, strip_test_code(&strip(text)))))
            .collect();
        let modules: BTreeSet<ModPath> = sources.iter().map(|(m, _)| m.clone()).collect();
        let facts: BTreeMap<ModPath, FileFacts> = sources
            .iter()
            .map(|(m, text)| (m.clone(), facts_of(m, text, &modules)))
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, f) in &facts {
            for path in &f.paths {
                let Some(to) = resolve(path, &modules, &facts, 0) else {
                    continue;
                };
                if to.starts_with(from) || from.starts_with(&to) {
                    continue;
                }
                edges.entry(name(from)).or_default().insert(name(&to));
            }
        }
        Self { edges }
    }

    /// How many module-to-module dependencies were found (a guard against parsing nothing).
    pub fn edge_count(&self) -> usize {
        self.edges.values().map(BTreeSet::len).sum()
    }

    /// Every circle, each as its modules in order with the first repeated at the end: first
    /// between file modules, then between top-level modules (`tools::chat -> catalogue`
    /// and `catalogue -> tools` make `tools -> catalogue -> tools`).
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &self.edges {
            for to in tos {
                let (a, b) = (top_level(from), top_level(to));
                if a != b {
                    top.entry(a.to_owned()).or_default().insert(b.to_owned());
                }
            }
        }
        let mut cycles = find_cycles(&self.edges);
        for cycle in find_cycles(&top) {
            if !cycles.contains(&cycle) {
                cycles.push(cycle);
            }
        }
        cycles
    }
}

fn top_level(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".to_owned()
    } else {
        m.join("::")
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push((
                rel.to_string_lossy().into_owned(),
                std::fs::read_to_string(&path)?,
            ));
        }
    }
    Ok(())
}

/// `server/context.rs` -> `server::context`; `lib.rs` -> root; `a/mod.rs` -> `a`.
fn module_of(rel: &str) -> Option<ModPath> {
    let rel = rel.strip_suffix(".rs")?;
    let mut parts: ModPath = rel.split('/').map(str::to_owned).collect();
    match parts.last().map(String::as_str) {
        Some("mod") => {
            parts.pop();
        }
        Some("lib" | "main") if parts.len() == 1 => parts.clear(),
        _ => {}
    }
    Some(parts)
}

/// The source without comments and string/char literals (kept as `""`).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && matches!(next, Some('#' | '"')) && !ident_before(&b, i) {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < b.len() && b[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Drops every item carrying `#[cfg(test)]` (a `mod tests { .. }` or a `mod tests;`).
fn strip_test_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let brace = after.find('{');
        let semi = after.find(';');
        let end = match (brace, semi) {
            (Some(b), Some(s)) if s < b => s + 1,
            (Some(b), _) => matching_close(after, b).map_or(after.len(), |e| e + 1),
            (None, Some(s)) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn matching_close(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn facts_of(module: &ModPath, text: &str, modules: &BTreeSet<ModPath>) -> FileFacts {
    let mut facts = FileFacts::default();
    // `use` statements: expanded trees, plus re-exports when public.
    let mut code = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_use(rest) {
        code.push_str(&rest[..at.start]);
        let stmt_end = rest[at.body..]
            .find(';')
            .map_or(rest.len(), |e| at.body + e);
        let tree = &rest[at.body..stmt_end];
        for (path, alias) in expand_tree(tree) {
            let Some(abs) = absolute(module, &path, modules) else {
                continue;
            };
            if at.public && !alias.is_empty() && alias != "*" {
                facts.reexports.insert(alias, abs.clone());
            }
            facts.paths.push(abs);
        }
        rest = &rest[(stmt_end + 1).min(rest.len())..];
    }
    code.push_str(rest);
    // Paths in code: `crate::a::b`, `super::x`, `self::y`.
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphabetic() && !ident_before(&chars, i) {
            let start = i;
            let mut segs = Vec::new();
            loop {
                let s = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                segs.push(chars[s..i].iter().collect::<String>());
                if chars.get(i) == Some(&':')
                    && chars.get(i + 1) == Some(&':')
                    && chars
                        .get(i + 2)
                        .is_some_and(|c| c.is_alphabetic() || *c == '_')
                {
                    i += 2;
                } else {
                    break;
                }
            }
            if segs.len() > 1
                && matches!(segs[0].as_str(), "crate" | "super" | "self")
                && let Some(abs) = absolute(module, &segs, modules)
            {
                facts.paths.push(abs);
            }
            if i == start {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    facts
}

struct UseAt {
    start: usize,
    body: usize,
    public: bool,
}

/// The next `use` statement: where it starts, where its tree starts, whether it is `pub`.
fn find_use(text: &str) -> Option<UseAt> {
    let mut from = 0;
    while let Some(rel) = text[from..].find("use ") {
        let at = from + rel;
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        let prefix = text[line_start..at].trim();
        if prefix.is_empty() || prefix == "pub" || prefix.starts_with("pub(") {
            return Some(UseAt {
                start: line_start,
                body: at + 4,
                public: !prefix.is_empty(),
            });
        }
        from = at + 4;
    }
    None
}

/// `a::{b, c::d as e}` -> `[([a, b], "b"), ([a, c, d], "e")]`.
fn expand_tree(tree: &str) -> Vec<(ModPath, String)> {
    let tree: String = tree
        .chars()
        .filter(|c| !c.is_whitespace() || *c == ' ')
        .collect();
    let mut out = Vec::new();
    expand_into(&[], tree.trim(), &mut out);
    out
}

fn expand_into(prefix: &[String], tree: &str, out: &mut Vec<(ModPath, String)>) {
    if let Some(open) = tree.find('{') {
        let head: ModPath = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let close = tree.rfind('}').unwrap_or(tree.len());
        let mut base = prefix.to_vec();
        base.extend(head);
        for part in split_top(&tree[open + 1..close]) {
            expand_into(&base, part.trim(), out);
        }
        return;
    }
    if tree.is_empty() {
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), a.trim().to_owned()),
        None => (
            tree,
            tree.rsplit("::").next().unwrap_or(tree).trim().to_owned(),
        ),
    };
    let mut full = prefix.to_vec();
    full.extend(path.split("::").map(|s| s.trim().to_owned()));
    let alias = if alias == "self" {
        full.iter().rev().nth(1).cloned().unwrap_or_default()
    } else {
        alias
    };
    if full.last().is_some_and(|s| s == "self") {
        full.pop();
    }
    out.push((full, alias));
}

/// Splits `a, b::{c, d}, e` at the commas outside braces.
fn split_top(list: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in list.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&list[start..]);
    parts
}

/// The absolute path of `path` seen from `module`, or `None` when it leaves the crate.
fn absolute(module: &ModPath, path: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let first = path.first()?;
    let mut abs = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => {
            let mut m = module.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                m.pop()?;
                rest = &rest[1..];
            }
            m.extend(rest.iter().cloned());
            return Some(m);
        }
        child => {
            let mut m = module.clone();
            m.push(child.to_owned());
            if !modules.contains(&m) {
                return None;
            }
            module.clone()
        }
    };
    let skip = usize::from(matches!(first.as_str(), "crate" | "self"));
    abs.extend(path[skip..].iter().cloned());
    Some(abs)
}

/// The module defining what `path` names, following re-exports.
fn resolve(
    path: &ModPath,
    modules: &BTreeSet<ModPath>,
    facts: &BTreeMap<ModPath, FileFacts>,
    depth: usize,
) -> Option<ModPath> {
    let len = (0..=path.len())
        .rev()
        .find(|n| modules.contains(&path[..*n].to_vec()))?;
    let module = path[..len].to_vec();
    if depth < 8
        && let Some(item) = path.get(len)
        && let Some(source) = facts.get(&module).and_then(|f| f.reexports.get(item))
        && source != path
    {
        return resolve(source, modules, facts, depth + 1).or(Some(module));
    }
    Some(module)
}
