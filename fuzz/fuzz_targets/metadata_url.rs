//! Arbitrary strings → the RFC 9728 well-known URL builder and `ProtectedResourceMetadata::new`.
//!
//! Input lines: the resource, an authorization server. For every resource accepted:
//! - `metadata_url` gives an absolute http(s) URL without fragment that holds the well-known path;
//! - the document's `url()` is that URL, `BearerAuth::protected_resource` accepts the document,
//!   its router can be built and merged into an application router, and serves the document at
//!   the announced URL; the JSON round-trips.
#![no_main]

use axum::{Router, http::StatusCode};
use axum_bearer::{
    BearerAuth, ProtectedResourceMetadata, StaticVerifier,
    metadata::{WELL_KNOWN_PATH, metadata_url},
};
use axum_bearer_fuzz::{block_on, common, lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = lines(data);
    let resource = lines.first().map(String::as_str).unwrap_or_default();
    let server = lines.get(1).map(String::as_str).unwrap_or_default();

    let Ok(url) = metadata_url(resource) else {
        assert!(ProtectedResourceMetadata::new(resource, [server]).is_err());
        return;
    };
    let parsed = url::Url::parse(&url).unwrap_or_else(|e| panic!("{url:?} does not parse: {e}"));
    assert!(matches!(parsed.scheme(), "http" | "https"), "{url}");
    assert!(parsed.host_str().is_some(), "{url}");
    assert!(parsed.fragment().is_none() && !url.contains('#'), "{url}");
    assert!(parsed.path().starts_with(WELL_KNOWN_PATH), "{url}");
    assert_eq!(metadata_url(resource).ok().as_ref(), Some(&url));

    let Ok(metadata) = ProtectedResourceMetadata::new(resource, [server]) else {
        return;
    };
    assert_eq!(metadata.url(), url);
    assert_eq!(metadata.resource(), resource);
    let json = metadata.to_json();
    let back: ProtectedResourceMetadata = serde_json::from_str(&json).expect("the document parses");
    assert_eq!(back, metadata);
    if let Err(error) = BearerAuth::new(StaticVerifier::default()).protected_resource(&metadata) {
        panic!("{resource:?}: protected_resource refused the document: {error}");
    }

    // Served where it is announced.
    let app: Router = Router::new().merge(metadata.router());
    let target = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let Ok(request) = axum::http::Request::get(&target).body(axum::body::Body::empty()) else {
        return; // Not a request target `http` can carry; no client could ask for it either.
    };
    let reply = block_on(common::send(&app, request));
    assert_eq!(reply.status, StatusCode::OK, "{resource:?} → GET {target}");
    assert_eq!(reply.body, json.as_bytes());
});
