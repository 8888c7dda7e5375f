#![cfg(all(feature = "testing", feature = "cache"))]
//! Secrecy of tokens: every success and failure path, with `tracing` captured at TRACE for every
//! target (the crate's, reqwest's, hyper's, moka's; `log` records included), and the raw token
//! looked for everywhere it could escape:
//!
//! - the captured logs;
//! - `Debug` (`{:?}` and `{:#?}`) and `Display` of every public type the paths produce:
//!   `AccessToken`, `AuthenticatedUser`, `Rejection`, `BearerAuth`, `StaticVerifier`,
//!   `JwtVerifier`, `MultiIssuerVerifier`, `IntrospectionVerifier` (and its builder),
//!   `CachedVerifier`, `ConfigError`, and every `VerifyError` the verifiers return;
//! - response headers and bodies, in both profiles.
//!
//! The paths: `StaticVerifier` (valid, unknown, expired, wrong resource, missing scope, a
//! mid-handler scope check), a back end that is down; `JwtVerifier` on the loopback `TestIssuer`
//! (valid, rotated, expired, wrong audience, tampered, unknown `kid`, `alg: none`, claims over
//! the bounds; JWKS down at start, answering 500 or garbage, then back); `IntrospectionVerifier` on
//! its `/introspect` (active, inactive, revoked, expired, our credentials refused, 500, garbage,
//! down, slower than the timeout) with its client secret as a second secret; `CachedVerifier`
//! (miss, hit, cached refusal, a hit while the endpoint is down, invalidation); malformed headers
//! of every kind, tokens in the query string and cookies.

mod common;
mod log_capture;

use std::{
    fmt::{Debug, Display},
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Request, header},
    routing::get,
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, CachedVerifier, ConfigError, IntrospectionVerifier,
    JwtVerifier, MultiIssuerVerifier, Profile, Rejection, RequireScopesLayer, StaticVerifier,
    TokenVerifier, VerifyError,
    jsonwebtoken::{Algorithm, Header},
    testing::{Endpoint, Fault, TestIssuer},
    verifier_fn,
};
use common::Reply;
use log_capture::LogBuffer;
use serde_json::{Value, json};
use tracing_subscriber::util::SubscriberInitExt;

const RESOURCE: &str = "https://api.example/mcp";
const METADATA: &str = "https://api.example/.well-known/oauth-protected-resource/mcp";
const PROFILES: [Profile; 2] = [Profile::PythonSdk, Profile::Spec];

/// The process-wide capture: every thread, every target, TRACE, `log` records too.
fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = LogBuffer::default();
        logs.subscriber()
            .try_init()
            .expect("the only global subscriber of this test binary");
        logs
    })
}

/// The secrets of one test, and every place they must not appear.
struct Probe {
    secrets: Vec<String>,
    checked: usize,
}

impl Probe {
    fn new() -> Self {
        logs();
        Self {
            secrets: Vec::new(),
            checked: 0,
        }
    }

