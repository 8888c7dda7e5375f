//! What a protected request costs: every path next to the bare axum handler of the same run.
//!
//! `cargo bench --bench auth --features cache` (criterion; `-- <filter>` to run some groups;
//! without `cache` the `CachedVerifier` group is skipped). Each request goes through
//! `tower::ServiceExt::oneshot` on a clone of an axum 0.8 `Router` (after `.with_state(())`, as
//! `axum::serve` does), in process, on a current-thread tokio runtime. Every group starts with
//! the bare handler, so each ratio divides two figures of the same run; the JWT groups also
//! measure `jsonwebtoken::decode` of the same token alone (the crypto floor).
//!
//! Per group (see `common/harness.rs`): heap allocations per request with a counting global
//! allocator (and the status checked), criterion's estimate, and an interleaved measurement (all
//! paths of the group in turn, round after round; medians of the per-round ratios), the figure
//! the targets are judged on. At the end a table is printed and written to
//! `target/criterion/auth-summary.md`. BENCHMARKS.md has the figures and the targets.

#[path = "common/harness.rs"]
mod harness;
#[path = "common/tokens.rs"]
mod tokens;

use std::{hint::black_box, path::Path, time::SystemTime};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header::AUTHORIZATION},
    routing::get,
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, JwtVerifier, RequireScopes, RequireScopesLayer,
    StaticVerifier, TokenVerifier,
    jsonwebtoken::{self, Algorithm, DecodingKey, Validation},
    scopes,
};
use criterion::Criterion;
use harness::{CountingAlloc, Entry, Role, Table};
use serde_json::{Map, Value};
use tokio::runtime::Runtime;
use tower::Layer;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

scopes!(NotesRead = "notes:read");
scopes!(NotesAdmin = "notes:admin");

/// The floor: what axum itself costs for this request.
async fn bare() -> &'static str {
    "ok"
}

async fn whoami(user: AuthenticatedUser) -> &'static str {
    black_box(&user);
    "ok"
}

async fn read_notes(user: RequireScopes<NotesRead>) -> &'static str {
    black_box(&user);
    "ok"
}

async fn admin(user: RequireScopes<NotesAdmin>) -> &'static str {
    black_box(&user);
    "ok"
}

/// `GET /` with `Authorization: Bearer <token>` (a static header value: cloning it never
/// allocates), or without the header.
fn request(authorization: Option<&'static str>) -> Request<Body> {
    let mut request = Request::get("/");
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    request.body(Body::empty()).expect("request")
}

fn bearer(token: &str) -> &'static str {
    Box::leak(format!("Bearer {token}").into_boxed_str())
}

/// The layer as a server would configure it: the metadata URL in challenges, and only tokens
/// issued for this resource (RFC 8707).
fn protect(verifier: impl TokenVerifier) -> BearerAuth {
    BearerAuth::new(verifier)
        .resource_metadata_url(tokens::RESOURCE_METADATA)
        .expect("metadata URL")
        .resource_server_url(tokens::AUDIENCE)
        .expect("resource URL")
}

fn static_verifier() -> StaticVerifier {
    StaticVerifier::new([AccessToken::new(
        tokens::STATIC_TOKEN,
        tokens::CLIENT_ID,
        ["notes:read", "notes:write"],
    )
    .with_subject(tokens::SUBJECT)
    .with_resource(tokens::AUDIENCE)
    .with_expires_at(tokens::EXPIRES_AT)])
}

/// One path through a router.
struct Case {
    id: &'static str,
    label: &'static str,
    role: Role,
    app: Router,
    authorization: Option<&'static str>,
    status: StatusCode,
}

impl Case {
    fn bare(authorization: &'static str) -> Self {
        Self {
            id: "bare",
            label: "bare axum handler",
            role: Role::Bare,
            app: Router::new().route("/", get(bare)),
            authorization: Some(authorization),
            status: StatusCode::OK,
        }
    }

    fn path(
        id: &'static str,
        label: &'static str,
        app: Router,
        authorization: Option<&'static str>,
        status: StatusCode,
    ) -> Self {
        Self {
            id,
            label,
            role: Role::Path,
            app,
            authorization,
            status,
        }
    }

    /// Counts the allocations of the path (checking its status), ready to be timed.
    fn entry<'a>(self, rt: &'a Runtime, group: &str) -> Entry<'a> {
        let authorization = self.authorization;
        harness::router_entry(
            rt,
            group,
            (self.id, self.label, self.role),
            // As `axum::serve` does (`into_make_service`): handlers become routes once, not per
            // request.
            self.app.with_state::<()>(()),
            move || request(authorization),
            self.status,
        )
    }
}

