//! Checking an RFC 7662 introspection response and mapping it to an [`AccessToken`]: pure
//! functions of the parsed JSON and the clock.

use serde_json::{Map, Value};
use url::Url;

use crate::{AccessToken, VerifyError, verifier::members};

/// The `client_id` of a token whose introspection response names none (as the reference example).
pub(crate) const UNKNOWN_CLIENT: &str = "unknown";

/// What an active token must also satisfy.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    /// Empty: no `aud` check (the layer's `resource_server_url` does the resource check).
    pub(crate) audiences: Vec<Audience>,
    pub(crate) issuer: Option<String>,
    pub(crate) leeway: i64,
}

/// An accepted audience: compared exactly, or (opt-in) hierarchically as the reference example's
/// `check_resource_allowed`.
#[derive(Debug, Clone)]
pub(crate) struct Audience {
    exact: String,
    /// Set in hierarchical mode: this resource's URL.
    url: Option<Url>,
}

impl Audience {
    /// An exact audience.
    pub(crate) fn exact(audience: String) -> Self {
        Self {
            exact: audience,
            url: None,
        }
    }

    /// A hierarchical audience; `None` when `audience` is not an absolute http(s) URL.
    pub(crate) fn hierarchical(audience: String) -> Option<Self> {
        let url = Url::parse(&audience).ok().filter(|url| {
            matches!(url.scheme(), "http" | "https")
                && url.has_host()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
        })?;
        Some(Self {
            exact: audience,
            url: Some(url),
        })
    }

    /// Whether a token `aud` value lets the token be used here.
    ///
    /// Hierarchical: same scheme, host (case-insensitively), port (default ports aside) and
    /// query, and this resource's path lies at or below the `aud` path, segment-wise (a `/` is
    /// appended to both first, so `/api` covers `/api/mcp` but not `/api123`).
    fn matches(&self, aud: &str) -> bool {
        if aud == self.exact {
            return true;
        }
        let Some(ours) = &self.url else {
            return false;
        };
        let Ok(theirs) = Url::parse(aud) else {
            return false;
        };
        if theirs.scheme() != ours.scheme()
            || theirs.host() != ours.host()
            || theirs.port_or_known_default() != ours.port_or_known_default()
            || !theirs.username().is_empty()
            || theirs.password().is_some()
            || theirs.fragment().is_some()
            || theirs.query() != ours.query()
        {
            return false;
        }
        let with_slash = |path: &str| {
            if path.ends_with('/') {
                path.to_owned()
            } else {
                format!("{path}/")
            }
        };
        with_slash(ours.path()).starts_with(&with_slash(theirs.path()))
    }

    /// The audience as configured.
    pub(crate) fn as_str(&self) -> &str {
        &self.exact
    }
}

fn invalid(reason: &'static str) -> VerifyError {
    VerifyError::invalid(reason)
}

