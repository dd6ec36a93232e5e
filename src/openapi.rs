//! The OpenAPI 3.1 document, served at `/openapi.json`. It is written by
//! hand in `docs/openapi.json`; a test checks it against the route table.

/// The document, verbatim.
pub const DOCUMENT: &str = include_str!("../docs/openapi.json");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::routes::ROUTES;

    fn doc() -> serde_json::Value {
        serde_json::from_str(DOCUMENT).expect("docs/openapi.json is valid JSON")
    }

    #[test]
    fn every_public_route_is_documented() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        for route in ROUTES.iter().filter(|r| r.public) {
            let method = route.method.as_str().to_ascii_lowercase();
            assert!(
                doc["paths"][route.pattern][&method].is_object(),
                "{} {} is missing from docs/openapi.json",
                route.method.as_str(),
                route.pattern
            );
        }
    }

    #[test]
    fn every_operation_has_its_own_operation_id() {
        let doc = doc();
        let mut seen = std::collections::BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().expect("paths object") {
            for (method, op) in ops.as_object().expect("operations") {
                if method == "parameters" {
                    continue;
                }
                let id = op["operationId"].as_str();
                assert!(id.is_some(), "{method} {path} has no operationId");
                assert!(seen.insert(id), "{method} {path}: operationId {id:?} twice");
            }
        }
    }

    #[test]
    fn every_documented_operation_is_routed() {
        let doc = doc();
        let paths = doc["paths"].as_object().expect("paths object");
        for (path, ops) in paths {
            for method in ops.as_object().expect("operations").keys() {
                if method == "parameters" {
                    continue;
                }
                let routed = ROUTES.iter().any(|r| {
                    r.public && r.pattern == path && r.method.as_str().eq_ignore_ascii_case(method)
                });
                assert!(routed, "{method} {path} is documented but not routed");
            }
        }
    }
}