fn static_group(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
    let name = "static";
    let token = Some(bearer(tokens::STATIC_TOKEN));
    let auth = protect(static_verifier());
    let auth_outside = auth.clone();
    let cases = [
        Case::bare(bearer(tokens::STATIC_TOKEN)),
        Case::path(
            "noop_layer",
            "any tower layer (Identity), public route: axum's own cost of a layer",
            Router::new()
                .route("/", get(bare))
                .layer(tower::layer::util::Identity::new()),
            token,
            StatusCode::OK,
        ),
        Case::path(
            "layer_only",
            "BearerAuth layer, public route (asks for nothing)",
            Router::new().route("/", get(bare)).layer(auth.clone()),
            token,
            StatusCode::OK,
        ),
        Case::path(
            "authenticated_user",
            "AuthenticatedUser, StaticVerifier",
            Router::new().route("/", get(whoami)).layer(auth.clone()),
            token,
            StatusCode::OK,
        ),
        Case::path(
            "require_scopes",
            "RequireScopes<S>, StaticVerifier",
            Router::new()
                .route("/", get(read_notes))
                .layer(auth.clone()),
            token,
            StatusCode::OK,
        ),
        Case::path(
            "require_scopes_layer",
            "RequireScopesLayer, StaticVerifier",
            Router::new()
                .route("/", get(bare))
                .route_layer(RequireScopesLayer::new(["notes:read"]).expect("scope"))
                .layer(auth),
            token,
            StatusCode::OK,
        ),
    ];
    let mut entries: Vec<_> = cases.into_iter().map(|case| case.entry(rt, name)).collect();
    // The layer around the whole router (`ServiceBuilder` style) instead of `Router::layer`:
    // axum then does not box each route once more per request.
    let outside = auth_outside.layer(Router::new().route("/", get(whoami)).with_state::<()>(()));
    entries.push(harness::router_entry(
        rt,
        name,
        (
            "authenticated_user_outer",
            "AuthenticatedUser, StaticVerifier, BearerAuth around the Router",
            Role::Path,
        ),
        outside,
        move || request(token),
        StatusCode::OK,
    ));
    harness::run_group(c, table, name, entries);
}

/// One JWT algorithm: the bare handler, `jsonwebtoken::decode` alone (the crypto floor: what a
/// user of jsonwebtoken alone would write — signature, `exp`, `iss`, `aud` — with the claims in a
/// JSON map, as the verifier keeps them), `AuthenticatedUser` with a `JwtVerifier` holding that
/// one key, and `RequireScopes` on top.
fn jwt_group(
    c: &mut Criterion,
    rt: &Runtime,
    table: &mut Table,
    name: &str,
    token: &'static str,
    (decoding, validation): (DecodingKey, Validation),
    verifier: JwtVerifier,
) {
    let authorization = Some(bearer(token));
    let auth = protect(verifier);
    let decode = || {
        jsonwebtoken::decode::<Map<String, Value>>(token, &decoding, &validation)
            .map_err(|error| error.to_string())
    };
    let entries = vec![
        Case::bare(bearer(token)).entry(rt, name),
        harness::floor_entry(
            "jsonwebtoken_decode",
            "jsonwebtoken::decode alone (crypto floor)",
            decode,
        ),
        Case::path(
            "authenticated_user",
            "AuthenticatedUser, JwtVerifier",
            Router::new().route("/", get(whoami)).layer(auth.clone()),
            authorization,
            StatusCode::OK,
        )
        .entry(rt, name),
        Case::path(
            "require_scopes",
            "RequireScopes<S>, JwtVerifier",
            Router::new().route("/", get(read_notes)).layer(auth),
            authorization,
            StatusCode::OK,
        )
        .entry(rt, name),
    ];
    harness::run_group(c, table, name, entries);
}

fn floor_key(decoding: DecodingKey, alg: Algorithm) -> (DecodingKey, Validation) {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[tokens::ISSUER]);
    validation.set_audience(&[tokens::AUDIENCE]);
    (decoding, validation)
}

