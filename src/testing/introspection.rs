//! The issuer's RFC 7662 introspection endpoint: registered tokens, the client authentication it
//! requires, and the log of what it was sent.

use std::collections::HashMap;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

/// One request the introspection endpoint received, as recorded by
/// [`TestIssuer::introspection_requests`](super::TestIssuer::introspection_requests).
///
/// It holds what was sent, tokens and client secrets included: it is for assertions in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IntrospectionRequest {
    /// The decoded `application/x-www-form-urlencoded` body, pairs in the order sent.
    pub form: Vec<(String, String)>,
    /// The `Authorization` header, verbatim (`None` when absent or not visible ASCII).
    pub authorization: Option<String>,
    /// The `Content-Type` header, verbatim.
    pub content_type: Option<String>,
}

impl IntrospectionRequest {
    /// The first value of form parameter `name`.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The credentials the endpoint requires of its callers.
#[derive(Debug, Clone)]
pub(super) enum RequiredAuth {
    /// `client_secret_basic` or `client_secret_post` with these (RFC 6749 §2.3.1).
    Client { id: String, secret: String },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

/// The endpoint's state, kept under the issuer's lock.
#[derive(Debug, Default)]
pub(super) struct Introspection {
    pub(super) tokens: HashMap<String, Value>,
    pub(super) required: Option<RequiredAuth>,
    pub(super) log: Vec<IntrospectionRequest>,
}

/// An answer: status, JSON body, and a `WWW-Authenticate` challenge for 401s.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: String,
    pub(super) challenge: Option<HeaderValue>,
}

impl Answer {
    fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: body.to_string(),
            challenge: None,
        }
    }

    fn unauthorized(challenge: &'static str, error: &'static str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: json!({ "error": error }).to_string(),
            challenge: Some(HeaderValue::from_static(challenge)),
        }
    }
}

impl Introspection {
    /// Answers `request` (already logged) as RFC 7662 §2 and RFC 6749 §2.3.1 say.
    pub(super) fn answer(&self, request: &IntrospectionRequest) -> Answer {
        let is_form = request.content_type.as_deref().is_some_and(|value| {
            value.split(';').next().is_some_and(|media| {
                media
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
        if !is_form {
            return Answer::json(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_request", "error_description": "expected a form body"}),
            );
        }
        if let Some(required) = &self.required
            && let Err(answer) = authenticate(required, request)
        {
            return answer;
        }
        let Some(token) = request.form_value("token") else {
            return Answer::json(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_request", "error_description": "no token parameter"}),
            );
        };
        let response = self
            .tokens
            .get(token)
            .cloned()
            .unwrap_or_else(|| json!({ "active": false }));
        Answer::json(StatusCode::OK, response)
    }
}

const BASIC_CHALLENGE: &str = "Basic realm=\"test-issuer\"";
const BEARER_CHALLENGE: &str = "Bearer realm=\"test-issuer\", error=\"invalid_token\"";

/// Checks the caller's credentials against `required`.
fn authenticate(required: &RequiredAuth, request: &IntrospectionRequest) -> Result<(), Answer> {
    let header = request.authorization.as_deref();
    match required {
        RequiredAuth::Bearer(expected) => {
            let presented = header.and_then(|value| strip_scheme(value, "Bearer"));
            if presented == Some(expected.as_str()) {
                Ok(())
            } else {
                Err(Answer::unauthorized(BEARER_CHALLENGE, "invalid_token"))
            }
        }
        RequiredAuth::Client { id, secret } => {
            let basic = header
                .and_then(|value| strip_scheme(value, "Basic"))
                .map(decode_basic);
            let post = (
                request.form_value("client_id"),
                request.form_value("client_secret"),
            );
            let fail = || Answer::unauthorized(BASIC_CHALLENGE, "invalid_client");
            match (basic, post) {
                // RFC 6749 §2.3: one authentication method per request.
                (Some(_), (Some(_), _) | (_, Some(_))) => Err(Answer::json(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "invalid_request", "error_description": "more than one client authentication method"}),
                )),
                (Some(Some((got_id, got_secret))), _) if got_id == *id && got_secret == *secret => {
                    Ok(())
                }
                (None, (Some(got_id), Some(got_secret)))
                    if got_id == id && got_secret == secret =>
                {
                    Ok(())
                }
                _ => Err(fail()),
            }
        }
    }
}

/// The credentials after `<scheme> ` (scheme case-insensitive).
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (found, rest) = value.split_once(' ')?;
    found.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// `base64(urlencode(id) ":" urlencode(secret))` → `(id, secret)` (RFC 6749 §2.3.1).
fn decode_basic(credentials: &str) -> Option<(String, String)> {
    let decoded = STANDARD.decode(credentials).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_urldecode(id)?, form_urldecode(secret)?))
}

