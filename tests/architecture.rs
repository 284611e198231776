//! The layering of `src/` as a test: dependencies between the top-level modules point one
//! way (no import cycle), read from the `crate::<module>` paths of the non-test code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the top-level modules its code names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_dir() && name != "bin" {
            modules.insert(name);
        } else if let Some(stem) = name.strip_suffix(".rs").filter(|s| *s != "lib") {
            modules.insert(stem.to_string());
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in rust_files(src) {
        let rel = path.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let owner = first.trim_end_matches(".rs").to_string();
        if !modules.contains(&owner) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, _) in code.match_indices("crate::") {
            let used: String = code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if used != owner && modules.contains(&used) {
                graph.entry(owner.clone()).or_default().insert(used);
            }
        }
        graph.entry(owner).or_default();
    }
    graph
}

/// A cycle through `start`, if any, as the list of modules on it.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.len() > 10, "the graph was not read: {graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, module) {
            panic!("import cycle: {} -> {module}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cycle_from(&graph, "a"),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    graph.insert("c".to_string(), BTreeSet::new());
    assert_eq!(cycle_from(&graph, "a"), None);
}

/// Longest a function may be, in lines from its `fn` line to its closing brace.
const MAX_FUNCTION_LINES: usize = 80;
/// Longest a binary may be: argument parsing and one call (the flags live in `cli/`).
const MAX_BINARY_LINES: usize = 80;

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The functions of a rustfmt-formatted file (before its `#[cfg(test)]` module) longer
/// than `max` lines, as (name, first line, lines). A body ends at the first `}` line
/// indented as its `fn` line.
fn long_functions(text: &str, max: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#[cfg(test)]"))
        .unwrap_or(lines.len());
    let mut out = Vec::new();
    for (i, line) in lines[..end].iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let mut words = code.split_whitespace().skip_while(|w| {
            w.starts_with("pub") || ["const", "async", "unsafe", "extern", "\"C\""].contains(w)
        });
        if words.next() != Some("fn") {
            continue;
        }
        let name: String = words
            .next()
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // A signature that ends in `;` before any `{` is a declaration (trait item).
        let opens = lines[i..end]
            .iter()
            .map(|l| l.trim_end())
            .find(|l| l.ends_with('{') || l.ends_with(';'));
        if opens.is_none_or(|l| l.ends_with(';')) {
            continue;
        }
        let closing = format!("{indent}}}");
        let Some(last) = lines[i..end].iter().position(|l| l.trim_end() == closing) else {
            continue;
        };
        if last + 1 > max {
            out.push((name, i + 1, last + 1));
        }
    }
    out
}

#[test]
fn no_function_is_longer_than_80_lines_outside_the_generator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    for dir in ["src", "python/src"] {
        for path in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&path).unwrap();
            for (name, line, lines) in long_functions(&text, MAX_FUNCTION_LINES) {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                long.push(format!("{rel}:{line} {name} ({lines} lines)"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_function_length_check_finds_a_long_function() {
    let body = "    let x = 1;\n".repeat(85);
    let text = format!(
        "pub fn short() {{\n    1\n}}\n\nimpl A {{\n    pub(crate) fn long(&self) {{\n{body}    }}\n}}\n\
         #[cfg(test)]\nmod tests {{\n    fn ignored() {{\n{body}    }}\n}}\n"
    );
    assert_eq!(long_functions(&text, 80), vec![("long".to_string(), 6, 87)]);
    assert!(long_functions(&text, 90).is_empty());
}

#[test]
fn binaries_are_argument_parsing_and_one_call() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bins = rust_files(&root.join("src/bin"));
    assert!(bins.len() >= 2, "the binaries were not found: {bins:?}");
    for path in bins {
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(
            lines <= MAX_BINARY_LINES,
            "{} has {lines} lines (at most {MAX_BINARY_LINES}): move its logic into the library",
            path.display()
        );
    }
}
