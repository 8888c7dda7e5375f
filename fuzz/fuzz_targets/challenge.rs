//! Arbitrary realm, URLs and scopes through the public builders, then the challenges they produce.
//!
//! Input lines: `realm`, `resource_metadata` URL, `resource_server` URL, a scope that implies the
//! next (`scope_implies`), then the scopes. The scopes go to `RequireScopesLayer::new` (validated)
//! and, unvalidated, to `AuthenticatedUser::require_scopes` mid-handler, whose 403 description
//! carries them. Requests without credentials, with a token lacking every scope, with an unknown
//! token, with malformed credentials and with a back end down go to each route in both profiles;
//! every reply must keep `check_reply`'s invariants, and:
//! - a builder refuses exactly the values that cannot go into a challenge;
//! - `realm` and `resource_metadata` come back as configured;
//! - the `Spec` 403 of the layer lists exactly the configured scopes, in order;
//! - the 403 of `require_scopes` names the first scope in its body, unfiltered, and its `Spec`
//!   challenge lists the valid ones.
#![no_main]

use axum::{Router, http::StatusCode, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, Profile, Rejection, RequireScopesLayer, is_valid_scope_token,
};
use axum_bearer_fuzz::{block_on, check_reply, common, fixture_verifier, lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = lines(data);
    let line = |i: usize| lines.get(i).map(String::as_str).unwrap_or_default();
    let (realm, metadata, resource, broader) = (line(0), line(1), line(2), line(3));
    let scopes: Vec<String> = lines.iter().skip(4).take(16).cloned().collect();

    for profile in [Profile::PythonSdk, Profile::Spec] {
        let auth = BearerAuth::new(fixture_verifier()).profile(profile);
        let realm_ok = realm
            .bytes()
            .all(|b| matches!(b, 0x20 | 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        let auth = match auth.clone().realm(realm) {
            Ok(auth) => {
                assert!(realm_ok, "realm {realm:?} accepted");
                auth
            }
            Err(_) => {
                assert!(!realm_ok, "realm {realm:?} refused");
                auth
            }
        };
        let (auth, metadata) = match auth.clone().resource_metadata_url(metadata) {
            Ok(auth) => {
                assert!(
                    metadata
                        .bytes()
                        .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
                    "metadata URL {metadata:?} accepted"
                );
                (auth, Some(metadata))
            }
            Err(_) => (auth, None),
        };
        let auth = auth.clone().resource_server_url(resource).unwrap_or(auth);
        let auth = match auth.clone().scope_implies(broader, scopes.iter().take(1)) {
            Ok(auth) => {
                assert!(is_valid_scope_token(broader));
                auth
            }
            Err(_) => auth,
        };
        let layer = RequireScopesLayer::new(&scopes);
        assert_eq!(
            layer.is_ok(),
            scopes.iter().all(|scope| is_valid_scope_token(scope)),
            "RequireScopesLayer::new({scopes:?})"
        );

        let mid = scopes.clone();
        let mut app = Router::new()
            .route("/user", get(|_: AuthenticatedUser| async { "ok" }))
            .route(
                "/mid",
                get(move |user: AuthenticatedUser| {
                    let mid = mid.clone();
                    async move {
                        user.require_scopes(&mid)?;
                        Ok::<_, Rejection>("ok")
                    }
                }),
            );
        if let Ok(layer) = &layer {
            app = app.route("/layer", get(|| async { "ok" }).route_layer(layer.clone()));
        }
        let app = app.layer(auth);

        let tokens: [&[&[u8]]; 6] = [
            &[],
            &[b"Bearer tok-none"],
            &[b"Bearer tok-unknown"],
            &[b"Bearer\ttok-none"],
            &[b"Bearer tok-none", b"Bearer tok-none"],
            &[b"Bearer down"],
        ];
        for path in ["/user", "/mid", "/layer"] {
            if path == "/layer" && layer.is_err() {
                continue;
            }
            for authorization in tokens {
                let reply = block_on(common::send(&app, common::get(path, authorization)));
                let Some(params) = check_reply(&reply, profile) else {
                    continue;
                };
                assert_eq!(
                    params.get("resource_metadata").map(String::as_str),
                    metadata
                );
                if profile == Profile::Spec && realm_ok && !realm.is_empty() {
                    assert_eq!(params.get("realm").map(String::as_str), Some(realm));
                }
                if reply.status != StatusCode::FORBIDDEN {
                    continue;
                }
                // Only a token without the scopes gets here.
                assert_ne!(path, "/user");
                let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
                let first = scopes.first().map(String::as_str).unwrap_or_default();
                assert_eq!(
                    body["error_description"].as_str(),
                    Some(format!("Required scope: {first}").as_str()),
                    "{path}"
                );
                if profile == Profile::Spec {
                    let valid: Vec<&str> = scopes
                        .iter()
                        .map(String::as_str)
                        .filter(|scope| is_valid_scope_token(scope))
                        .collect();
                    let want = (!valid.is_empty()).then(|| valid.join(" "));
                    assert_eq!(params.get("scope"), want.as_ref(), "{path}");
                }
            }
        }
    }
});