/// Decodes one application/x-www-form-urlencoded value (`+` is a space, `%XX` a byte).
fn form_urldecode(encoded: &str) -> Option<String> {
    if encoded.contains(['&', '=']) {
        return None;
    }
    let mut pairs = url::form_urlencoded::parse(encoded.as_bytes());
    match (pairs.next(), pairs.next()) {
        (Some((key, value)), None) if value.is_empty() => Some(key.into_owned()),
        (None, None) => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(form: &[(&str, &str)], authorization: Option<&str>) -> IntrospectionRequest {
        IntrospectionRequest {
            form: form
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            authorization: authorization.map(str::to_owned),
            content_type: Some("application/x-www-form-urlencoded".into()),
        }
    }

    fn basic(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn client_authentication() {
        let endpoint = Introspection {
            required: Some(RequiredAuth::Client {
                id: "rs 1".into(),
                secret: "p:w/é".into(),
            }),
            ..Default::default()
        };
        let status = |req: &IntrospectionRequest| endpoint.answer(req).status;
        let form = [("token", "t")];
        assert_eq!(
            status(&request(&form, Some(&basic("rs+1:p%3Aw%2F%C3%A9")))),
            StatusCode::OK
        );
        assert_eq!(
            status(&request(&form, Some(&basic("rs%201:p%3aw%2f%c3%a9")))),
            StatusCode::OK
        );
        assert_eq!(
            status(&request(
                &[
                    ("token", "t"),
                    ("client_id", "rs 1"),
                    ("client_secret", "p:w/é")
                ],
                None
            )),
            StatusCode::OK
        );
        for bad in [
            request(&form, None),
            request(&form, Some(&basic("rs+1:wrong"))),
            request(&form, Some("Basic !!!")),
            request(&form, Some("Bearer x")),
            request(&[("token", "t"), ("client_id", "rs 1")], None),
        ] {
            let answer = endpoint.answer(&bad);
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad:?}");
            assert_eq!(answer.challenge.unwrap(), BASIC_CHALLENGE);
        }
        assert_eq!(
            status(&request(
                &[
                    ("token", "t"),
                    ("client_id", "rs 1"),
                    ("client_secret", "p:w/é")
                ],
                Some(&basic("rs+1:p%3Aw%2F%C3%A9"))
            )),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn registered_unknown_and_missing_tokens() {
        let mut endpoint = Introspection::default();
        endpoint
            .tokens
            .insert("known".into(), json!({"active": true, "scope": "a"}));
        let body = |req| endpoint.answer(&req).body;
        assert_eq!(
            body(request(&[("token", "known")], None)),
            r#"{"active":true,"scope":"a"}"#
        );
        assert_eq!(
            body(request(&[("token", "other")], None)),
            r#"{"active":false}"#
        );
        assert_eq!(
            endpoint.answer(&request(&[], None)).status,
            StatusCode::BAD_REQUEST
        );
        let mut not_form = request(&[("token", "known")], None);
        not_form.content_type = Some("application/json".into());
        assert_eq!(endpoint.answer(&not_form).status, StatusCode::BAD_REQUEST);
    }
}
