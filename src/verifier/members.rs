//! Reading typed members of a JSON object (JWT claims, introspection responses): a member of the
//! wrong type is an invalid token, never silently ignored.

use serde_json::{Map, Value};

use crate::VerifyError;

/// A NumericDate member (RFC 7519 §2) as whole seconds, rounded down (right for `exp` and `iat`:
/// a fractional expiry never lasts longer); `Err` when present but not a number, or out of range.
/// `source` names the document in the reason ("JWT", "introspection").
pub(crate) fn numeric_date(
    object: &Map<String, Value>,
    source: &'static str,
    name: &'static str,
) -> Result<Option<i64>, VerifyError> {
    seconds(object, source, name, f64::floor)
}

/// The `nbf` member as whole seconds, rounded up: a token valid from `1000.5` is not valid at
/// `1000` (rounding down would accept it up to a second early).
pub(crate) fn not_before(
    object: &Map<String, Value>,
    source: &'static str,
) -> Result<Option<i64>, VerifyError> {
    seconds(object, source, "nbf", f64::ceil)
}

fn seconds(
    object: &Map<String, Value>,
    source: &'static str,
    name: &'static str,
    round: fn(f64) -> f64,
) -> Result<Option<i64>, VerifyError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => match (number.as_i64(), number.as_f64()) {
            (Some(seconds), _) => Ok(Some(seconds)),
            (None, Some(seconds)) if seconds.is_finite() && seconds.abs() < 1e15 => {
                Ok(Some(round(seconds) as i64))
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

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::{not_before, numeric_date};

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("the tests pass objects"),
        }
    }

    #[test]
    fn fractional_dates_round_towards_refusal() {
        let claims = object(json!({"exp": 1000.5, "nbf": 1000.5, "iat": 999.9}));
        assert_eq!(numeric_date(&claims, "JWT", "exp"), Ok(Some(1000)));
        assert_eq!(not_before(&claims, "JWT"), Ok(Some(1001)));
        let whole = object(json!({"nbf": 1000, "exp": 1000.0}));
        assert_eq!(not_before(&whole, "JWT"), Ok(Some(1000)));
        assert_eq!(numeric_date(&whole, "JWT", "exp"), Ok(Some(1000)));
        let negative = object(json!({"nbf": -0.5}));
        assert_eq!(not_before(&negative, "JWT"), Ok(Some(0)));
    }
}
