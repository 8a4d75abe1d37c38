//! Checks on the source tree itself, so the architecture stays as ARCHITECTURE.md
//! draws it: every source file is in the code map, and no two files of a crate import
//! each other (directly or round a loop). Plain text scanning, std only: the rules
//! are simple enough that a parser would add more than it checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const CRATES: [&str; 7] = ["proto", "ingest", "detector", "router", "console", "streetwatch", "bench"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_path_buf()
}

/// Every `.rs` file under `dir`, relative to it, `/`-separated.
fn sources(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let rel = path.strip_prefix(dir).expect("under dir");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// A crate's section of the code map: from its `### \`name/\`` heading to the next.
fn section<'a>(map: &'a str, krate: &str) -> &'a str {
    let heading = format!("### `{krate}/`");
    let start = map.find(&heading).unwrap_or_else(|| panic!("ARCHITECTURE.md has no `{heading}` section"));
    let rest = &map[start + heading.len()..];
    &rest[..rest.find("\n### ").unwrap_or(rest.len())]
}

#[test]
fn every_source_file_is_in_the_code_map() {
    let map = fs::read_to_string(repo().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for krate in CRATES {
        let text = section(&map, krate);
        for rel in sources(&repo().join(krate).join("src")) {
            let file = rel.rsplit('/').next().unwrap_or(&rel);
            // `mod.rs`, `lib.rs` and `main.rs` are named by their directory or crate.
            if matches!(file, "mod.rs" | "lib.rs" | "main.rs") {
                continue;
            }
            // Named by its path (`kafka/sink.rs`), or by its name inside its
            // directory's entry (`nms.rs` after `postprocess/decode.rs`).
            let named = text.contains(&format!("`{rel}`"))
                || text.contains(&format!("/{rel}`"))
                || text.contains(&format!("`{file}`"))
                || text.contains(&format!("/{file}`"));
            if !named {
                missing.push(format!("{krate}/src/{rel}"));
            }
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map does not name: {missing:?}");
}

/// The module path of a file: `kafka/sink.rs` → `["kafka", "sink"]`, `a/mod.rs` → `["a"]`.
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel.trim_end_matches(".rs").split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its `#[cfg(test)] mod tests`
/// (whose `super::` means the file itself).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The paths a `crate::`/`super::` reference names, each as its segments after the
/// prefix: `crate::{a::B, c}` gives `[a, B]` and `[c]`.
fn paths_after(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    for (prefix, is_crate) in [("crate::", true), ("super::", false)] {
        let mut from = 0;
        while let Some(i) = code[from..].find(prefix) {
            let at = from + i;
            from = at + prefix.len();
            // `foo_crate::` is not `crate::`; the second `super` of `super::super::`
            // is read with the first.
            if code[..at].chars().next_back().is_some_and(is_ident) || code[..at].ends_with("::") {
                continue;
            }
            collect_paths(&code[from..], Vec::new(), &mut |p| out.push((is_crate, p)));
        }
    }
    out
}

/// Reads `a::b::{c, d::e}` at the start of `rest`, calling `found` per full path.
fn collect_paths(rest: &str, mut base: Vec<String>, found: &mut dyn FnMut(Vec<String>)) {
    let mut s = rest;
    loop {
        let ident: String = s.chars().take_while(|c| is_ident(*c)).collect();
        if !ident.is_empty() {
            base.push(ident.clone());
            s = &s[ident.len()..];
            if let Some(r) = s.strip_prefix("::") {
                s = r;
                continue;
            }
            found(base);
            return;
        }
        if let Some(r) = s.strip_prefix('{') {
            // Split the group at its top-level commas.
            let mut depth = 0;
            let mut item_start = 0;
            for (i, c) in r.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        collect_paths(r[item_start..i].trim_start(), base.clone(), found);
                        return;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        collect_paths(r[item_start..i].trim_start(), base.clone(), found);
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
        }
        if !base.is_empty() {
            found(base);
        }
        return;
    }
}

/// The file a path names: its longest prefix that is a module of the crate.
fn resolve(modules: &BTreeMap<Vec<String>, String>, path: &[String]) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| modules.get(&path[..n]).cloned())
}

/// File-level import edges of a crate, leaving out `mod.rs`/`lib.rs` (a parent names
/// its children and re-exports them; that is how Rust modules are made, not a loop).
fn import_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = sources(src);
    let modules: BTreeMap<Vec<String>, String> = files.iter().map(|f| (module_of(f), f.clone())).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rel in &files {
        if rel.ends_with("mod.rs") || rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let code = code_of(&fs::read_to_string(src.join(rel)).expect("a source file"));
        let here = module_of(rel);
        for (is_crate, path) in paths_after(&code) {
            let mut full = if is_crate { Vec::new() } else { here[..here.len().saturating_sub(1)].to_vec() };
            let mut path = path.as_slice();
            // `super::super::x`
            while let Some(("super", rest)) = path.split_first().map(|(h, r)| (h.as_str(), r)) {
                full.pop();
                path = rest;
            }
            full.extend(path.iter().cloned());
            if let Some(target) = resolve(&modules, &full) {
                if &target != rel && !target.ends_with("mod.rs") && target != "lib.rs" && target != "main.rs" {
                    graph.entry(rel.clone()).or_default().insert(target);
                }
            }
        }
    }
    graph
}

/// A loop in `graph`, as the files round it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, done, path) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut cycles = Vec::new();
    for krate in CRATES {
        let graph = import_graph(&repo().join(krate).join("src"));
        if let Some(c) = find_cycle(&graph) {
            cycles.push(format!("{krate}: {}", c.join(" → ")));
        }
    }
    assert!(cycles.is_empty(), "import cycles between files: {cycles:#?}");
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let mut graph = BTreeMap::new();
    graph.insert("a.rs".to_string(), BTreeSet::from(["b.rs".to_string()]));
    graph.insert("b.rs".to_string(), BTreeSet::from(["c.rs".to_string()]));
    graph.insert("c.rs".to_string(), BTreeSet::from(["a.rs".to_string()]));
    assert_eq!(find_cycle(&graph).map(|c| c.len()), Some(4));
    graph.remove("c.rs");
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn references_are_read_through_groups_and_super() {
    let code =
        "use crate::{telemetry as metrics, kafka::{sink::KafkaSink, tail}, RouterError};\nuse super::boxes::BoxXyxy;";
    let found: Vec<String> = paths_after(code).into_iter().map(|(c, p)| format!("{c}:{}", p.join("::"))).collect();
    assert_eq!(
        found,
        [
            "true:telemetry",
            "true:kafka::sink::KafkaSink",
            "true:kafka::tail",
            "true:RouterError",
            "false:boxes::BoxXyxy"
        ]
    );
}
