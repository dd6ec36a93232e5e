//! JSON request bodies read as strictly as the OpenAPI document describes
//! them: a body is an object (serde would also fill a struct from an
//! array), and an optional field is either left out or given a value (an
//! explicit `null` is refused like any other wrong type).
//!
//! Read bodies with [`object`]; mark `Option<T>` fields with
//! `#[serde(default, deserialize_with = "crate::strict::some")]`.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

/// Parses a JSON body that must be an object.
pub fn object<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(serde_json::Error::custom("the body must be a JSON object"));
    }
    serde_json::from_slice(body)
}

/// A present field's value; `null` is an error (absence is `None` through
/// `#[serde(default)]`).
pub fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Refuses a body whose top-level `fields` are present as `null`, for a
/// type that is also read back from storage (where `null` stands for
/// absent) and so cannot use [`some`].
pub fn no_null(body: &[u8], fields: &[&str]) -> Result<(), serde_json::Error> {
    let map: serde_json::Map<String, serde_json::Value> = object(body)?;
    match fields
        .iter()
        .find(|f| map.get(**f).is_some_and(|v| v.is_null()))
    {
        Some(f) => Err(serde_json::Error::custom(format!(
            "{f} must not be null: leave it out"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[serde(default, deserialize_with = "super::some")]
        name: Option<String>,
    }

    #[test]
    fn a_named_field_may_be_absent_but_not_null() {
        assert!(super::no_null(br#"{"a":1}"#, &["b"]).is_ok());
        assert!(super::no_null(br#"{"a":null}"#, &["b"]).is_ok());
        assert!(super::no_null(br#"{"b":null}"#, &["b"]).is_err());
        assert!(super::no_null(b"[]", &["b"]).is_err());
    }

    #[test]
    fn only_an_object_is_a_body() {
        assert!(super::object::<Body>(b" {}").is_ok());
        for bad in [&b"[]"[..], b"[\"x\"]", b"null", b"", b"\"x\""] {
            assert!(super::object::<Body>(bad).is_err(), "{bad:?}");
        }
        // What serde alone would do with an array:
        assert!(serde_json::from_slice::<Body>(b"[]").is_ok());
    }

    #[test]
    fn absent_is_none_a_value_is_some_and_null_is_refused() {
        let b: Body = serde_json::from_str("{}").unwrap();
        assert_eq!(b.name, None);
        let b: Body = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(b.name.as_deref(), Some("x"));
        assert!(serde_json::from_str::<Body>(r#"{"name":null}"#).is_err());
    }
}
