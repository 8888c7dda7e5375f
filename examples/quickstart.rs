//! A protected notes API that needs no setup: `cargo run --example quickstart`.
//!
//! It makes two random development tokens (one may read notes, one may also write them), serves
//! one route per kind of guard on 127.0.0.1 (port from `PORT`, default 3000; `PORT=0` picks a free
//! one) with the RFC 9728 metadata its 401s announce, and prints a curl line for every route.
//! Pass `--spec` for `Profile::Spec`.

use std::{env, net::SocketAddr};

use axum::{
    Router,
    routing::{get, post},
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, Profile, ProtectedResourceMetadata, RequireScopes,
    RequireScopesLayer, StaticVerifier, scopes,
};
use rand::{Rng, distr::Alphanumeric};

scopes!(
    /// Writing notes.
    pub NotesWrite = "notes:write"
);

/// Any valid token.
async fn whoami(user: AuthenticatedUser) -> String {
    format!(
        "client {} with scopes [{}]\n",
        user.client_id(),
        user.scopes().join(" ")
    )
}

/// Scopes in the type: `notes:write`.
async fn write_note(user: RequireScopes<NotesWrite>) -> String {
    format!("note written by {}\n", user.client_id())
}

/// Scopes from start-up configuration: the route layer requires `notes:read`.
async fn list_notes() -> &'static str {
    "[\"buy milk\", \"ship axum-bearer\"]\n"
}

/// Authentication optional.
async fn hello(user: Option<AuthenticatedUser>) -> String {
    match user {
        Some(user) => format!("hello {}\n", user.client_id()),
        None => "hello stranger\n".to_owned(),
    }
}

fn dev_token() -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("dev-{random}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile = if env::args().any(|arg| arg == "--spec") {
        Profile::Spec
    } else {
        Profile::PythonSdk
    };
    let port: u16 = env::var("PORT").map_or(Ok(3000), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let base = format!("http://{}", listener.local_addr()?);

    let reader = dev_token();
    let writer = dev_token();
    // Dev tokens issued for this server (RFC 8707 `resource`); the RFC 9728 document names it and
    // an authorization server (a placeholder: dev tokens need none), and the 401s point to it.
    let verifier = StaticVerifier::new([
        AccessToken::new(&reader, "quickstart-reader", ["notes:read"]).with_resource(&base),
        AccessToken::new(&writer, "quickstart-writer", ["notes:read", "notes:write"])
            .with_resource(&base),
    ]);
    let metadata = ProtectedResourceMetadata::new(&base, ["https://auth.example.com"])?
        .with_scopes_supported(["notes:read", "notes:write"])?;
    let auth = BearerAuth::new(verifier)
        .profile(profile)
        .protected_resource(&metadata)?;

    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/notes", post(write_note))
        .route(
            "/notes",
            get(list_notes).route_layer(RequireScopesLayer::new(["notes:read"])?),
        )
        .route("/hello", get(hello))
        .layer(auth)
        .merge(metadata.router());

    println!("axum-bearer quickstart ({profile:?} profile) listening on {base}");
    println!("read-only token:  {reader}");
    println!("read-write token: {writer}");
    println!();
    println!("# 200: a valid token");
    println!("curl -i -H 'Authorization: Bearer {reader}' {base}/whoami");
    println!("# 401: no token");
    println!("curl -i {base}/whoami");
    println!("# 403: the read-only token may not write");
    println!("curl -i -X POST -H 'Authorization: Bearer {reader}' {base}/notes");
    println!("# 200: the read-write token may");
    println!("curl -i -X POST -H 'Authorization: Bearer {writer}' {base}/notes");
    println!("# 200: reading notes needs notes:read (a route layer)");
    println!("curl -i -H 'Authorization: Bearer {reader}' {base}/notes");
    println!("# 401: reading notes needs a token");
    println!("curl -i {base}/notes");
    println!("# 200: authentication optional");
    println!("curl -i {base}/hello");
    println!("# 200: the RFC 9728 metadata every 401 points to");
    println!("curl -i {}", metadata.url());
    println!();
    println!("Ctrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