fn numeric_date(
    response: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, VerifyError> {
    members::numeric_date(response, "introspection", name)
}

fn string_member<'a>(
    response: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, VerifyError> {
    members::string(response, "introspection", name)
}

/// Checks an introspection `response` for `token` against `rules` at `now`, and builds the
/// [`AccessToken`]. A `null` member counts as absent (and is left out of the token's claims),
/// `active` aside: it must be `true`.
pub(crate) fn check(
    token: &str,
    mut response: Map<String, Value>,
    rules: &Rules,
    now: i64,
) -> Result<AccessToken, VerifyError> {
    // RFC 7662 §2.2: `active` is a REQUIRED boolean; anything but `true` is inactive.
    match response.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Err(invalid("introspection: token inactive")),
        Some(_) => return Err(invalid("introspection: active is not a boolean")),
        None => return Err(invalid("introspection: no active member")),
    }
    // As the reference example, whose optional fields default to None: the Python SDK's example
    // authorization server sends `"aud": null` for a token issued without a `resource`.
    response.retain(|_, value| !value.is_null());

    let exp = numeric_date(&response, "exp")?;
    let nbf = members::not_before(&response, "introspection")?;
    // RFC 7519 §4.1.4: the current time MUST be before exp (less the leeway).
    if exp.is_some_and(|exp| now >= exp.saturating_add(rules.leeway)) {
        return Err(VerifyError::Expired);
    }
    if nbf.is_some_and(|nbf| now < nbf.saturating_sub(rules.leeway)) {
        return Err(invalid("introspection: token not valid yet (nbf)"));
    }

    let iss = string_member(&response, "iss")?;
    if let Some(expected) = &rules.issuer
        && iss != Some(expected.as_str())
    {
        return Err(invalid("introspection iss is not the configured issuer"));
    }

    let resource = resource(&response, &rules.audiences)?;
    let subject = string_member(&response, "sub")?.map(str::to_owned);
    let client_id = string_member(&response, "client_id")?
        .unwrap_or(UNKNOWN_CLIENT)
        .to_owned();
    let scopes = string_member(&response, "scope")?
        .map(|scope| scope.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    // RFC 9449 §6.2: the key the token is bound to.
    let dpop_jkt = crate::token::dpop_confirmation(&response, "introspection")?;

    let mut access = AccessToken::new(token, client_id, Vec::<String>::new());
    access.scopes = scopes;
    access.expires_at = exp;
    access.resource = resource;
    access.subject = subject;
    access.dpop_jkt = dpop_jkt;
    access.claims = Some(response);
    Ok(access)
}

/// The resource the token is for. With audiences configured: the configured audience that
/// `aud` (a string or an array of strings) names — required. Without: the `aud` string, or
/// the first entry of an `aud` array, unchecked.
fn resource(
    response: &Map<String, Value>,
    accepted: &[Audience],
) -> Result<Option<String>, VerifyError> {
    let auds: Vec<&str> = match response.get("aud") {
        None => Vec::new(),
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| invalid("introspection aud holds a non-string"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("introspection aud is not a string or array")),
    };
    if accepted.is_empty() {
        return Ok(auds.first().map(|aud| (*aud).to_owned()));
    }
    if auds.is_empty() {
        return Err(invalid("introspection response has no aud"));
    }
    accepted
        .iter()
        .find(|audience| auds.iter().any(|aud| audience.matches(aud)))
        .map(|audience| Some(audience.as_str().to_owned()))
        .ok_or_else(|| invalid("introspection aud does not name this resource"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const RS: &str = "https://rs.example/mcp";

    fn rules() -> Rules {
        Rules {
            audiences: vec![Audience::exact(RS.into())],
            issuer: Some("https://as.example".into()),
            leeway: 60,
        }
    }

    fn hierarchical(audience: &str) -> Rules {
        Rules {
            audiences: vec![Audience::hierarchical(audience.into()).unwrap()],
            ..rules()
        }
    }

    fn response(extra: Value) -> Map<String, Value> {
        let mut base = json!({
            "active": true, "iss": "https://as.example", "aud": RS, "sub": "alice",
            "client_id": "app", "scope": "a  b\tc", "exp": NOW + 300, "iat": NOW,
            "token_type": "Bearer",
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base.as_object().unwrap().clone()
    }

    fn run(extra: Value, rules: &Rules) -> Result<AccessToken, VerifyError> {
        check("tok", response(extra), rules, NOW)
    }

    #[test]
    fn maps_like_the_reference_example() {
        let token = run(json!({}), &rules()).unwrap();
        assert_eq!(token.token, "tok");
        assert_eq!(token.client_id, "app");
        assert_eq!(token.scopes, ["a", "b", "c"]);
        assert_eq!(token.subject.as_deref(), Some("alice"));
        assert_eq!(token.expires_at, Some(NOW + 300));
        assert_eq!(token.resource.as_deref(), Some(RS));
        assert_eq!(token.issuer().as_deref(), Some("https://as.example"));
        assert_eq!(token.claims.as_ref().unwrap()["token_type"], "Bearer");

        let bare = run(
            json!({"client_id": null, "scope": null, "sub": null, "exp": null}),
            &rules(),
        )
        .unwrap();
        assert_eq!(bare.client_id, UNKNOWN_CLIENT);
        assert!(bare.scopes.is_empty());
        assert_eq!(bare.subject, None);
        assert_eq!(bare.expires_at, None);
        assert!(
            run(json!({"scope": ""}), &rules())
                .unwrap()
                .scopes
                .is_empty()
        );
    }

    #[test]
    fn active_must_be_the_boolean_true() {
        for bad in [
            json!(false),
            json!("true"),
            json!(1),
            json!(null),
            json!([true]),
        ] {
            let mut body = response(json!({}));
            body.insert("active".into(), bad.clone());
            assert!(
                matches!(
                    check("t", body, &rules(), NOW),
                    Err(VerifyError::Invalid(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            run(json!({"active": null}), &rules()),
            Err(VerifyError::Invalid(_))
        ));
    }

    /// `response()` removes the members its argument sets to null; this sets them to null.
    fn run_with_nulls(names: &[&str], rules: &Rules) -> Result<AccessToken, VerifyError> {
        let mut body = response(json!({}));
        for name in names {
            body.insert((*name).to_owned(), Value::Null);
        }
        check("tok", body, rules, NOW)
    }

    #[test]
    fn null_members_are_absent() {
        let open = Rules {
            audiences: Vec::new(),
            issuer: None,
            ..rules()
        };
        // The Python SDK's example authorization server, for a token issued without `resource`.
        let token = run_with_nulls(&["aud"], &open).unwrap();
        assert_eq!(token.resource, None);
        let optional = [
            "aud",
            "sub",
            "exp",
            "nbf",
            "iat",
            "iss",
            "client_id",
            "scope",
            "token_type",
            "username",
            "jti",
        ];
        for name in optional {
            assert!(run_with_nulls(&[name], &open).is_ok(), "{name}");
        }
        let bare = run_with_nulls(&optional, &open).unwrap();
        assert_eq!(bare.client_id, UNKNOWN_CLIENT);
        assert!(bare.scopes.is_empty());
        assert_eq!(bare.issuer(), None);
        assert_eq!(
            (bare.subject, bare.expires_at, bare.resource),
            (None, None, None)
        );
        // Left out of the claims, as if never sent.
        assert_eq!(Value::Object(bare.claims.unwrap()), json!({"active": true}));
        // Absent is still absent where something is required.
        assert!(matches!(
            run_with_nulls(&["aud"], &rules()),
            Err(VerifyError::Invalid(_))
        ));
        assert!(matches!(
            run_with_nulls(&["iss"], &rules()),
            Err(VerifyError::Invalid(_))
        ));
        assert!(matches!(
            run_with_nulls(&["active"], &open),
            Err(VerifyError::Invalid(_))
        ));
    }

    #[test]
    fn members_of_the_wrong_type_are_invalid() {
        for bad in [
            json!({"client_id": 5}),
            json!({"scope": ["a"]}),
            json!({"sub": 5}),
            json!({"iss": 5}),
            json!({"exp": "1900000000"}),
            json!({"exp": 1e300}),
            json!({"nbf": true}),
            json!({"aud": 5}),
            json!({"aud": [RS, 5]}),
        ] {
            assert!(
                matches!(run(bad.clone(), &rules()), Err(VerifyError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn cnf_jkt_binds_the_token() {
        const JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(run(json!({}), &rules()).unwrap().dpop_jkt, None);
        let bound = run(json!({"cnf": {"jkt": JKT}}), &rules()).unwrap();
        assert_eq!(bound.dpop_jkt.as_deref(), Some(JKT));
        // Null members are absent (as the reference example's optional fields).
        assert_eq!(run_with_nulls(&["cnf"], &rules()).unwrap().dpop_jkt, None);
        for bad in [
            json!({"cnf": JKT}),
            json!({"cnf": {"jkt": true}}),
            json!({"cnf": {"jkt": format!("{JKT}=")}}),
        ] {
            assert!(
                matches!(run(bad.clone(), &rules()), Err(VerifyError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn expiry_and_not_before_with_leeway() {
        let r = rules();
        assert!(run(json!({"exp": NOW - 30}), &r).is_ok());
        assert_eq!(
            run(json!({"exp": NOW - 60}), &r).unwrap_err(),
            VerifyError::Expired
        );
        let no_leeway = Rules { leeway: 0, ..r };
        assert_eq!(
            run(json!({"exp": NOW}), &no_leeway).unwrap_err(),
            VerifyError::Expired
        );
        assert!(run(json!({"exp": NOW + 1}), &no_leeway).is_ok());
        assert!(run(json!({"exp": (NOW + 1) as f64 + 0.5}), &no_leeway).is_ok());
        assert!(run(json!({"nbf": NOW + 30}), &rules()).is_ok());
        assert!(run(json!({"nbf": NOW + 30}), &no_leeway).is_err());
    }

    #[test]
    fn issuer_is_exact_when_configured() {
        assert!(run(json!({"iss": "https://as.example/"}), &rules()).is_err());
        assert!(run(json!({"iss": null}), &rules()).is_err());
        let any_issuer = Rules {
            issuer: None,
            ..rules()
        };
        assert!(run(json!({"iss": "https://elsewhere"}), &any_issuer).is_ok());
        assert!(run(json!({"iss": null}), &any_issuer).is_ok());
    }

    #[test]
    fn exact_audience() {
        let r = rules();
        assert!(run(json!({"aud": "https://rs.example"}), &r).is_err());
        assert!(run(json!({"aud": "https://rs.example/"}), &r).is_err());
        assert!(run(json!({"aud": "HTTPS://RS.example/mcp"}), &r).is_err());
        assert!(run(json!({"aud": "https://rs.example/mcp/"}), &r).is_err());
        assert!(run(json!({"aud": null}), &r).is_err());
        assert!(run(json!({"aud": []}), &r).is_err());
        let token = run(json!({"aud": ["other", RS]}), &r).unwrap();
        assert_eq!(token.resource.as_deref(), Some(RS));
    }

    #[test]
    fn hierarchical_audience_like_check_resource_allowed() {
        let r = hierarchical(RS);
        for ok in [
            RS,
            "https://rs.example",
            "https://rs.example/",
            "HTTPS://RS.EXAMPLE/mcp",
            "https://rs.example:443/mcp",
            "https://rs.example/mcp/",
        ] {
            let token = run(json!({ "aud": ok }), &r).unwrap_or_else(|e| panic!("{ok}: {e}"));
            // The resource is this server's identifier, so the layer's resource check agrees.
            assert_eq!(token.resource.as_deref(), Some(RS), "{ok}");
        }
        for bad in [
            "https://rs.example/mcp/tools",
            "https://rs.example/MCP",
            "https://rs.example/mc",
            "http://rs.example/mcp",
            "https://rs.example:8443/mcp",
            "https://other.example/mcp",
            "https://rs.example.evil/mcp",
            "https://user@rs.example/mcp",
            "https://rs.example/?tenant=a",
            "https://rs.example/#x",
            "not a url",
            "",
        ] {
            assert!(run(json!({ "aud": bad }), &r).is_err(), "{bad}");
        }
        let api = hierarchical("https://h.example/api/mcp");
        assert!(run(json!({"aud": "https://h.example/api"}), &api).is_ok());
        let api123 = hierarchical("https://h.example/api123");
        assert!(run(json!({"aud": "https://h.example/api"}), &api123).is_err());
        assert!(Audience::hierarchical("urn:example:rs".into()).is_none());
        assert!(Audience::hierarchical("https://u:p@h.example/".into()).is_none());
    }

    #[test]
    fn without_audiences_the_first_aud_is_the_resource() {
        let open = Rules {
            audiences: Vec::new(),
            ..rules()
        };
        assert_eq!(
            run(json!({"aud": "https://a"}), &open)
                .unwrap()
                .resource
                .as_deref(),
            Some("https://a")
        );
        assert_eq!(
            run(json!({"aud": ["https://b", "https://c"]}), &open)
                .unwrap()
                .resource
                .as_deref(),
            Some("https://b")
        );
        assert_eq!(run(json!({"aud": null}), &open).unwrap().resource, None);
        assert_eq!(run(json!({"aud": []}), &open).unwrap().resource, None);
        assert!(run(json!({"aud": 5}), &open).is_err());
    }
}
