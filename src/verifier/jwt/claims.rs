//! Checking a JWT's header `typ` and claims, and mapping them to an [`AccessToken`] (RFC 9068):
//! pure functions of the decoded JSON and the clock.

use serde_json::{Map, Value};

use crate::{AccessToken, VerifyError, resource::ResourceUrl, verifier::members};

/// What a token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<Audience>,
    pub(crate) leeway: i64,
    pub(crate) require_exp: bool,
    pub(crate) strict: bool,
    pub(crate) read_scp: bool,
    pub(crate) client_id_claims: Vec<String>,
    /// The bound on the decoded claims, checked by `compact::Jws::claims_json`.
    pub(crate) max_claims_size: usize,
}

/// An accepted audience: compared exactly, or (opt-in) as a URL with scheme/host case, default
/// port and one trailing slash aside.
#[derive(Debug, Clone)]
pub(crate) struct Audience {
    exact: String,
    normal: Option<ResourceUrl>,
}

impl Audience {
    pub(crate) fn new(audience: &str, normalise: bool) -> Self {
        Self {
            exact: audience.to_owned(),
            normal: normalise
                .then(|| ResourceUrl::parse("audience", audience).ok())
                .flatten(),
        }
    }

    fn matches(&self, candidate: &str) -> bool {
        candidate == self.exact
            || self
                .normal
                .as_ref()
                .is_some_and(|normal| normal.matches(Some(candidate)))
    }
}

/// `typ` (RFC 9068 §2.1, RFC 7515 §4.1.9: media types are case-insensitive, `application/`
/// optional). Lenient also takes no `typ` and `JWT`; strict takes only `at+jwt`.
pub(crate) fn check_typ(typ: Option<&str>, strict: bool) -> Result<(), VerifyError> {
    let media = typ.map(|typ| match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    });
    match media {
        Some(media) if media.eq_ignore_ascii_case("at+jwt") => Ok(()),
        None => strict_refuses(strict),
        Some(media) if media.eq_ignore_ascii_case("jwt") => strict_refuses(strict),
        _ => Err(VerifyError::invalid("JWT typ is not at+jwt")),
    }
}

fn strict_refuses(strict: bool) -> Result<(), VerifyError> {
    if strict {
        Err(VerifyError::invalid("JWT typ is not at+jwt"))
    } else {
        Ok(())
    }
}

fn invalid(reason: &'static str) -> VerifyError {
    VerifyError::invalid(reason)
}

fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<i64>, VerifyError> {
    members::numeric_date(claims, "JWT", name)
}

fn string_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, VerifyError> {
    members::string(claims, "JWT", name)
}

/// Checks `claims` against `rules` at `now`, and builds the [`AccessToken`] for `token`.
pub(crate) fn check(
    token: &str,
    claims: Map<String, Value>,
    rules: &Rules,
    now: i64,
) -> Result<AccessToken, VerifyError> {
    if rules.strict {
        for required in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
            if !claims.contains_key(required) {
                return Err(VerifyError::invalid(format!(
                    "JWT lacks the {required} claim"
                )));
            }
        }
    }

    let exp = numeric_date(&claims, "exp")?;
    let nbf = members::not_before(&claims, "JWT")?;
    numeric_date(&claims, "iat")?;
    match exp {
        // RFC 7519 §4.1.4: the current time MUST be before exp.
        Some(exp) if now >= exp.saturating_add(rules.leeway) => return Err(VerifyError::Expired),
        None if rules.require_exp => return Err(invalid("JWT lacks exp")),
        _ => {}
    }
    // RFC 7519 §4.1.5: the current time MUST be after or equal to nbf.
    if nbf.is_some_and(|nbf| now < nbf.saturating_sub(rules.leeway)) {
        return Err(invalid("JWT not valid yet (nbf)"));
    }

    let iss = string_claim(&claims, "iss")?;
    if let Some(expected) = &rules.issuer
        && iss != Some(expected.as_str())
    {
        return Err(invalid("JWT iss is not the configured issuer"));
    }

    let resource = match_audience(&claims, &rules.audiences)?;
    let subject = string_claim(&claims, "sub")?.map(str::to_owned);
    if rules.strict {
        string_claim(&claims, "jti")?;
    }

    // The first client claim present names the client; a malformed one is not skipped for the
    // next (RFC 9068 §2.2: `client_id` is a string).
    let client_id = match rules
        .client_id_claims
        .iter()
        .find_map(|name| claims.get(name))
    {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => return Err(invalid("JWT client_id is not a non-empty string")),
        None => return Err(invalid("JWT names no client (client_id, azp)")),
    };

    let scopes = scopes(&claims, rules)?;
    // RFC 9449 §6.1: the key the token is bound to.
    let dpop_jkt = crate::token::dpop_confirmation(&claims, "JWT")?;

    let mut access = AccessToken::new(token, client_id, scopes);
    access.expires_at = exp;
    access.resource = Some(resource);
    access.subject = subject;
    access.dpop_jkt = dpop_jkt;
    access.claims = Some(claims);
    Ok(access)
}

