//! The part of JSON Schema that `extract_fields` supports: `type` (one or a
//! list), `properties`, `required`, `additionalProperties: false`, `items`,
//! `enum`, `minimum`/`maximum`, `minLength`/`maxLength`. Enough to describe
//! fields to extract and to check the model's answer; a schema using other
//! keywords is refused up front rather than half-checked.

use serde_json::Value;

const KNOWN: [&str; 14] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "description",
    "title",
    "format",
    "default",
];

/// Checks that a caller's schema only uses supported keywords and is an
/// object schema; the message names the first problem.
pub fn check_schema(schema: &Value) -> Result<(), String> {
    fn walk(s: &Value, path: &str) -> Result<(), String> {
        let o = s
            .as_object()
            .ok_or_else(|| format!("{path}: a schema must be an object"))?;
        if let Some(k) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("{path}: keyword '{k}' is not supported"));
        }
        if let Some(props) = o.get("properties") {
            let props = props
                .as_object()
                .ok_or_else(|| format!("{path}/properties must be an object"))?;
            for (k, v) in props {
                walk(v, &format!("{path}/properties/{k}"))?;
            }
        }
        if let Some(items) = o.get("items") {
            walk(items, &format!("{path}/items"))?;
        }
        Ok(())
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err("schema must have \"type\": \"object\"".into());
    }
    if schema.to_string().len() > 16 * 1024 {
        return Err("schema must be under 16 KiB".into());
    }
    walk(schema, "#")
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// Validates `value` against `schema`; the errors, with JSON-pointer paths.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "", &mut errors);
    errors
}

fn check(s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "/" } else { path };
    match s.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            errors.push(format!("{at}: expected {t}"));
            return;
        }
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            errors.push(format!(
                "{at}: expected one of {}",
                Value::Array(ts.clone())
            ));
            return;
        }
        _ => {}
    }
    if let Some(Value::Array(options)) = s.get("enum") {
        if !options.contains(v) {
            errors.push(format!(
                "{at}: not one of {}",
                Value::Array(options.clone())
            ));
        }
    }
    check_bounds(s, v, at, errors);
    if let Some(obj) = v.as_object() {
        check_members(s, obj, path, errors);
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(items, item, &format!("{path}/{i}"), errors);
        }
    }
}

/// `minimum`/`maximum` of a number, `minLength`/`maxLength` of a string.
fn check_bounds(s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let bound = |name: &str| s.get(name).and_then(Value::as_f64);
    if let Some(n) = v.as_f64() {
        if bound("minimum").is_some_and(|m| n < m) {
            errors.push(format!("{at}: below minimum"));
        }
        if bound("maximum").is_some_and(|m| n > m) {
            errors.push(format!("{at}: above maximum"));
        }
    }
    if let Some(text) = v.as_str() {
        let len = text.chars().count() as u64;
        let limit = |name: &str| s.get(name).and_then(Value::as_u64);
        if limit("minLength").is_some_and(|m| len < m) {
            errors.push(format!("{at}: shorter than minLength"));
        }
        if limit("maxLength").is_some_and(|m| len > m) {
            errors.push(format!("{at}: longer than maxLength"));
        }
    }
}

/// An object's `required` members, and each member against its schema
/// (or refused when `additionalProperties` is false).
fn check_members(
    s: &Value,
    obj: &serde_json::Map<String, Value>,
    path: &str,
    errors: &mut Vec<String>,
) {
    let props = s.get("properties").and_then(Value::as_object);
    if let Some(Value::Array(req)) = s.get("required") {
        for r in req.iter().filter_map(Value::as_str) {
            if !obj.contains_key(r) {
                errors.push(format!("{path}/{r}: required"));
            }
        }
    }
    for (k, child) in obj {
        match props.and_then(|p| p.get(k)) {
            Some(sub) => check(sub, child, &format!("{path}/{k}"), errors),
            None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                errors.push(format!("{path}/{k}: not allowed"))
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invoice() -> Value {
        json!({
            "type": "object",
            "required": ["number", "total"],
            "additionalProperties": false,
            "properties": {
                "number": {"type": "string", "minLength": 1},
                "total": {"type": "number", "minimum": 0},
                "currency": {"type": ["string", "null"], "enum": ["EUR", "USD", null]},
                "lines": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}}
            }
        })
    }

    #[test]
    fn a_matching_answer_has_no_errors() {
        let v = json!({"number": "F-1", "total": 12.5, "currency": "EUR", "lines": [{"qty": 2}]});
        assert_eq!(validate(&invoice(), &v), Vec::<String>::new());
    }

    #[test]
    fn each_violation_is_named_with_its_path() {
        let v = json!({"number": "", "total": -1, "currency": "GBP", "lines": [{"qty": 1.5}], "extra": 1});
        let errors = validate(&invoice(), &v);
        for want in [
            "/number: shorter",
            "/total: below",
            "/currency: not one of",
            "/lines/0/qty: expected integer",
            "/extra: not allowed",
        ] {
            assert!(
                errors.iter().any(|e| e.starts_with(want)),
                "{want} in {errors:?}"
            );
        }
        assert_eq!(
            validate(&invoice(), &json!({"number": "x"})),
            vec!["/total: required"]
        );
        assert_eq!(
            validate(&invoice(), &json!([1])),
            vec!["/: expected object"]
        );
    }

    #[test]
    fn schemas_with_unsupported_keywords_are_refused() {
        assert!(check_schema(&invoice()).is_ok());
        assert!(check_schema(&json!({"type": "array"})).is_err());
        let refs = json!({"type": "object", "properties": {"a": {"$ref": "#/x"}}});
        assert!(check_schema(&refs).unwrap_err().contains("$ref"));
    }
}
