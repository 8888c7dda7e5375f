//! Parsing a JSON object whose member names must be unique (RFC 8259 §4 says they SHOULD be,
//! and leaves duplicates to each parser): two parsers that keep different duplicates are how a
//! document means one thing to its writer and another here, so a duplicate is refused.
//!
//! Only the top level is checked: nested objects are values nothing here decides on.

use std::{cell::Cell, fmt};

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};

/// Why [`parse_unique_object`] refused a document.
#[derive(Debug)]
pub(crate) enum ObjectError {
    /// A member name occurs twice at the top level.
    Duplicate,
    /// Not JSON, or not a JSON object. The error's `Display` can quote the input (serde_json's
    /// "invalid type: string \"…\"" does): log its [`classify`](serde_json::Error::classify),
    /// `line` and `column` only.
    Json(serde_json::Error),
}

/// Parses `json` as one JSON object with unique member names at the top level.
pub(crate) fn parse_unique_object(json: &[u8]) -> Result<Map<String, Value>, ObjectError> {
    let duplicate = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let parsed = UniqueObject {
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|object| deserializer.end().map(|()| object));
    parsed.map_err(|error| match duplicate.get() {
        true => ObjectError::Duplicate,
        false => ObjectError::Json(error),
    })
}

/// The seed and visitor: records a duplicate in `duplicate` (serde's custom errors carry only
/// text, and the caller should not have to read it).
struct UniqueObject<'a> {
    duplicate: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for UniqueObject<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for UniqueObject<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut object = Map::new();
        while let Some((name, value)) = access.next_entry::<String, Value>()? {
            if object.insert(name, value).is_some() {
                self.duplicate.set(true);
                return Err(serde::de::Error::custom("duplicate member name"));
            }
        }
        Ok(object)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(json: &str) -> Result<Map<String, Value>, ObjectError> {
        parse_unique_object(json.as_bytes())
    }

    #[test]
    fn unique_objects_parse() {
        let object = parse(r#" {"active": true, "a": {"b": 1, "b": 2}, "n": null} "#).unwrap();
        assert_eq!(object["active"], json!(true));
        // Nested duplicates are not this check's business (serde_json keeps the last).
        assert_eq!(object["a"], json!({"b": 2}));
        assert_eq!(object["n"], Value::Null);
        assert!(parse("{}").unwrap().is_empty());
    }

    #[test]
    fn duplicates_are_refused_whatever_their_values() {
        for bad in [
            r#"{"active":false,"active":true}"#,
            r#"{"active":true,"active":true}"#,
            r#"{"a":1,"b":2,"a":null}"#,
            // The same name after unescaping.
            r#"{"active":true,"\u0061ctive":false}"#,
        ] {
            assert!(matches!(parse(bad), Err(ObjectError::Duplicate)), "{bad}");
        }
    }

    #[test]
    fn other_documents_are_json_errors() {
        for bad in [
            "",
            "[]",
            r#""a string""#,
            "5",
            "null",
            r#"{"a":1"#,
            r#"{"a":1} {"#,
            r#"{"a":1}x"#,
        ] {
            assert!(matches!(parse(bad), Err(ObjectError::Json(_))), "{bad}");
        }
    }
}
