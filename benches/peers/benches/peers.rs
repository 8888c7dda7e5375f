//! axum-bearer's peers on the same tokens and keys (`benches/common/tokens.rs`), each next to a bare
//! handler of its own axum version and a decode with its own `jsonwebtoken` alone:
//!
//! - jwt-authorizer 0.15 (axum 0.7 router; jsonwebtoken 9, ring),
//! - axum-jwt-auth 0.7 (axum 0.8 router; jsonwebtoken 10, RustCrypto).
//!
//! Both validate signature, `exp`, `iss` and `aud`, and hand the handler every claim as a JSON map
//! (as axum-bearer keeps them). `cargo bench -p axum-bearer-peers`; the summary table is printed
//! and written to `target/criterion/peers-summary.md`.

#[path = "../../common/harness.rs"]
mod harness;
#[path = "../../common/tokens.rs"]
mod tokens;

use std::{hint::black_box, path::Path, sync::Arc, time::SystemTime};

use criterion::Criterion;
use harness::{CountingAlloc, Role, Table};
use http::{Request, StatusCode, header::AUTHORIZATION};
use serde_json::{Map, Value};
use tokio::runtime::Runtime;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

type Claims = Map<String, Value>;

const ALGORITHMS: [&str; 4] = ["hs256", "rs256", "es256", "eddsa"];

fn token(alg: &str) -> &'static str {
    match alg {
        "hs256" => tokens::HS256,
        "rs256" => tokens::RS256,
        "es256" => tokens::ES256,
        "eddsa" => tokens::EDDSA,
        _ => unreachable!("{alg}"),
    }
}

fn bearer(token: &str) -> &'static str {
    Box::leak(format!("Bearer {token}").into_boxed_str())
}

mod jwt_authorizer_peer {
    use axum07::{Router, body::Body, routing::get};
    use jsonwebtoken9::{Algorithm, DecodingKey, Validation};
    use jwt_authorizer::{
        Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation as AuthorizerValidation,
    };

    use super::*;

    fn request(authorization: Option<&'static str>) -> Request<Body> {
        let mut request = Request::get("/");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.body(Body::empty()).expect("request")
    }

    async fn bare() -> &'static str {
        "ok"
    }

    async fn claims(JwtClaims(claims): JwtClaims<Claims>) -> &'static str {
        black_box(&claims);
        "ok"
    }

    fn authorizer(rt: &Runtime, alg: &str) -> Authorizer<Claims> {
        let builder = match alg {
            "hs256" => JwtAuthorizer::from_secret(
                std::str::from_utf8(tokens::HMAC_SECRET).expect("ASCII secret"),
            ),
            "rs256" => JwtAuthorizer::from_rsa_pem_text(tokens::RSA_PUBLIC_PEM),
            "es256" => JwtAuthorizer::from_ec_pem_text(tokens::EC_PUBLIC_PEM),
            "eddsa" => JwtAuthorizer::from_ed_pem_text(tokens::ED_PUBLIC_PEM),
            _ => unreachable!("{alg}"),
        };
        let validation = AuthorizerValidation::new()
            .iss(&[tokens::ISSUER])
            .aud(&[tokens::AUDIENCE]);
        rt.block_on(builder.validation(validation).build())
            .expect("jwt-authorizer")
    }

    fn floor(alg: &str) -> (DecodingKey, Validation) {
        let (key, alg) = match alg {
            "hs256" => (
                DecodingKey::from_secret(tokens::HMAC_SECRET),
                Algorithm::HS256,
            ),
            "rs256" => (
                DecodingKey::from_rsa_pem(tokens::RSA_PUBLIC_PEM.as_bytes()).expect("RSA key"),
                Algorithm::RS256,
            ),
            "es256" => (
                DecodingKey::from_ec_pem(tokens::EC_PUBLIC_PEM.as_bytes()).expect("EC key"),
                Algorithm::ES256,
            ),
            "eddsa" => (
                DecodingKey::from_ed_pem(tokens::ED_PUBLIC_PEM.as_bytes()).expect("Ed25519 key"),
                Algorithm::EdDSA,
            ),
            _ => unreachable!("{alg}"),
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[tokens::ISSUER]);
        validation.set_audience(&[tokens::AUDIENCE]);
        (key, validation)
    }

    pub(super) fn groups(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
        // `.with_state(())` as `axum::serve` does: handlers become routes once, not per request.
        let bare_app: Router = Router::new().route("/", get(bare)).with_state(());
        for alg in ALGORITHMS {
            let name = format!("jwt_authorizer_{alg}");
            let authorization = Some(bearer(token(alg)));
            let (key, validation) = floor(alg);
            let app: Router = Router::new()
                .route("/", get(claims))
                .layer(authorizer(rt, alg).into_layer())
                .with_state(());
            let entries = vec![
                harness::router_entry(
                    rt,
                    &name,
                    ("bare", "bare axum 0.7 handler", Role::Bare),
                    bare_app.clone(),
                    move || request(authorization),
                    StatusCode::OK,
                ),
                harness::floor_entry(
                    "decode",
                    "jsonwebtoken 9 decode alone (its crypto floor)",
                    || {
                        jsonwebtoken9::decode::<Claims>(token(alg), &key, &validation)
                            .map_err(|error| error.to_string())
                    },
                ),
                harness::router_entry(
                    rt,
                    &name,
                    (
                        "jwt_authorizer",
                        "jwt-authorizer 0.15, JwtClaims",
                        Role::Path,
                    ),
                    app,
                    move || request(authorization),
                    StatusCode::OK,
                ),
            ];
            harness::run_group(c, table, &name, entries);
        }

        let name = "jwt_authorizer_rejection";
        let authorization = Some(bearer(tokens::HS256));
        let app: Router = Router::new()
            .route("/", get(claims))
            .layer(authorizer(rt, "hs256").into_layer())
            .with_state(());
        let entries = vec![
            harness::router_entry(
                rt,
                name,
                ("bare", "bare axum 0.7 handler", Role::Bare),
                bare_app,
                move || request(authorization),
                StatusCode::OK,
            ),
            harness::router_entry(
                rt,
                name,
                (
                    "401_missing",
                    "jwt-authorizer 401, no Authorization header",
                    Role::Path,
                ),
                app,
                || request(None),
                StatusCode::UNAUTHORIZED,
            ),
        ];
        harness::run_group(c, table, name, entries);
    }
}

