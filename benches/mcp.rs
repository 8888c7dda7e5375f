//! What `mcp::OperationScopes` costs: a 1 KiB `tools/call` through `BearerAuth` +
//! `OperationScopes`, next to the same route with `BearerAuth` alone, in the same run.
//!
//! `cargo bench --bench mcp` (criterion; see `common/harness.rs` for the three measurements:
//! allocations, criterion, interleaved). Every path is `POST /mcp` with the same static 1 KiB
//! body and a valid token, served by a handler that takes the body as `Bytes`, as an MCP
//! service reads it. The floor ("bare" in the table) is that route with `BearerAuth` alone,
//! which verifies nothing (it is lazy); `RequireScopesLayer` adds the verification, and
//! `OperationScopes` the verification, the capped body read and the JSON-RPC parse.
//!
//! Body copies: the request body is a `Bytes::from_static`, and the handler counts every body
//! whose bytes are not the static ones, i.e. every copy made on the way. At the end the table
//! is printed (and written to `target/criterion/mcp-summary.md`), then the time added over the
//! floor and the copies per request. BENCHMARKS.md has the figures.

#[path = "common/harness.rs"]
mod harness;

use std::{
    hint::black_box,
    path::Path,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::SystemTime,
};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, StatusCode, header},
    routing::post,
};
use axum_bearer::{
    AccessToken, BearerAuth, Profile, RequireScopesLayer, StaticVerifier, mcp::OperationScopes,
};
use harness::{CountingAlloc, Role, Table};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const TOKEN: &str = "Bearer bench-mcp-token-0123456789abcdef";

/// Requests the handler served, and bodies it got as a copy.
static SERVED: AtomicU64 = AtomicU64::new(0);
static COPIED: AtomicU64 = AtomicU64::new(0);

/// A `tools/call` of exactly 1 024 bytes.
fn call_body(tool: &str) -> &'static [u8] {
    let head = format!(
        r#"{{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{{"name":"{tool}","arguments":{{"query":""#
    );
    let tail = r#""}}}"#;
    let padding = "lorem ipsum ".repeat(100);
    let mut body = format!("{head}{padding}");
    body.truncate(1024 - tail.len());
    body.push_str(tail);
    assert_eq!(body.len(), 1024);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
    Box::leak(body.into_boxed_str()).as_bytes()
}

fn search_body() -> &'static [u8] {
    static BODY: OnceLock<&'static [u8]> = OnceLock::new();
    BODY.get_or_init(|| call_body("search_notes"))
}

fn delete_body() -> &'static [u8] {
    static BODY: OnceLock<&'static [u8]> = OnceLock::new();
    BODY.get_or_init(|| call_body("delete_note"))
}

/// The MCP service stand-in: takes the body whole, as an MCP service does.
async fn mcp(body: Bytes) -> &'static str {
    SERVED.fetch_add(1, Relaxed);
    let original = search_body();
    if body.as_ptr() != original.as_ptr() || body.len() != original.len() {
        COPIED.fetch_add(1, Relaxed);
    }
    black_box(&body);
    "ok"
}

fn request(body: &'static [u8]) -> Request<Body> {
    Request::post("/mcp")
        .header(header::AUTHORIZATION, TOKEN)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(Bytes::from_static(body)))
        .expect("request")
}

fn auth() -> BearerAuth {
    let verifier = StaticVerifier::new([AccessToken::new(
        TOKEN.trim_start_matches("Bearer "),
        "bench-client",
        ["mcp:read", "notes:search"],
    )]);
    BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .resource_metadata_url("https://notes.example/.well-known/oauth-protected-resource/mcp")
        .expect("metadata URL")
}

fn scopes() -> OperationScopes {
    OperationScopes::new(["mcp:read"])
        .and_then(|s| s.method("tools/list", ["mcp:read"]))
        .and_then(|s| s.tool("search_notes", ["mcp:read", "notes:search"]))
        .and_then(|s| s.tool("delete_note", ["mcp:read", "notes:delete"]))
        .and_then(|s| s.prompt("summarise", ["mcp:read", "prompts:use"]))
        .and_then(|s| s.resource_prefix("notes://private/", ["mcp:read", "notes:private"]))
        .expect("scopes")
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
    let name = "mcp";
    search_body();
    delete_body();

    let route = || Router::new().route("/mcp", post(mcp));
    let bearer_only = route().layer(auth()).with_state::<()>(());
    let guarded = route()
        .route_layer(RequireScopesLayer::new(["mcp:read", "notes:search"]).expect("scope"))
        .layer(auth())
        .with_state::<()>(());
    let per_operation = route()
        .route_layer(scopes())
        .layer(auth())
        .with_state::<()>(());

    let search = || request(search_body());
    let delete = || request(delete_body());
    let entries = vec![
        harness::router_entry(
            &rt,
            name,
            (
                "bearer_only",
                "BearerAuth alone (lazy: verifies nothing), 1 KiB tools/call",
                Role::Bare,
            ),
            bearer_only,
            search,
            StatusCode::OK,
        ),
        harness::router_entry(
            &rt,
            name,
            (
                "require_scopes_layer",
                "BearerAuth + RequireScopesLayer (verifies, reads no body)",
                Role::Path,
            ),
            guarded,
            search,
            StatusCode::OK,
        ),
        harness::router_entry(
            &rt,
            name,
            (
                "operation_scopes",
                "BearerAuth + OperationScopes, tool rule met",
                Role::Path,
            ),
            per_operation.clone(),
            search,
            StatusCode::OK,
        ),
        harness::router_entry(
            &rt,
            name,
            (
                "operation_scopes_403",
                "BearerAuth + OperationScopes, tool lacking a scope: 403",
                Role::Path,
            ),
            per_operation,
            delete,
            StatusCode::FORBIDDEN,
        ),
    ];
    // The allocation counts above served every path: the copies so far are the whole story.
    let served = SERVED.load(Relaxed);
    let copied = COPIED.load(Relaxed);

    harness::run_group(&mut c, &mut table, name, entries);
    c.final_summary();
    let output = harness::output_directory(workspace);
    harness::report("mcp", &table, &output, started);

    let ns = |id: &str| {
        table
            .rows
            .iter()
            .find(|row| row.id == id)
            .and_then(|row| row.interleaved)
            .map(|i| i.ns)
    };
    if let (Some(floor), Some(guard), Some(layer)) = (
        ns("bearer_only"),
        ns("require_scopes_layer"),
        ns("operation_scopes"),
    ) {
        println!(
            "interleaved: OperationScopes adds {:+.0} ns over BearerAuth alone, {:+.0} ns over \
             RequireScopesLayer (verification included in both)",
            layer - floor,
            layer - guard
        );
    }
    println!(
        "body copies: {copied} of {served} bodies the handler got (allocation rounds) were \
         copies of the request's bytes"
    );
}
