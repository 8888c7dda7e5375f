//! Reading typed members of a JSON object (JWT claims, introspection responses): a member of the
//! wrong type is an invalid token, never silently ignored.

use serde_json::{Map, Value};

use crate::VerifyError;

/// A NumericDate member (RFC 7519 §2) as whole seconds; `Err` when present but not a number, or
/// out of range. `source` names the document in the reason ("JWT", "introspection").
pub(crate) fn numeric_date(
    object: &Map<String, Value>,
    source: &'static str,
    name: &'static str,
) -> Result<Option<i64>, VerifyError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => match (number.as_i64(), number.as_f64()) {
            (Some(seconds), _) => Ok(Some(seconds)),
            (None, Some(seconds)) if seconds.is_finite() && seconds.abs() < 1e15 => {
                Ok(Some(seconds.floor() as i64))
            }
            _ => Err(VerifyError::invalid(format!(
                "{source} {name} is out of range"
            ))),
        },
        Some(_) => Err(VerifyError::invalid(format!(
            "{source} {name} is not a number"
        ))),
    }
}

/// A string member; `Err` when present but not a string.
pub(crate) fn string<'a>(
    object: &'a Map<String, Value>,
    source: &'static str,
    name: &str,
) -> Result<Option<&'a str>, VerifyError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(VerifyError::invalid(format!(
            "{source} {name} is not a string"
        ))),
    }
}
