//! Every SQL statement the edge sends can go to one database: it names
//! directory tables or tenant tables, never both (`home_of` refuses such a
//! statement at run time; this finds one before it runs). The statements
//! are read from the edge's source: each string literal that starts like
//! SQL, `format!` holes removed.

use quire::tenants::shards::{home_of, Home};
use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of a Rust source (ordinary ones; line
/// continuations joined).
fn literals(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        if c == '\'' {
            // A char literal ('"' among them) or a lifetime.
            let rest: String = chars.clone().take(3).collect();
            if rest.starts_with("\\") {
                chars.nth(2);
            } else if rest.chars().nth(1) == Some('\'') {
                chars.nth(1);
            }
            continue;
        }
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('\n') => {
                        while chars.peek().is_some_and(|c| c.is_whitespace()) {
                            chars.next();
                        }
                    }
                    Some(e) => s.push(e),
                    None => break,
                },
                _ => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

fn without_holes(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn no_statement_spans_the_directory_and_a_shard() {
    let mut files = Vec::new();
    rust_files(Path::new("src/edge"), &mut files);
    let verbs = ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "REPLACE "];
    let mut seen = 0;
    let mut shard = 0;
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        for lit in literals(&src) {
            let sql = without_holes(&lit);
            if !verbs.iter().any(|v| sql.trim_start().starts_with(v)) {
                continue;
            }
            seen += 1;
            match home_of(&sql) {
                Ok(Home::Shard) => shard += 1,
                Ok(_) => {}
                Err(e) => panic!("{}: {e}:\n{sql}", file.display()),
            }
        }
    }
    // The scan found the statements (the edge has well over a hundred).
    assert!(seen > 100, "only {seen} statements found");
    assert!(shard > 50, "only {shard} tenant statements found");
}
