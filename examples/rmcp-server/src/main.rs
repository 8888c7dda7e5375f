//! The rmcp example server: `cargo run -p rmcp-server-example`.
//!
//! It serves the MCP endpoint at `/mcp` on 127.0.0.1 and its RFC 9728 metadata at
//! `/.well-known/oauth-protected-resource/mcp`, and prints a line containing
//! `listening on http://127.0.0.1:<port>/mcp`. Configured by the environment:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `PORT` | the port on 127.0.0.1; `0` picks a free one | `3003` |
//! | `RESOURCE_URL` | the resource identifier clients call (tokens must be for it) | `http://127.0.0.1:<port>/mcp` |
//! | `AUTH_SERVER_URL` | the authorization server's issuer, announced in the metadata | a placeholder |
//! | `INTROSPECTION_URL` | RFC 7662 introspection endpoint: opaque tokens, cached | — |
//! | `INTROSPECTION_CLIENT_ID`, `INTROSPECTION_CLIENT_SECRET` | `client_secret_basic` for it | none |
//! | `JWT_ISSUER` | JWT access tokens from this issuer (discovery, JWKS), audience `RESOURCE_URL` | — |
//! | `MCP_SCOPES` | the base scopes every operation needs, space-separated (`admin_echo` also needs `mcp:admin`) | `mcp:read` |
//! | `DPOP` | DPoP (RFC 9449): `allowed` (DPoP-bound tokens with `DPoP` and a proof, beside `Bearer`) or `required` (DPoP only: every token bound, `Bearer` refused); announced in the metadata | unset: `Bearer` only |
//! | `PUBLIC_URL` | with `DPOP`: where clients reach `/` of this server (behind a proxy, the proxy's URL); a proof's `htu` must be it followed by the path | `RESOURCE_URL` without its `/mcp` |
//!
//! With neither `INTROSPECTION_URL` nor `JWT_ISSUER`, it makes a random development token
//! (client `rmcp-dev-client`, the base scopes) and prints curl lines to try it; that token is a
//! bearer token, refused with `DPOP=required`.

use std::{env, error::Error, net::SocketAddr, time::Duration};

use axum_bearer::{
    AccessToken, CachedVerifier, IntrospectionVerifier, JwtVerifier, StaticVerifier, TokenVerifier,
    dpop::{Dpop, DpopMode},
};
use rand::{Rng, distr::Alphanumeric};
use rmcp_server_example::{MCP_SCOPE, Settings, app};

/// The client id of the development token.
const DEV_CLIENT: &str = "rmcp-dev-client";

/// The authorization server announced when `AUTH_SERVER_URL` is not set.
const PLACEHOLDER_AS: &str = "https://auth.example.com";

fn dev_token() -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("dev-{random}")
}

/// A variable's value; unset and empty are the same.
fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|value| !value.is_empty())
}

/// DPoP as `DPOP` and `PUBLIC_URL` say (see the table above); `None` when `DPOP` is unset.
fn dpop_from_env(resource: &str) -> Result<Option<Dpop>, Box<dyn Error>> {
    let Some(mode) = var("DPOP") else {
        return Ok(None);
    };
    let mode = match mode.as_str() {
        "allowed" => DpopMode::Allowed,
        "required" => DpopMode::Required,
        other => {
            return Err(format!(
                "DPOP must be `allowed` or `required` (or unset for Bearer only), not {other:?}"
            )
            .into());
        }
    };
    let public_url = match var("PUBLIC_URL") {
        Some(url) => url,
        None => resource
            .strip_suffix("/mcp")
            .ok_or("DPOP is set and RESOURCE_URL does not end with /mcp: set PUBLIC_URL")?
            .to_owned(),
    };
    let dpop = Dpop::new(mode, &public_url).map_err(|error| format!("PUBLIC_URL: {error}"))?;
    Ok(Some(dpop))
}