mod axum_jwt_auth_peer {
    use axum::{Router, body::Body, routing::get};
    use axum_jwt_auth::{Decoder, LocalDecoder};
    use jsonwebtoken10::{Algorithm, DecodingKey, Validation};

    use super::*;

    fn request(authorization: Option<&'static str>) -> Request<Body> {
        let mut request = Request::get("/");
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.body(Body::empty()).expect("request")
    }

    async fn bare() -> &'static str {
        "ok"
    }

    async fn claims(claims: axum_jwt_auth::Claims<Claims>) -> &'static str {
        black_box(&claims.claims);
        "ok"
    }

    fn key(alg: &str) -> (DecodingKey, Validation) {
        let (key, alg) = match alg {
            "hs256" => (
                DecodingKey::from_secret(tokens::HMAC_SECRET),
                Algorithm::HS256,
            ),
            "rs256" => (
                DecodingKey::from_rsa_pem(tokens::RSA_PUBLIC_PEM.as_bytes()).expect("RSA key"),
                Algorithm::RS256,
            ),
            "es256" => (
                DecodingKey::from_ec_pem(tokens::EC_PUBLIC_PEM.as_bytes()).expect("EC key"),
                Algorithm::ES256,
            ),
            "eddsa" => (
                DecodingKey::from_ed_pem(tokens::ED_PUBLIC_PEM.as_bytes()).expect("Ed25519 key"),
                Algorithm::EdDSA,
            ),
            _ => unreachable!("{alg}"),
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[tokens::ISSUER]);
        validation.set_audience(&[tokens::AUDIENCE]);
        (key, validation)
    }

    fn app(alg: &str) -> Router {
        let (key, validation) = key(alg);
        let decoder: Decoder<Claims> = Arc::new(
            LocalDecoder::builder()
                .keys(vec![key])
                .validation(validation)
                .build()
                .expect("axum-jwt-auth decoder"),
        );
        Router::new().route("/", get(claims)).with_state(decoder)
    }

    pub(super) fn groups(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
        // `.with_state(())` as `axum::serve` does: handlers become routes once, not per request.
        let bare_app: Router = Router::new().route("/", get(bare)).with_state(());
        for alg in ALGORITHMS {
            let name = format!("axum_jwt_auth_{alg}");
            let authorization = Some(bearer(token(alg)));
            let (key, validation) = key(alg);
            let entries = vec![
                harness::router_entry(
                    rt,
                    &name,
                    ("bare", "bare axum 0.8 handler", Role::Bare),
                    bare_app.clone(),
                    move || request(authorization),
                    StatusCode::OK,
                ),
                harness::floor_entry(
                    "decode",
                    "jsonwebtoken 10 decode alone (its crypto floor)",
                    || {
                        jsonwebtoken10::decode::<Claims>(token(alg), &key, &validation)
                            .map_err(|error| error.to_string())
                    },
                ),
                harness::router_entry(
                    rt,
                    &name,
                    ("axum_jwt_auth", "axum-jwt-auth 0.7, Claims<T>", Role::Path),
                    app(alg),
                    move || request(authorization),
                    StatusCode::OK,
                ),
            ];
            harness::run_group(c, table, &name, entries);
        }

        let name = "axum_jwt_auth_rejection";
        let authorization = Some(bearer(tokens::HS256));
        let entries = vec![
            harness::router_entry(
                rt,
                name,
                ("bare", "bare axum 0.8 handler", Role::Bare),
                bare_app,
                move || request(authorization),
                StatusCode::OK,
            ),
            harness::router_entry(
                rt,
                name,
                (
                    "401_missing",
                    "axum-jwt-auth 401, no Authorization header",
                    Role::Path,
                ),
                app("hs256"),
                || request(None),
                StatusCode::UNAUTHORIZED,
            ),
        ];
        harness::run_group(c, table, name, entries);
    }
}

fn main() {
    let started = SystemTime::now();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut c = harness::criterion(&workspace);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut table = Table::default();

    jwt_authorizer_peer::groups(&mut c, &rt, &mut table);
    axum_jwt_auth_peer::groups(&mut c, &rt, &mut table);

    c.final_summary();
    harness::report(
        "peers",
        &table,
        &harness::output_directory(&workspace),
        started,
    );
}
