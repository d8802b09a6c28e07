//! The shape of the code base: no import circle among the library's modules, and a `--help`
//! that lists the values of every enumerated flag.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The identifiers that follow `crate::` in `code`, and the first names of the paths inside a
/// `crate::{..}` group.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The names at the group's top level: after `{` and after each `,` at depth 0.
            let (mut depth, mut expect) = (0usize, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect = true,
                    c if expect && c.is_alphanumeric() => {
                        out.insert(ident(&group[i..]));
                        expect = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// The library's modules (top-level files and folders of `src/`, the binary left out) and the
/// modules each one's code (not its tests, not its comments) names through `crate::`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut code: BTreeMap<String, String> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        if first == "bin" || first == "lib.rs" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        code.entry(module).or_default().push_str(&lines.join("\n"));
    }
    let modules: BTreeSet<String> = code.keys().cloned().collect();
    code.iter()
        .map(|(m, text)| {
            let uses = crate_paths(text)
                .into_iter()
                .filter(|t| t != m && modules.contains(t))
                .collect();
            (m.clone(), uses)
        })
        .collect()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = module_graph();
    assert!(graph.len() > 20, "the graph misses modules: {graph:?}");
    assert!(
        graph["read"].contains("meta"),
        "the scan misses imports: {:?}",
        graph["read"]
    );
    // A module is in a circle when it reaches itself.
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = graph[start].iter().collect();
        while let Some(m) = todo.pop() {
            assert_ne!(
                m, start,
                "{start} imports, through others, a module that imports {start}: {graph:#?}"
            );
            if seen.insert(m) {
                todo.extend(graph[m].iter());
            }
        }
    }
}

#[test]
fn the_scan_finds_grouped_and_plain_paths() {
    let found = crate_paths("use crate::{a::X, b, c::{d, e}};\nlet x = crate::f::g();");
    assert_eq!(
        found,
        ["a", "b", "c", "f"].map(String::from).into_iter().collect()
    );
}

#[test]
fn help_lists_the_values_of_every_enumerated_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let help = |command: &str| {
        crate::common::run_in(tmp.path(), &[command, "--help"])
            .stdout
            .replace('\n', " ")
    };
    let squeeze = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let write = squeeze(help("write"));
    assert!(
        write.contains("[possible values: auto, dense, sparse, runs]"),
        "{write}"
    );
    assert!(
        write.contains("[possible values: zstd, zstd(LEVEL), brotli(LEVEL), snappy, lz4_raw, uncompressed]"),
        "{write}"
    );
    assert!(
        write.contains("[possible values: fast, default, best]"),
        "{write}"
    );
    let sql = squeeze(help("sql"));
    assert!(
        sql.contains("[possible values: table, csv, json, parquet]"),
        "{sql}"
    );
}