/// Checks the verifier can reach its authorization server (a warning, not a failure: requests
/// are verified, or answered 503, either way).
async fn warm_up(verifier: &impl TokenVerifier) {
    match tokio::time::timeout(Duration::from_secs(10), verifier.warm_up()).await {
        Ok(Ok(())) => println!("verifier warmed up"),
        Ok(Err(error)) => eprintln!("warning: verifier warm-up failed: {error}"),
        Err(_) => eprintln!("warning: verifier warm-up timed out"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let port: u16 = var("PORT").map_or(Ok(3003), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mcp = format!("{base}/mcp");

    let resource = var("RESOURCE_URL").unwrap_or_else(|| mcp.clone());
    let auth_server = var("AUTH_SERVER_URL").unwrap_or_else(|| PLACEHOLDER_AS.to_owned());
    let scopes: Vec<String> = var("MCP_SCOPES")
        .map(|scopes| scopes.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_else(|| vec![MCP_SCOPE.to_owned()]);
    let mut settings = Settings::new(&resource, &auth_server, scopes.iter())?;
    if let Some(dpop) = dpop_from_env(&resource)? {
        settings = settings.with_dpop(dpop);
    }

    let mut dev = None;
    let app = if let Some(endpoint) = var("INTROSPECTION_URL") {
        let builder = IntrospectionVerifier::builder(&endpoint)?;
        let builder = match (
            var("INTROSPECTION_CLIENT_ID"),
            var("INTROSPECTION_CLIENT_SECRET"),
        ) {
            (Some(id), Some(secret)) => builder.client_secret_basic(id, secret),
            (None, None) => builder.no_client_authentication(),
            _ => {
                return Err(
                    "set both INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET, or neither"
                        .into(),
                );
            }
        };
        let verifier = CachedVerifier::new(builder.build()?);
        warm_up(&verifier).await;
        println!("tokens: introspected at {endpoint}");
        app(verifier, &settings)?
    } else if let Some(issuer) = var("JWT_ISSUER") {
        let verifier = JwtVerifier::builder()
            .discover(&issuer)?
            .audience(&resource)
            .build()?;
        warm_up(&verifier).await;
        println!("tokens: JWTs from {issuer} for {resource}");
        app(verifier, &settings)?
    } else {
        let token = dev_token();
        let verifier = StaticVerifier::new([AccessToken::new(&token, DEV_CLIENT, &scopes)
            .with_subject("dev-user")
            .with_resource(&resource)]);
        dev = Some(token);
        app(verifier, &settings)?
    };

    println!("rmcp server behind axum-bearer (Spec profile) listening on {mcp}");
    println!("metadata: {}", settings.metadata().url());
    println!("authorization server: {auth_server}");
    if let Some(dpop) = settings.dpop() {
        let mode = match dpop.mode() {
            DpopMode::Required => "required (Bearer refused)",
            _ => "allowed (beside Bearer)",
        };
        println!("DPoP: {mode}, proofs for {}/…", dpop.public_url());
    }
    if let Some(token) = dev {
        print_curl_lines(&mcp, &token, &scopes, &settings.metadata().url());
        if settings
            .dpop()
            .is_some_and(|dpop| dpop.mode() == DpopMode::Required)
        {
            println!("# with DPOP=required, the dev token (a bearer token) gets the 401 too");
        }
    }
    println!();
    println!("Ctrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// A curl line for every route served, with the development token.
fn print_curl_lines(mcp: &str, token: &str, scopes: &[String], metadata: &str) {
    let headers =
        "-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'";
    let auth = format!("-H 'Authorization: Bearer {token}'");
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}"#;
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let whoami = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;
    let admin = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"admin_echo","arguments":{"message":"hi"}}}"#;
    let session = "-H \"Mcp-Session-Id: $SID\"";

    println!(
        "dev token ({DEV_CLIENT}, scopes {}): {token}",
        scopes.join(" ")
    );
    println!();
    println!("# 200: the protected resource metadata the challenges announce (public)");
    println!("curl -i {metadata}");
    println!("# 401: no token (WWW-Authenticate names the scope and the metadata URL)");
    println!("curl -i {headers} -d '{initialize}' {mcp}");
    println!("# 200: initialize with the token; the session id comes back in Mcp-Session-Id");
    println!(
        "SID=$(curl -s -D - -o /dev/null {headers} {auth} -d '{initialize}' {mcp} | tr -d '\\r' | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')"
    );
    println!("# 202: the initialized notification, in the session");
    println!("curl -i {headers} {auth} {session} -d '{initialized}' {mcp}");
    println!("# 200: the whoami tool names the caller");
    println!("curl -i {headers} {auth} {session} -d '{whoami}' {mcp}");
    println!("# a JSON-RPC error: admin_echo needs mcp:admin, which the dev token lacks");
    println!("curl -i {headers} {auth} {session} -d '{admin}' {mcp}");
    println!("# 401: the session id without a token");
    println!("curl -i {headers} {session} -d '{whoami}' {mcp}");
    println!("# 202: end the session");
    println!("curl -i -X DELETE {auth} {session} {mcp}");
}