    /// A fresh opaque token, unique in the process.
    fn token(&mut self, what: &str) -> String {
        static SERIAL: AtomicUsize = AtomicUsize::new(0);
        let token = format!(
            "s3cr3t-{what}-{}-Zq9xW",
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        self.secret(&token);
        token
    }

    /// Registers `secret`; a JWT also registers its payload and signature segments, each of
    /// which only that token holds.
    fn secret(&mut self, secret: &str) {
        self.secrets.push(secret.to_owned());
        let segments: Vec<&str> = secret.split('.').collect();
        if segments.len() == 3 {
            for segment in &segments[1..] {
                if segment.len() >= 16 {
                    self.secrets.push((*segment).to_owned());
                }
            }
        }
    }

    fn assert_clean(&self, place: &str, text: &str) {
        for secret in &self.secrets {
            for form in [secret.clone(), secret.escape_debug().to_string()] {
                assert!(
                    !text.contains(&form),
                    "{place} shows a secret ({} bytes, starting {:?}):\n{}",
                    secret.len(),
                    &secret[..secret.len().min(24)],
                    &text[..text.len().min(2000)]
                );
            }
        }
    }

    /// `Debug`, plain and pretty.
    fn debug(&mut self, what: &str, value: &impl Debug) {
        self.checked += 1;
        self.assert_clean(what, &format!("{value:?}\n{value:#?}"));
    }

    /// `Debug` and `Display`.
    fn shown(&mut self, what: &str, value: &(impl Debug + Display)) {
        self.debug(what, value);
        self.assert_clean(what, &value.to_string());
    }

    /// The outcome of a verifier called directly, in every form.
    fn outcome(&mut self, what: &str, outcome: &Result<AccessToken, VerifyError>) {
        match outcome {
            Ok(token) => self.debug(what, token),
            Err(error) => {
                self.shown(what, error);
                self.assert_clean(what, &format!("{:?}", std::error::Error::source(error)));
            }
        }
    }

    /// Sends `request` through `app`; checks every header and the body.
    async fn send(&mut self, app: &Router, request: Request<Body>) -> Reply {
        let context = format!("{} {:?}", request.uri(), request.headers().keys());
        let reply = common::send(app, request).await;
        for (name, value) in &reply.headers {
            self.assert_clean(
                &format!("{context}: header {name}"),
                &String::from_utf8_lossy(value.as_bytes()),
            );
        }
        self.assert_clean(
            &format!("{context}: body ({})", reply.status),
            &String::from_utf8_lossy(&reply.body),
        );
        self.checked += 1;
        reply
    }

    /// Every hostile presentation of `token` to every route of `app`; returns the statuses of
    /// the plain `Authorization: Bearer <token>` on `/show`, `/mcp`, `/write`.
    async fn present(&mut self, app: &Router, token: &str) -> [u16; 3] {
        let mut statuses = [0; 3];
        for (i, path) in ["/show", "/mcp", "/write"].into_iter().enumerate() {
            statuses[i] = self
                .send(
                    app,
                    request(path, &[format!("Bearer {token}").into_bytes()]),
                )
                .await
                .status
                .as_u16();
            for values in hostile(token) {
                self.send(app, request(path, &values)).await;
            }
            let query = Request::get(format!("{path}?access_token={token}"))
                .header(header::COOKIE, format!("access_token={token}"))
                .body(Body::empty())
                .unwrap();
            self.send(app, query).await;
        }
        statuses
    }

    /// The logs hold none of the secrets. `expected` are lines the paths must have logged: they
    /// show the capture saw those paths, so its being clean means something.
    fn finish(self, expected: &[&str]) {
        let text = logs().text();
        for line in expected {
            assert!(text.contains(line), "{line:?} was not captured");
        }
        self.assert_clean("the logs", &text);
        assert!(self.checked > 0);
    }
}

/// Every malformed or misplaced form of `token` in the `Authorization` header.
fn hostile(token: &str) -> Vec<Vec<Vec<u8>>> {
    let one = |value: String| vec![value.into_bytes()];
    let mut latin1 = format!("Bearer {token}").into_bytes();
    latin1.push(0xE9);
    vec![
        one(format!("bearer {token}")),
        one(format!("Bearer\t{token}")),
        one(format!("Bearer  {token}")),
        one(format!("Bearer {token} {token}")),
        one(format!("Bearer {token},x")),
        one(format!("Bearer \"{token}\"")),
        one(format!("Bearer token=\"{token}\"")),
        one(format!("Bearer {token}$")),
        one(format!("Basic {token}")),
        one(format!("DPoP {token}")),
        one(token.to_owned()),
        one(format!(
            "Bearer {}",
            token.repeat(8 * 1024 / token.len() + 1)
        )),
        vec![latin1],
        vec![
            format!("Bearer {token}").into_bytes(),
            format!("Bearer {token}").into_bytes(),
        ],
        vec![
            b"Bearer other".to_vec(),
            format!("Bearer {token}").into_bytes(),
        ],
    ]
}

fn request(path: &str, values: &[Vec<u8>]) -> Request<Body> {
    let mut request = Request::get(path).body(Body::empty()).unwrap();
    for value in values {
        request.headers_mut().append(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    request
}

/// Whatever the extractor gave, in every `Debug`/`Display` form, as the body: the probe then
/// checks it like any response.
async fn show(result: Result<AuthenticatedUser, Rejection>) -> String {
    match result {
        Ok(user) => {
            let refused = user.require_scopes(["admin:everything"]).unwrap_err();
            format!(
                "{user:?} {user:#?} {:?} {:#?} {:?} {refused:?} {refused:#?} {refused} {:?}",
                user.access_token(),
                user.shared_access_token(),
                user.authorization_context(),
                user.claims(),
            )
        }
        Err(rejection) => format!("{rejection:?} {rejection:#?} {rejection}"),
    }
}

/// `/show` formats the outcome; `/mcp` needs `mcp:read`; `/write` needs `mcp:write`.
fn app(auth: BearerAuth) -> Router {
    Router::new()
        .route("/show", get(show))
        .route(
            "/mcp",
            get(|| async { "ok" }).route_layer(RequireScopesLayer::new(["mcp:read"]).unwrap()),
        )
        .route(
            "/write",
            get(|| async { "ok" }).route_layer(RequireScopesLayer::new(["mcp:write"]).unwrap()),
        )
        .layer(auth)
}

fn auth(verifier: impl TokenVerifier, profile: Profile) -> BearerAuth {
    BearerAuth::new(verifier)
        .profile(profile)
        .resource_metadata_url(METADATA)
        .unwrap()
        .resource_server_url(RESOURCE)
        .unwrap()
        .realm("secrecy")
        .unwrap()
}

fn now() -> i64 {
    common::now()
}

#[tokio::test]
async fn static_verifier_and_unavailable_back_end() {
    let mut probe = Probe::new();
    let valid = probe.token("valid");
    let no_scope = probe.token("no-scope");
    let expired = probe.token("expired");
    let elsewhere = probe.token("elsewhere");
    let unknown = probe.token("unknown");
    let down = probe.token("down");
    let verifier = StaticVerifier::new([
        AccessToken::new(&valid, "client-a", ["mcp:read"])
            .with_resource(RESOURCE)
            .with_subject("alice")
            .with_claim("iss", "https://as.example"),
        AccessToken::new(&no_scope, "client-b", Vec::<String>::new()).with_resource(RESOURCE),
        AccessToken::new(&expired, "client-c", ["mcp:read"])
            .with_resource(RESOURCE)
            .with_expires_at(now() - 3600),
        AccessToken::new(&elsewhere, "client-d", ["mcp:read"])
            .with_resource("https://other.example/mcp"),
    ]);
    probe.debug("StaticVerifier", &verifier);
    for token in [&valid, &no_scope, &expired, &elsewhere, &unknown] {
        let outcome = verifier.verify(token).await;
        probe.outcome("StaticVerifier::verify", &outcome);
    }

    let backend = verifier.clone();
    let failing = down.clone();
    let with_outage = verifier_fn(move |token: String| {
        let (backend, failing) = (backend.clone(), failing.clone());
        async move {
            if token == failing {
                Err(VerifyError::unavailable("token store unreachable"))
            } else {
                backend.verify(&token).await
            }
        }
    });
    probe.debug("FnVerifier", &with_outage);
    probe.outcome("FnVerifier::verify", &with_outage.verify(&down).await);

    for profile in PROFILES {
        let auth = auth(with_outage.clone(), profile);
        probe.debug("BearerAuth", &auth);
        let app = app(auth);
        assert_eq!(probe.present(&app, &valid).await, [200, 200, 403]);
        assert_eq!(probe.present(&app, &no_scope).await, [200, 403, 403]);
        for refused in [&expired, &elsewhere, &unknown] {
            assert_eq!(probe.present(&app, refused).await, [200, 401, 401]);
        }
        assert_eq!(probe.present(&app, &down).await, [200, 503, 503]);
        probe.send(&app, request("/mcp", &[])).await;
    }
    probe.finish(&[
        "bearer token rejected by the verifier",
        "bearer token verifier unavailable",
        "bearer credentials malformed",
        "bearer token over the length cap",
        "bearer token is not a b64token",
        "bearer token expired",
        "bearer token issued for another resource",
    ]);
}

/// A JWT verifier on `issuer`'s JWK Set, quick to notice failures and recoveries.
fn jwt_verifier(issuer: &TestIssuer) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .jwks_url(issuer.jwks_url())
        .unwrap()
        .jwks_timeout(Duration::from_millis(300))
        .jwks_cooldown(Duration::ZERO)
        .build()
        .unwrap()
}

#[tokio::test]
async fn jwt_verifier_on_the_loopback_issuer() {
    let mut probe = Probe::new();
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = jwt_verifier(&issuer);
    probe.debug("JwtVerifier before use", &verifier);
    let mint = |probe: &mut Probe, claims: serde_json::Value| {
        let token = issuer.mint(claims);
        probe.secret(&token);
        token
    };

    // The JWK Set is down, then failing, then garbage: 503 each time, and then it recovers.
    let valid = mint(&mut probe, issuer.claims_for(RESOURCE));
    for fault in [Fault::Down, Fault::Status(500), Fault::InvalidJson] {
        issuer.set_endpoint_fault(Endpoint::Jwks, fault);
        let outcome = verifier.verify(&valid).await;
        assert!(
            matches!(outcome, Err(VerifyError::Unavailable(_))),
            "{fault:?}: {outcome:?}"
        );
        probe.outcome("JwtVerifier::verify, JWKS failing", &outcome);
        for profile in PROFILES {
            let app = app(auth(verifier.clone(), profile));
            let reply = probe
                .send(
                    &app,
                    request("/mcp", &[format!("Bearer {valid}").into_bytes()]),
                )
                .await;
            assert_eq!(reply.status, 503, "{fault:?}");
        }
    }
    issuer.set_endpoint_fault(Endpoint::Jwks, Fault::None);

    let mut expired = issuer.claims_for(RESOURCE);
    expired["exp"] = (now() - 3600).into();
    let mut elsewhere = issuer.claims_for("https://other.example/mcp");
    elsewhere["scope"] = "mcp:read".into();
    let mut huge = issuer.claims_for(RESOURCE);
    huge["pad"] = "p".repeat(20 * 1024).into();
    let mut deep = issuer.claims_for(RESOURCE);
    deep["deep"] = serde_json::from_str(&format!("{}{}", "[".repeat(40), "]".repeat(40))).unwrap();
    let tampered = {
        let token = mint(&mut probe, issuer.claims_for(RESOURCE));
        let (message, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{message}.{}", "A".repeat(342));
        probe.secret(&forged);
        forged
    };
    let unknown_kid = {
        let mut header = Header::new(issuer.algorithm());
        header.kid = Some("no-such-key".into());
        let token = issuer
            .mint_with_header(header, issuer.claims_for(RESOURCE))
            .unwrap();
        probe.secret(&token);
        token
    };
    let alg_none = {
        let token = mint(&mut probe, issuer.claims_for(RESOURCE));
        let payload = token.split('.').nth(1).unwrap().to_owned();
        let none = format!("eyJhbGciOiJub25lIn0.{payload}.");
        probe.secret(&none);
        none
    };
    let refused = [
        mint(&mut probe, expired),
        mint(&mut probe, elsewhere),
        mint(&mut probe, huge),
        mint(&mut probe, deep),
        tampered,
        unknown_kid,
        alg_none,
    ];

    for profile in PROFILES {
        let app = app(auth(verifier.clone(), profile));
        assert_eq!(probe.present(&app, &valid).await, [200, 200, 403]);
        for token in &refused {
            let statuses = probe.present(&app, token).await;
            // The 20 KiB one is over the layer's 8 KiB cap; the others reach the verifier.
            assert_eq!(statuses, [200, 401, 401]);
        }
    }
    for token in refused.iter().chain([&valid]) {
        let outcome = verifier.verify(token).await;
        probe.outcome("JwtVerifier::verify", &outcome);
    }

    // A rotated key: the unknown kid makes one refetch, then the new token passes.
    issuer.rotate();
    let rotated = mint(&mut probe, issuer.claims_for(RESOURCE));
    let app = app(auth(verifier.clone(), Profile::Spec));
    assert_eq!(probe.present(&app, &rotated).await, [200, 200, 403]);

    probe.debug("JwtVerifier after use", &verifier);
    let multi = MultiIssuerVerifier::new([verifier.clone()]).unwrap();
    probe.debug("MultiIssuerVerifier", &multi);
    probe.outcome("MultiIssuerVerifier::verify", &multi.verify(&rotated).await);
    probe.outcome(
        "MultiIssuerVerifier::verify",
        &multi.verify(&refused[0]).await,
    );
    probe.finish(&[
        "JWKS fetch failed",
        "JWKS fetched",
        "bearer token verifier unavailable",
        "bearer token rejected by the verifier",
        "hyper_util::client",
    ]);
}

const CLIENT_ID: &str = "secrecy-rs";

/// An introspection verifier for `issuer`, authenticated with `secret`, with a short timeout.
fn introspection(issuer: &TestIssuer, secret: &str) -> IntrospectionVerifier {
    IntrospectionVerifier::builder(issuer.introspection_url())
        .unwrap()
        .client_secret_basic(CLIENT_ID, secret)
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

#[tokio::test]
async fn introspection_and_cache_on_the_loopback_issuer() {
    let mut probe = Probe::new();
    let issuer = TestIssuer::start().await.unwrap();
    let client_secret = probe.token("client-secret");
    issuer.set_introspection_client(CLIENT_ID, &client_secret);

    let active = probe.token("active");
    let revoked = probe.token("revoked");
    let expired = probe.token("expired");
    let inactive = probe.token("inactive");
    issuer.register_token(&active, issuer.introspection_for(RESOURCE));
    issuer.register_token(&revoked, issuer.introspection_for(RESOURCE));
    let mut old = issuer.introspection_for(RESOURCE);
    old["exp"] = (now() - 3600).into();
    issuer.register_token(&expired, old);
    assert!(issuer.revoke_token(&revoked));

    let verifier = introspection(&issuer, &client_secret);
    probe.debug("IntrospectionVerifier", &verifier);
    probe.debug(
        "IntrospectionVerifierBuilder",
        &IntrospectionVerifier::builder(issuer.introspection_url())
            .unwrap()
            .client_secret_post(CLIENT_ID, &client_secret)
            .bearer_credential(&active),
    );
    let cached = CachedVerifier::builder(verifier.clone())
        .negative_ttl(Some(Duration::from_secs(30)))
        .build();

    for profile in PROFILES {
        for (name, app) in [
            ("introspection", app(auth(verifier.clone(), profile))),
            ("cached", app(auth(cached.clone(), profile))),
        ] {
            assert_eq!(
                probe.present(&app, &active).await,
                [200, 200, 403],
                "{name}"
            );
            for token in [&revoked, &expired, &inactive] {
                assert_eq!(probe.present(&app, token).await, [200, 401, 401], "{name}");
            }
        }
    }
    for token in [&active, &revoked, &expired, &inactive] {
        probe.outcome(
            "IntrospectionVerifier::verify",
            &verifier.verify(token).await,
        );
        probe.outcome("CachedVerifier::verify", &cached.verify(token).await);
    }
    probe.debug("CachedVerifier with entries", &cached);

    // The endpoint failing: 503 without the cache, the cached answer with it.
    for fault in [
        Fault::Status(500),
        Fault::InvalidJson,
        Fault::Down,
        Fault::Slow(Duration::from_secs(2)),
    ] {
        issuer.set_endpoint_fault(Endpoint::Introspection, fault);
        let outcome = verifier.verify(&active).await;
        assert!(
            matches!(outcome, Err(VerifyError::Unavailable(_))),
            "{fault:?}: {outcome:?}"
        );
        probe.outcome("IntrospectionVerifier::verify, endpoint failing", &outcome);
        let direct = app(auth(verifier.clone(), Profile::Spec));
        let reply = probe
            .send(
                &direct,
                request("/mcp", &[format!("Bearer {active}").into_bytes()]),
            )
            .await;
        assert_eq!(reply.status, 503, "{fault:?}");
        let through_cache = app(auth(cached.clone(), Profile::Spec));
        let reply = probe
            .send(
                &through_cache,
                request("/mcp", &[format!("Bearer {active}").into_bytes()]),
            )
            .await;
        assert_eq!(reply.status, 200, "{fault:?} with a cached answer");
    }
    issuer.set_endpoint_fault(Endpoint::Introspection, Fault::None);

    // Our own credentials refused by the endpoint: 503, and neither secret shows.
    let wrong_secret = probe.token("wrong-client-secret");
    let misconfigured = introspection(&issuer, &wrong_secret);
    probe.debug("IntrospectionVerifier, wrong secret", &misconfigured);
    let outcome = misconfigured.verify(&active).await;
    assert!(
        matches!(outcome, Err(VerifyError::Unavailable(_))),
        "{outcome:?}"
    );
    probe.outcome(
        "IntrospectionVerifier::verify, credentials refused",
        &outcome,
    );
    for profile in PROFILES {
        assert_eq!(
            probe
                .present(&app(auth(misconfigured.clone(), profile)), &active)
                .await,
            [200, 503, 503]
        );
    }

    cached.invalidate(&active).await;
    cached.invalidate_all();
    probe.debug("CachedVerifier after invalidation", &cached);
    probe.finish(&[
        "token introspection failed",
        "introspected token refused",
        "reqwest::",
    ]);
}

/// A loopback endpoint answering every `POST /introspect` with `status` and `body` verbatim:
/// what the issuer's endpoint cannot send (duplicate members, broken JSON, error statuses with
/// a body).
async fn raw_endpoint(status: u16, body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    let app = Router::new().route(
        "/introspect",
        axum::routing::post(move || async move {
            (status, [(header::CONTENT_TYPE, "application/json")], body)
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// An introspection answer for a token, from it and an active answer.
type Shape = fn(&str, Value) -> Value;
/// A raw answer body for a token.
type RawBody = fn(&str) -> String;

/// Introspection answers that repeat the token where serde_json's error messages, or ours, could
/// quote it: a JSON string (serde_json's "invalid type: string \"…\""), members of the wrong
/// type, broken JSON, duplicate members, error statuses with the token in `error`. Each is
/// refused (401 or 503) and logged, and the token shows nowhere; nor does the client secret in
/// a failed `warm_up`.
#[tokio::test]
async fn introspection_answers_that_repeat_the_token() {
    let mut probe = Probe::new();
    let issuer = TestIssuer::start().await.unwrap();
    let client_secret = probe.token("echo-client-secret");
    issuer.set_introspection_client(CLIENT_ID, &client_secret);
    let verifier = introspection(&issuer, &client_secret);

    let shapes: [(&str, Shape); 8] = [
        ("json-string", |token, _| json!(token)),
        ("json-array", |token, _| json!([token])),
        ("active-string", |token, _| json!({ "active": token })),
        ("aud", |token, mut active| {
            active["aud"] = json!(token);
            active
        }),
        ("iss", |token, mut active| {
            active["iss"] = json!(token);
            active
        }),
        ("exp", |token, mut active| {
            active["exp"] = json!(token);
            active
        }),
        ("scope-array", |token, mut active| {
            active["scope"] = json!([token]);
            active
        }),
        ("aud-object", |token, mut active| {
            active["aud"] = json!({ token: token });
            active
        }),
    ];
    for (what, shape) in shapes {
        let token = probe.token(what);
        issuer.register_token(&token, shape(&token, issuer.introspection_for(RESOURCE)));
        let outcome = verifier.verify(&token).await;
        assert!(outcome.is_err(), "{what}: {outcome:?}");
        probe.outcome(&format!("IntrospectionVerifier::verify, {what}"), &outcome);
        for profile in PROFILES {
            let app = app(auth(verifier.clone(), profile));
            for path in ["/show", "/mcp"] {
                let request = request(path, &[format!("Bearer {token}").into_bytes()]);
                probe.send(&app, request).await;
            }
        }
    }

    // Bodies the issuer cannot send, from a raw loopback endpoint.
    let raw: [(&str, u16, RawBody); 9] = [
        ("200-string", 200, |token| format!("{token:?}")),
        ("200-duplicate", 200, |token| {
            format!(r#"{{"active":false,"active":{token:?}}}"#)
        }),
        ("200-syntax", 200, |token| format!("{{{token:?}}}")),
        ("200-truncated", 200, |token| {
            format!(r#"{{"active":true,"aud":{token:?}"#)
        }),
        ("200-name", 200, |token| {
            format!(r#"{{{token:?}:1,"active":1}}"#)
        }),
        ("401-error", 401, |token| {
            format!(r#"{{"error":{token:?}}}"#)
        }),
        ("401-description", 401, |token| {
            format!(r#"{{"error":"invalid_client","error_description":{token:?}}}"#)
        }),
        ("401-inactive", 401, |token| {
            format!(r#"{{"active":false,"sub":{token:?}}}"#)
        }),
        ("400-string", 400, |token| format!("{token:?}")),
    ];
    for (what, status, body) in raw {
        let token = probe.token(what);
        let verifier = IntrospectionVerifier::builder(raw_endpoint(status, body(&token)).await)
            .unwrap()
            .no_client_authentication()
            .audience(RESOURCE)
            .build()
            .unwrap();
        let outcome = verifier.verify(&token).await;
        assert!(outcome.is_err(), "{what}: {outcome:?}");
        probe.outcome(&format!("IntrospectionVerifier::verify, {what}"), &outcome);
        let warm_up = verifier.warm_up().await;
        if let Err(error) = &warm_up {
            probe.shown(&format!("IntrospectionVerifier::warm_up, {what}"), error);
        }
        for profile in PROFILES {
            let app = app(auth(verifier.clone(), profile));
            let request = request("/mcp", &[format!("Bearer {token}").into_bytes()]);
            probe.send(&app, request).await;
        }
    }

    // Our credentials refused at start-up: the reason names neither secret.
    let wrong_secret = probe.token("echo-wrong-secret");
    let warm_up = introspection(&issuer, &wrong_secret).warm_up().await;
    assert!(
        matches!(warm_up, Err(VerifyError::Unavailable(_))),
        "{warm_up:?}"
    );
    probe.shown(
        "IntrospectionVerifier::warm_up, credentials refused",
        &warm_up.unwrap_err(),
    );
    assert_eq!(verifier.warm_up().await, Ok(()));

    probe.finish(&[
        "sent a body that is not a JSON object (data error at line 1",
        "sent a body that is not a JSON object (syntax error at line 1",
        "sent a JSON object with a duplicated member name",
        "answered 401 Unauthorized: it refused",
        "introspection: active is not a boolean",
        "introspection endpoint not ready",
        "bearer token verifier unavailable",
    ]);
}

#[tokio::test]
async fn configuration_errors_never_show_a_credential() {
    let mut probe = Probe::new();
    let credential = probe.token("credential");
    let errors: Vec<ConfigError> = vec![
        IntrospectionVerifier::builder("https://as.example/introspect")
            .unwrap()
            .bearer_credential(format!("{credential}\n"))
            .build()
            .unwrap_err(),
        IntrospectionVerifier::builder("https://as.example/introspect")
            .unwrap()
            .bearer_credential(format!("{credential} {credential}"))
            .build()
            .unwrap_err(),
        IntrospectionVerifier::builder("https://as.example/introspect")
            .unwrap()
            .build()
            .unwrap_err(),
        JwtVerifier::builder()
            .audience(RESOURCE)
            .build()
            .unwrap_err(),
        JwtVerifier::builder()
            .hmac_secret("k", credential.repeat(2).as_bytes())
            .unwrap()
            .build()
            .unwrap_err(),
        JwtVerifier::builder()
            .hmac_secret("k", &credential.as_bytes()[..16])
            .unwrap_err(),
        JwtVerifier::builder()
            .algorithms([Algorithm::RS256])
            .hmac_secret("k", credential.repeat(2).as_bytes())
            .unwrap()
            .audience(RESOURCE)
            .build()
            .unwrap_err(),
    ];
    for error in &errors {
        probe.shown("ConfigError", error);
    }
    probe.finish(&[]);
}

/// DPoP on the layer: the bound token and its proofs, valid, replayed, tampered, from another
/// key, downgraded to `Bearer`, without the nonce, with a store that is down.
#[cfg(feature = "dpop")]
#[tokio::test]
async fn dpop_paths() {
    use axum_bearer::{
        dpop::{Dpop, DpopNonces, DpopVerifier},
        testing::DpopProver,
    };

    let mut probe = Probe::new();
    let bound = probe.token("bound");
    let plain = probe.token("plain");
    let prover = DpopProver::new(Algorithm::ES256).unwrap();
    let thief = DpopProver::with_key(Algorithm::ES256, 1).unwrap();
    let verifier = StaticVerifier::new([
        AccessToken::new(&bound, "client-a", ["mcp:read"])
            .with_resource(RESOURCE)
            .with_dpop_jkt(prover.jkt()),
        AccessToken::new(&plain, "client-b", ["mcp:read"]).with_resource(RESOURCE),
    ]);
    let nonces = DpopNonces::builder([5_u8; 32]).build().unwrap();
    let url = "https://api.example/show";
    let settings = [
        Dpop::allowed("https://api.example").unwrap(),
        Dpop::required("https://api.example")
            .unwrap()
            .nonces(nonces.clone()),
        Dpop::required("https://api.example").unwrap().verifier(
            DpopVerifier::builder()
                .replay_store(common::DownReplayStore)
                .build()
                .unwrap(),
        ),
    ];
    for profile in PROFILES {
        for dpop in settings.clone() {
            probe.debug("Dpop", &dpop);
            let auth = auth(verifier.clone(), profile).dpop(dpop);
            probe.debug("BearerAuth", &auth);
            let app = app(auth);
            let nonce = nonces.issue(now());
            let mut proof = |prover: &DpopProver, token: &str| {
                let proof = prover
                    .proof("GET", url)
                    .access_token(token)
                    .nonce(&nonce)
                    .sign();
                probe.secret(&proof);
                proof
            };
            let valid = proof(&prover, &bound);
            let stolen = proof(&thief, &bound);
            let unbound = proof(&prover, &plain);
            let mut tampered = valid.clone();
            tampered.push('A');
            probe.secret(&tampered);
            let dpop = |token: &str, proofs: &[&str]| {
                let mut request = request("/show", &[format!("DPoP {token}").into_bytes()]);
                for proof in proofs {
                    request
                        .headers_mut()
                        .append("dpop", HeaderValue::from_str(proof).unwrap());
                }
                request
            };
            for request in [
                dpop(&bound, &[&valid]),
                dpop(&bound, &[&valid]),
                dpop(&bound, &[&stolen]),
                dpop(&bound, &[&tampered]),
                dpop(&bound, &[&valid, &stolen]),
                dpop(&bound, &[]),
                dpop(&plain, &[&unbound]),
                request("/show", &[format!("Bearer {bound}").into_bytes()]),
                request("/show", &[format!("Bearer {plain}").into_bytes()]),
            ] {
                probe.send(&app, request).await;
            }
            probe.present(&app, &bound).await;
        }
    }
    probe.finish(&[
        "DPoP proof refused",
        "a DPoP-bound token came with the Bearer scheme",
        "the DPoP proof's key is not the one the token is bound to",
        "a token without cnf.jkt came with the DPoP scheme",
        "DPoP replay store unavailable",
    ]);
}
