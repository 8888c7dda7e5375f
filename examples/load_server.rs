//! The server that `scripts/load.sh` and `scripts/soak.sh` put under load:
//! `cargo build --release --example load_server --features testing,cache`.
//!
//! It binds `127.0.0.1` on a free port (or `PORT`) with a listen backlog of 4096, starts the
//! crate's loopback authorization server ([`TestIssuer`], RS256, embedded public test keys) and
//! serves four routes, each behind its own [`BearerAuth`] layer, all in the default
//! [`Profile::PythonSdk`] and all checking the token's resource (`http://127.0.0.1:<port>/mcp`),
//! as the Python reference server does:
//!
//! | route | guard |
//! |---|---|
//! | `GET /bare` | none: the bare handler every ratio divides by |
//! | `GET /static` | [`AuthenticatedUser`] with a [`StaticVerifier`] |
//! | `GET /rs256` | [`AuthenticatedUser`] with a [`JwtVerifier`] (RS256, keys from the issuer's JWKS, fetched once at start) |
//! | `GET /rs256-cached` | [`AuthenticatedUser`] with a [`CachedVerifier`] around that [`JwtVerifier`] |
//!
//! Every handler answers `200 ok`. `LOAD_SERVER_KEYS=pem` configures the JWT verifier with the
//! issuer's public key as PEM instead of its JWKS URL.
//!
//! Once listening it prints exactly one line of JSON to stdout (logs go to stderr):
//!
//! ```json
//! {"base":"http://127.0.0.1:40123","issuer":"http://127.0.0.1:40124","keys":"jwks","pid":4242,
//!  "port":40123,"resource":"http://127.0.0.1:40123/mcp","rs256_expired":"…",
//!  "rs256_foreign_aud":"…","rs256_token":"…","static_token":"…"}
//! ```
//!
//! (on one line). `rs256_token` is valid for 24 hours; `rs256_expired` and `rs256_foreign_aud` are
//! correctly signed but refused (expired; issued for another resource), for junk-token runs.
//!
//! It exits as soon as its stdin reaches EOF, so a script that holds the other end of a pipe
//! never leaves it running; `--ignore-stdin` turns that off for a run by hand.

use std::{
    env,
    io::Read,
    net::SocketAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{Router, routing::get};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, CachedVerifier, JwtVerifier, StaticVerifier,
    TokenVerifier, testing::TestIssuer,
};
use serde_json::json;

/// The static route's only valid token.
const STATIC_TOKEN: &str = "load-static-token-5f0c3a9e7d214b68";

/// The listen backlog (the kernel caps it at `net.core.somaxconn`).
const LISTEN_BACKLOG: u32 = 4096;

/// How long the minted and static tokens stay valid.
const TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

async fn bare() -> &'static str {
    "ok"
}

async fn protected(_user: AuthenticatedUser) -> &'static str {
    "ok"
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// Exits the process when stdin reaches EOF (or cannot be read).
fn exit_on_stdin_eof() {
    std::thread::spawn(|| {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = [0_u8; 4096];
        while matches!(stdin.read(&mut buffer), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if !env::args().skip(1).any(|arg| arg == "--ignore-stdin") {
        exit_on_stdin_eof();
    }
    let port: u16 = env::var("PORT").map_or(Ok(0), |port| port.parse())?;
    let use_pem = match env::var("LOAD_SERVER_KEYS").as_deref() {
        Err(_) | Ok("" | "jwks") => false,
        Ok("pem") => true,
        Ok(other) => return Err(format!("LOAD_SERVER_KEYS={other:?}: use jwks or pem").into()),
    };

    // `TcpListener::bind` listens with a backlog of 128: a burst of 1 000 connections (the
    // junk flood of scripts/soak.sh) would overflow it and wait for SYN retransmissions.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    let listener = socket.listen(LISTEN_BACKLOG)?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let resource = format!("{base}/mcp");
    let expires_at = unix_now() + TOKEN_LIFETIME_SECS;

    // The authorization server and its tokens.
    let issuer = TestIssuer::start().await?;
    let mut claims = issuer.claims_for(&resource);
    claims["exp"] = json!(expires_at);
    let rs256_token = issuer.mint(claims.clone());
    let mut expired = claims.clone();
    expired["iat"] = json!(1_000_000_000 - 300);
    expired["exp"] = json!(1_000_000_000);
    let rs256_expired = issuer.mint(expired);
    let mut foreign = claims;
    foreign["aud"] = json!("https://other.example/mcp");
    let rs256_foreign_aud = issuer.mint(foreign);

    // The verifiers.
    let static_verifier =
        StaticVerifier::new([AccessToken::new(STATIC_TOKEN, "load-client", ["mcp:read"])
            .with_expires_at(expires_at)
            .with_resource(&resource)]);
    let jwt = JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(&resource);
    let jwt = if use_pem {
        let kid = issuer.current_kid();
        let pem = issuer
            .public_key_pem(&kid)
            .ok_or("the issuer has no PEM for its current key")?;
        jwt.rsa_pem(&kid, pem)?
    } else {
        jwt.jwks_url(issuer.jwks_url())?
    }
    .build()?;
    // Fetch the JWKS now, not on the first request under load; and check the token works.
    jwt.verify(&rs256_token)
        .await
        .map_err(|error| format!("the minted token does not verify: {error}"))?;
    let cached = CachedVerifier::new(jwt.clone());

    let layer = |auth: BearerAuth| auth.resource_server_url(&resource);
    let app = Router::new()
        .route("/bare", get(bare))
        .merge(
            Router::new()
                .route("/static", get(protected))
                .route_layer(layer(BearerAuth::new(static_verifier))?),
        )
        .merge(
            Router::new()
                .route("/rs256", get(protected))
                .route_layer(layer(BearerAuth::new(jwt))?),
        )
        .merge(
            Router::new()
                .route("/rs256-cached", get(protected))
                .route_layer(layer(BearerAuth::new(cached))?),
        );

    let ready = json!({
        "port": addr.port(),
        "base": base,
        "resource": resource,
        "issuer": issuer.issuer(),
        "keys": if use_pem { "pem" } else { "jwks" },
        "pid": std::process::id(),
        "static_token": STATIC_TOKEN,
        "rs256_token": rs256_token,
        "rs256_expired": rs256_expired,
        "rs256_foreign_aud": rs256_foreign_aud,
    });
    println!("{ready}");
    eprintln!("load_server: listening on {base}; exits on stdin EOF");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    // The issuer (and its JWKS endpoint) lives as long as the server.
    drop(issuer);
    Ok(())
}
