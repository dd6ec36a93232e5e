//! JSON and NDJSON: every scalar becomes a `path: value` line, so the text
//! keeps the structure a reader needs to understand a value.

use super::model::{Builder, Element};
use super::ExtractError;
use serde_json::Value;

/// One paragraph per item of a top-level array (or one for the document),
/// each made of `path: value` lines.
pub fn elements(source: &str) -> Result<Vec<Element>, ExtractError> {
    let value: Value = serde_json::from_str(source)
        .map_err(|e| ExtractError::Malformed(format!("invalid JSON: {e}")))?;
    let mut b = Builder::default();
    match &value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                b.paragraph(&flat(item, format!("[{i}]")));
            }
        }
        other => b.paragraph(&flat(other, String::new())),
    }
    Ok(b.finish())
}

/// One paragraph per record (line).
pub fn ndjson_elements(source: &str) -> Result<Vec<Element>, ExtractError> {
    let mut b = Builder::default();
    for (i, line) in source.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| ExtractError::Malformed(format!("invalid JSON on line {}: {e}", i + 1)))?;
        b.paragraph(&flat(&value, String::new()));
    }
    Ok(b.finish())
}

fn flat(value: &Value, mut path: String) -> String {
    let mut out = String::new();
    flatten(value, &mut path, &mut out);
    out
}

fn flatten(value: &Value, path: &mut String, out: &mut String) {
    let len = path.len();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                flatten(v, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                flatten(v, path, out);
                path.truncate(len);
            }
        }
        Value::String(s) => line(out, path, s),
        Value::Null => {}
        other => line(out, path, &other.to_string()),
    }
}

fn line(out: &mut String, path: &str, value: &str) {
    if !path.is_empty() {
        out.push_str(path);
        out.push_str(": ");
    }
    out.push_str(value);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_become_path_lines() {
        let els = elements(r#"{"name":"Ann","tags":["a","b"],"n":{"x":1,"y":null}}"#).unwrap();
        assert_eq!(els[0].text, "name: Ann\ntags[0]: a\ntags[1]: b\nn.x: 1");
        let els = elements(r#"[{"a":1},{"a":2}]"#).unwrap();
        assert_eq!(els.len(), 2);
        assert_eq!(els[1].text, "[1].a: 2");
    }

    #[test]
    fn malformed_json_names_the_problem() {
        let err = elements(r#"{"name": "#).unwrap_err();
        assert!(matches!(err, ExtractError::Malformed(m) if m.contains("invalid JSON")));
        let err = ndjson_elements("{\"a\":1}\n{oops}\n").unwrap_err();
        assert!(matches!(err, ExtractError::Malformed(m) if m.contains("line 2")));
    }
}
