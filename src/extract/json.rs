//! JSON and NDJSON: every scalar becomes a `path: value` line, so the text
//! keeps the structure a reader needs to understand a value.

use super::ExtractError;
use serde_json::Value;

pub fn to_text(source: &str) -> Result<String, ExtractError> {
    let value: Value = serde_json::from_str(source)
        .map_err(|e| ExtractError::Malformed(format!("invalid JSON: {e}")))?;
    let mut out = String::new();
    flatten(&value, &mut String::new(), &mut out);
    Ok(out)
}

pub fn ndjson_to_text(source: &str) -> Result<String, ExtractError> {
    let mut out = String::new();
    for (i, line) in source.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| ExtractError::Malformed(format!("invalid JSON on line {}: {e}", i + 1)))?;
        flatten(&value, &mut String::new(), &mut out);
        out.push('\n');
    }
    Ok(out)
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
        let text = to_text(r#"{"name":"Ann","tags":["a","b"],"n":{"x":1,"y":null}}"#).unwrap();
        assert_eq!(text, "name: Ann\ntags[0]: a\ntags[1]: b\nn.x: 1\n");
    }

    #[test]
    fn malformed_json_names_the_problem() {
        let err = to_text(r#"{"name": "#).unwrap_err();
        assert!(matches!(err, ExtractError::Malformed(m) if m.contains("invalid JSON")));
        let err = ndjson_to_text("{\"a\":1}\n{oops}\n").unwrap_err();
        assert!(matches!(err, ExtractError::Malformed(m) if m.contains("line 2")));
    }
}