/// The configured audience the token's `aud` (a string or an array, RFC 7519 §4.1.3) contains,
/// as the token wrote it.
fn match_audience(
    claims: &Map<String, Value>,
    accepted: &[Audience],
) -> Result<String, VerifyError> {
    let fits = |aud: &str| accepted.iter().any(|accepted| accepted.matches(aud));
    match claims.get("aud") {
        Some(Value::String(aud)) if fits(aud) => Ok(aud.clone()),
        Some(Value::Array(auds)) => {
            if auds.iter().any(|aud| !aud.is_string()) {
                return Err(invalid("JWT aud holds a non-string"));
            }
            auds.iter()
                .filter_map(Value::as_str)
                .find(|aud| fits(aud))
                .map(str::to_owned)
                .ok_or_else(|| invalid("JWT aud does not name this resource"))
        }
        Some(Value::String(_)) => Err(invalid("JWT aud does not name this resource")),
        Some(_) => Err(invalid("JWT aud is not a string or array")),
        None => Err(invalid("JWT lacks aud")),
    }
}

/// `scope` as a space-separated string (RFC 9068 §2.2.3, RFC 8693 §4.2); an array only in lenient
/// mode; `scp` (array or string) when enabled and `scope` is absent.
fn scopes(claims: &Map<String, Value>, rules: &Rules) -> Result<Vec<String>, VerifyError> {
    let from = |value: &Value, arrays: bool| -> Result<Vec<String>, VerifyError> {
        match value {
            Value::String(list) => Ok(list.split_whitespace().map(str::to_owned).collect()),
            Value::Array(items) if arrays => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid("JWT scope array holds a non-string"))
                })
                .collect(),
            _ => Err(invalid("JWT scope is not a space-separated string")),
        }
    };
    match (claims.get("scope"), claims.get("scp")) {
        (Some(scope), _) => from(scope, !rules.strict),
        (None, Some(scp)) if rules.read_scp => from(scp, true),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn rules() -> Rules {
        Rules {
            issuer: Some("https://as.example".into()),
            audiences: vec![Audience::new("https://rs.example/mcp", false)],
            leeway: 60,
            require_exp: true,
            strict: false,
            read_scp: false,
            client_id_claims: vec!["client_id".into(), "azp".into()],
            max_claims_size: crate::DEFAULT_MAX_JWT_CLAIMS_SIZE,
        }
    }

    fn claims(extra: Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": "https://as.example", "aud": "https://rs.example/mcp", "sub": "alice",
            "client_id": "app", "scope": "a b", "exp": NOW + 300, "iat": NOW, "jti": "1",
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
        check("tok", claims(extra), rules, NOW)
    }

    #[test]
    fn maps_rfc_9068_claims() {
        let token = run(json!({}), &rules()).unwrap();
        assert_eq!(token.client_id, "app");
        assert_eq!(token.scopes, ["a", "b"]);
        assert_eq!(token.subject.as_deref(), Some("alice"));
        assert_eq!(token.expires_at, Some(NOW + 300));
        assert_eq!(token.resource.as_deref(), Some("https://rs.example/mcp"));
        assert_eq!(token.issuer().as_deref(), Some("https://as.example"));
        let azp = run(json!({"client_id": null, "azp": "other"}), &rules()).unwrap();
        assert_eq!(azp.client_id, "other");
        assert!(run(json!({"client_id": null}), &rules()).is_err());
        assert!(run(json!({"client_id": 5, "azp": "other"}), &rules()).is_err());
        assert!(run(json!({"client_id": "", "azp": "other"}), &rules()).is_err());
    }

    #[test]
    fn cnf_jkt_binds_the_token() {
        const JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(run(json!({}), &rules()).unwrap().dpop_jkt, None);
        let bound = run(json!({"cnf": {"jkt": JKT}}), &rules()).unwrap();
        assert_eq!(bound.dpop_jkt.as_deref(), Some(JKT));
        assert_eq!(bound.claims.unwrap()["cnf"]["jkt"], JKT);
        // Another confirmation method (RFC 8705) binds to no DPoP key.
        let mtls = run(
            json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}),
            &rules(),
        );
        assert_eq!(mtls.unwrap().dpop_jkt, None);
        for bad in [
            json!({"cnf": JKT}),
            json!({"cnf": {"jkt": 1}}),
            json!({"cnf": {"jkt": &JKT[..42]}}),
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
        let strict_clock = Rules {
            leeway: 0,
            ..rules()
        };
        assert_eq!(
            run(json!({"exp": NOW}), &strict_clock).unwrap_err(),
            VerifyError::Expired
        );
        assert!(run(json!({"exp": NOW + 1}), &strict_clock).is_ok());
        assert!(run(json!({"exp": null}), &r).is_err());
        assert!(run(json!({"exp": "1900000000"}), &r).is_err());
        assert!(run(json!({"exp": 1e300}), &r).is_err());
        assert!(run(json!({"nbf": NOW + 30}), &r).is_ok());
        assert!(run(json!({"nbf": NOW + 30}), &strict_clock).is_err());
        assert!(run(json!({"nbf": NOW + 120}), &r).is_err());
    }

    #[test]
    fn issuer_and_audience() {
        let r = rules();
        assert!(run(json!({"iss": "https://as.example/"}), &r).is_err());
        assert!(run(json!({"iss": null}), &r).is_err());
        assert!(run(json!({"aud": "https://rs.example"}), &r).is_err());
        assert!(run(json!({"aud": null}), &r).is_err());
        assert!(run(json!({"aud": 5}), &r).is_err());
        let token = run(json!({"aud": ["other", "https://rs.example/mcp"]}), &r).unwrap();
        assert_eq!(token.resource.as_deref(), Some("https://rs.example/mcp"));
        assert!(run(json!({"aud": "HTTPS://RS.example/mcp/"}), &r).is_err());
        let normalising = Rules {
            audiences: vec![Audience::new("https://rs.example/mcp", true)],
            ..rules()
        };
        let token = run(json!({"aud": "HTTPS://RS.example/mcp/"}), &normalising).unwrap();
        assert_eq!(token.resource.as_deref(), Some("HTTPS://RS.example/mcp/"));
        assert!(run(json!({"aud": "https://rs.example/MCP"}), &normalising).is_err());
    }

    #[test]
    fn strict_mode_and_scope_shapes() {
        let strict = Rules {
            strict: true,
            ..rules()
        };
        assert!(run(json!({}), &strict).is_ok());
        for missing in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
            assert!(run(json!({ missing: null }), &strict).is_err(), "{missing}");
        }
        assert!(run(json!({"scope": ["a", "b"]}), &strict).is_err());
        assert_eq!(
            run(json!({"scope": ["a", "b"]}), &rules()).unwrap().scopes,
            ["a", "b"]
        );
        let scp = Rules {
            read_scp: true,
            ..rules()
        };
        assert_eq!(
            run(json!({"scope": null, "scp": ["x"]}), &scp)
                .unwrap()
                .scopes,
            ["x"]
        );
        assert!(
            run(json!({"scope": null, "scp": ["x"]}), &rules())
                .unwrap()
                .scopes
                .is_empty()
        );
        assert!(run(json!({"scope": 5}), &rules()).is_err());
    }

    #[test]
    fn typ_rules() {
        for ok in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/AT+JWT",
        ] {
            assert!(check_typ(Some(ok), true).is_ok(), "{ok}");
            assert!(check_typ(Some(ok), false).is_ok(), "{ok}");
        }
        for lenient_only in [None, Some("JWT"), Some("jwt")] {
            assert!(check_typ(lenient_only, false).is_ok());
            assert!(check_typ(lenient_only, true).is_err());
        }
        for bad in ["id+jwt", "logout+jwt", "at+jwt2", "application/jwt+at", ""] {
            assert!(check_typ(Some(bad), false).is_err(), "{bad}");
        }
    }
}