fn jwt_groups(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
    let builder = || {
        JwtVerifier::builder()
            .issuer(tokens::ISSUER)
            .audience(tokens::AUDIENCE)
    };
    let groups = [
        (
            "hs256",
            tokens::HS256,
            floor_key(
                DecodingKey::from_secret(tokens::HMAC_SECRET).expect("secret"),
                Algorithm::HS256,
            ),
            builder().hmac_secret("bench-hs256", tokens::HMAC_SECRET),
        ),
        (
            "rs256",
            tokens::RS256,
            floor_key(
                DecodingKey::from_rsa_pem(tokens::RSA_PUBLIC_PEM.as_bytes()).expect("RSA key"),
                Algorithm::RS256,
            ),
            builder().rsa_pem("bench-rs256", tokens::RSA_PUBLIC_PEM),
        ),
        (
            "es256",
            tokens::ES256,
            floor_key(
                DecodingKey::from_ec_pem(tokens::EC_PUBLIC_PEM.as_bytes()).expect("EC key"),
                Algorithm::ES256,
            ),
            builder().ec_pem("bench-es256", tokens::EC_PUBLIC_PEM),
        ),
        (
            "eddsa",
            tokens::EDDSA,
            floor_key(
                DecodingKey::from_ed_pem(tokens::ED_PUBLIC_PEM.as_bytes()).expect("Ed25519 key"),
                Algorithm::EdDSA,
            ),
            builder().ed_pem("bench-eddsa", tokens::ED_PUBLIC_PEM),
        ),
    ];
    for (name, token, floor, verifier) in groups {
        let verifier = verifier.and_then(|b| b.build()).expect("JwtVerifier");
        jwt_group(c, rt, table, name, token, floor, verifier);
    }
}

/// `CachedVerifier` (feature `cache`) on a hit: the token was verified once (ES256, where a cache
/// pays most), every measured request finds it cached.
#[cfg(feature = "cache")]
fn cache_group(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
    let name = "cache";
    let inner = JwtVerifier::builder()
        .issuer(tokens::ISSUER)
        .audience(tokens::AUDIENCE)
        .ec_pem("bench-es256", tokens::EC_PUBLIC_PEM)
        .and_then(|b| b.build())
        .expect("JwtVerifier");
    let auth = protect(axum_bearer::CachedVerifier::new(inner));
    let authorization = Some(bearer(tokens::ES256));
    let cases = [
        Case::bare(bearer(tokens::ES256)),
        Case::path(
            "authenticated_user_hit",
            "AuthenticatedUser, CachedVerifier<JwtVerifier> (ES256), hit",
            Router::new().route("/", get(whoami)).layer(auth.clone()),
            authorization,
            StatusCode::OK,
        ),
        Case::path(
            "require_scopes_hit",
            "RequireScopes<S>, CachedVerifier<JwtVerifier> (ES256), hit",
            Router::new().route("/", get(read_notes)).layer(auth),
            authorization,
            StatusCode::OK,
        ),
    ];
    // The first request of each path (the unmeasured round of the allocation count) fills the
    // cache; every later one is a hit.
    let entries = cases.into_iter().map(|case| case.entry(rt, name)).collect();
    harness::run_group(c, table, name, entries);
}

#[cfg(not(feature = "cache"))]
fn cache_group(_: &mut Criterion, _: &Runtime, _: &mut Table) {
    eprintln!("cache group skipped: CachedVerifier needs `--features cache`");
}

/// The refusals: building and returning a rejection, in the default profile, with the
/// `resource_metadata` URL in the challenge.
fn rejection_group(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
    let name = "rejection";
    let auth = protect(static_verifier());
    let whoami_app = Router::new().route("/", get(whoami)).layer(auth.clone());
    let cases = [
        Case::bare(bearer(tokens::STATIC_TOKEN)),
        Case::path(
            "401_missing",
            "401, no Authorization header",
            whoami_app.clone(),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        Case::path(
            "401_invalid",
            "401, unknown token (StaticVerifier)",
            whoami_app,
            Some(bearer(tokens::UNKNOWN_TOKEN)),
            StatusCode::UNAUTHORIZED,
        ),
        Case::path(
            "403_scope",
            "403, RequireScopes<S> lacking the scope",
            Router::new().route("/", get(admin)).layer(auth.clone()),
            Some(bearer(tokens::STATIC_TOKEN)),
            StatusCode::FORBIDDEN,
        ),
        Case::path(
            "403_scope_layer",
            "403, RequireScopesLayer lacking the scope",
            Router::new()
                .route("/", get(bare))
                .route_layer(RequireScopesLayer::new(["notes:admin"]).expect("scope"))
                .layer(auth),
            Some(bearer(tokens::STATIC_TOKEN)),
            StatusCode::FORBIDDEN,
        ),
    ];
    let entries = cases.into_iter().map(|case| case.entry(rt, name)).collect();
    harness::run_group(c, table, name, entries);
}

fn main() {
    let started = SystemTime::now();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut c = harness::criterion(workspace);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut table = Table::default();

    static_group(&mut c, &rt, &mut table);
    cache_group(&mut c, &rt, &mut table);
    jwt_groups(&mut c, &rt, &mut table);
    rejection_group(&mut c, &rt, &mut table);

    c.final_summary();
    harness::report(
        "auth",
        &table,
        &harness::output_directory(workspace),
        started,
    );
}
