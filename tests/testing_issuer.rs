//! The `testing` kit's loopback issuer, checked over real HTTP: the JWK Set and its caching
//! headers, both discovery documents, rotation and retirement, every fault, the request counters,
//! minted tokens, and shutdown when the last handle is dropped.
#![cfg(feature = "testing")]

use std::{
    io,
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum_bearer::testing::{Endpoint, Fault, TestIssuer};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, jwk::Jwk,
};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const AUDIENCE: &str = "https://api.example/mcp";

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn get_json(client: &Client, url: &str) -> Value {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {url}");
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/json",
        "GET {url}"
    );
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

async fn status(client: &Client, url: &str) -> StatusCode {
    client.get(url).send().await.unwrap().status()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends one request over a fresh connection and reads until the server closes it.
async fn raw_get(addr: SocketAddr, path: &str) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(answer)
}

fn validation(issuer: &TestIssuer) -> Validation {
    let mut validation = Validation::new(issuer.algorithm());
    validation.set_issuer(&[issuer.issuer()]);
    validation.set_audience(&[AUDIENCE]);
    validation
}

/// Verifies `token` with the JWK published under the kid its header names.
fn verify_with_jwks(issuer: &TestIssuer, jwks: &Value, token: &str) -> Value {
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwk: Jwk = serde_json::from_value(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|key| key["kid"] == kid.as_str())
            .unwrap()
            .clone(),
    )
    .unwrap();
    let key = DecodingKey::from_jwk(&jwk).unwrap();
    decode::<Value>(token, &key, &validation(issuer))
        .unwrap()
        .claims
}

#[tokio::test]
async fn urls_are_loopback_and_have_no_trailing_slash() {
    let issuer = TestIssuer::start().await.unwrap();
    let addr = issuer.addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    assert_eq!(issuer.issuer(), format!("http://127.0.0.1:{}", addr.port()));
    assert_eq!(
        issuer.jwks_url(),
        format!("http://127.0.0.1:{}/jwks", addr.port())
    );
    assert_eq!(
        issuer.oauth_metadata_url(),
        format!(
            "http://127.0.0.1:{}/.well-known/oauth-authorization-server",
            addr.port()
        )
    );
    assert_eq!(
        issuer.openid_configuration_url(),
        format!(
            "http://127.0.0.1:{}/.well-known/openid-configuration",
            addr.port()
        )
    );
    assert_eq!(issuer.algorithm(), Algorithm::RS256);
    assert_eq!(issuer.current_kid(), "rs256-0");

    let tenant = TestIssuer::builder()
        .path("/tenant-a/")
        .start()
        .await
        .unwrap();
    let port = tenant.addr().port();
    assert_eq!(tenant.issuer(), format!("http://127.0.0.1:{port}/tenant-a"));
    assert_eq!(
        tenant.jwks_url(),
        format!("http://127.0.0.1:{port}/tenant-a/jwks")
    );

    let root = TestIssuer::builder().path("/").start().await.unwrap();
    assert_eq!(
        root.issuer(),
        format!("http://127.0.0.1:{}", root.addr().port())
    );
}

#[tokio::test]
async fn jwks_publishes_the_key_with_cache_control_and_a_strong_etag() {
    let issuer = TestIssuer::start().await.unwrap();
    let response = client().get(issuer.jwks_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "max-age=300");
    let etag = response.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
    let jwks: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();

    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kid"], issuer.current_kid());
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kty"], "RSA");
    assert!(key["n"].is_string() && key["e"].is_string());
    assert!(key.get("d").is_none(), "no private parts");
    assert_eq!(
        serde_json::to_value(issuer.public_jwk(&issuer.current_kid()).unwrap()).unwrap(),
        *key
    );
}

#[tokio::test]
async fn jwks_answers_304_to_a_matching_if_none_match_until_the_keys_change() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    let first = client.get(issuer.jwks_url()).send().await.unwrap();
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_owned();

    for if_none_match in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        "*".to_owned(),
    ] {
        let response = client
            .get(issuer.jwks_url())
            .header(header::IF_NONE_MATCH, &if_none_match)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::NOT_MODIFIED,
            "{if_none_match}"
        );
        assert_eq!(response.headers()[header::ETAG], etag.as_str());
        assert_eq!(response.headers()[header::CACHE_CONTROL], "max-age=300");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let other = client
        .get(issuer.jwks_url())
        .header(header::IF_NONE_MATCH, "\"jwks-0000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    // Same document, same tag.
    let again = client.get(issuer.jwks_url()).send().await.unwrap();
    assert_eq!(again.headers()[header::ETAG], etag.as_str());

    let old_kid = issuer.current_kid();
    let new_kid = issuer.rotate();
    let rotated = client
        .get(issuer.jwks_url())
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated_etag = rotated.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert_ne!(rotated_etag, etag);
    assert!(
        kids(&serde_json::from_slice(&rotated.bytes().await.unwrap()).unwrap()).contains(&new_kid)
    );

    assert!(issuer.retire(&old_kid));
    let retired = client.get(issuer.jwks_url()).send().await.unwrap();
    let retired_etag = retired.headers()[header::ETAG].to_str().unwrap();
    assert_ne!(retired_etag, rotated_etag);
    assert_ne!(retired_etag, etag);
}

#[tokio::test]
async fn jwks_cache_control_is_configurable() {
    let client = client();
    let minute = TestIssuer::builder()
        .jwks_max_age(Duration::from_millis(60_900))
        .start()
        .await
        .unwrap();
    let response = client.get(minute.jwks_url()).send().await.unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "max-age=60");

    let no_store = TestIssuer::builder()
        .jwks_cache_control("no-store")
        .start()
        .await
        .unwrap();
    let response = client.get(no_store.jwks_url()).send().await.unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");

    let error = TestIssuer::builder()
        .jwks_cache_control("max-age=1\r\nx: y")
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn discovery_documents_are_served_at_the_well_known_paths() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    let origin = issuer.issuer().to_owned();

    let oauth = get_json(
        &client,
        &format!("{origin}/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(oauth["issuer"], issuer.issuer());
    assert_eq!(oauth["jwks_uri"], issuer.jwks_url());
    assert_eq!(oauth["response_types_supported"], json!(["code"]));
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "introspection_endpoint",
    ] {
        assert!(
            oauth[endpoint].as_str().unwrap().starts_with(&origin),
            "{endpoint}"
        );
    }
    assert!(oauth.get("subject_types_supported").is_none());

    let oidc = get_json(
        &client,
        &format!("{origin}/.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(oidc["issuer"], issuer.issuer());
    assert_eq!(oidc["jwks_uri"], issuer.jwks_url());
    assert_eq!(oidc["response_types_supported"], json!(["code"]));
    assert_eq!(oidc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );

    // The advertised jwks_uri works.
    let jwks = get_json(&client, oauth["jwks_uri"].as_str().unwrap()).await;
    assert_eq!(kids(&jwks), [issuer.current_kid()]);
}

#[tokio::test]
async fn discovery_with_a_path_inserts_for_rfc8414_and_appends_for_openid() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::ES256)
        .path("/tenant-a")
        .start()
        .await
        .unwrap();
    let client = client();
    let origin = format!("http://{}", issuer.addr());
    assert_eq!(issuer.issuer(), format!("{origin}/tenant-a"));

    let oauth_url = format!("{origin}/.well-known/oauth-authorization-server/tenant-a");
    assert_eq!(issuer.oauth_metadata_url(), oauth_url);
    let oauth = get_json(&client, &oauth_url).await;
    assert_eq!(oauth["issuer"], issuer.issuer());
    assert_eq!(oauth["jwks_uri"], format!("{origin}/tenant-a/jwks"));

    let oidc_url = format!("{origin}/tenant-a/.well-known/openid-configuration");
    assert_eq!(issuer.openid_configuration_url(), oidc_url);
    let oidc = get_json(&client, &oidc_url).await;
    assert_eq!(oidc["issuer"], issuer.issuer());
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );

    let jwks = get_json(&client, &format!("{origin}/tenant-a/jwks")).await;
    assert_eq!(jwks["keys"][0]["alg"], "ES256");
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    assert_eq!(jwks["keys"][0]["crv"], "P-256");

    for wrong in [
        "/jwks",
        "/.well-known/oauth-authorization-server",
        "/tenant-a/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/tenant-a",
        "/tenant-ab/jwks",
        "/tenant-a/jwks/",
    ] {
        assert_eq!(
            status(&client, &format!("{origin}{wrong}")).await,
            StatusCode::NOT_FOUND,
            "{wrong}"
        );
    }
}

#[tokio::test]
async fn set_discovery_issuer_changes_only_the_advertised_issuer() {
    let issuer = TestIssuer::builder().path("/t").start().await.unwrap();
    let client = client();
    issuer.set_discovery_issuer(Some("https://evil.example".to_owned()));
    for url in [
        issuer.oauth_metadata_url(),
        issuer.openid_configuration_url(),
    ] {
        let document = get_json(&client, &url).await;
        assert_eq!(document["issuer"], "https://evil.example", "{url}");
        assert_eq!(document["jwks_uri"], issuer.jwks_url(), "{url}");
    }
    // Tokens keep the real issuer.
    assert_eq!(issuer.claims_for(AUDIENCE)["iss"], issuer.issuer());

    issuer.set_discovery_issuer(None);
    for url in [
        issuer.oauth_metadata_url(),
        issuer.openid_configuration_url(),
    ] {
        assert_eq!(
            get_json(&client, &url).await["issuer"],
            issuer.issuer(),
            "{url}"
        );
    }
}

#[tokio::test]
async fn unknown_paths_get_404_and_other_methods_405() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    for path in [
        "/",
        "/authorize",
        "/token",
        "/jwks.json",
        "/.well-known/jwks.json",
    ] {
        assert_eq!(
            status(&client, &format!("{}{path}", issuer.issuer())).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let response = client.post(issuer.jwks_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET");
    assert_eq!(issuer.requests(Endpoint::Jwks), 0);
    // Introspection is the one POST endpoint (RFC 7662 §2.1).
    let response = client.get(issuer.introspection_url()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
    assert_eq!(issuer.requests(Endpoint::Introspection), 0);
}

#[tokio::test]
async fn rotation_publishes_old_and_new_keys_and_mint_signs_with_the_new_one() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    let old_kid = issuer.current_kid();
    let old_token = issuer.mint(issuer.claims_for(AUDIENCE));

    let new_kid = issuer.rotate();
    assert_ne!(new_kid, old_kid);
    assert_eq!(issuer.current_kid(), new_kid);
    let new_token = issuer.mint(issuer.claims_for(AUDIENCE));
    assert_eq!(
        decode_header(&new_token).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    assert_eq!(
        decode_header(&old_token).unwrap().kid.as_deref(),
        Some(old_kid.as_str())
    );

    let jwks = get_json(&client, &issuer.jwks_url()).await;
    assert_eq!(kids(&jwks), [old_kid.clone(), new_kid.clone()]);
    verify_with_jwks(&issuer, &jwks, &old_token);
    verify_with_jwks(&issuer, &jwks, &new_token);

    // The new key really is another key.
    let old_key = DecodingKey::from_jwk(&issuer.public_jwk(&old_kid).unwrap()).unwrap();
    assert!(decode::<Value>(&new_token, &old_key, &validation(&issuer)).is_err());
}

#[tokio::test]
async fn any_number_of_rotations_gives_fresh_kids_that_all_verify() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::EdDSA)
        .start()
        .await
        .unwrap();
    let mut tokens = vec![issuer.mint(issuer.claims_for(AUDIENCE))];
    let mut all_kids = vec![issuer.current_kid()];
    for _ in 0..10 {
        all_kids.push(issuer.rotate());
        tokens.push(issuer.mint(issuer.claims_for(AUDIENCE)));
    }
    let mut unique = all_kids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 11);
    assert_eq!(all_kids[10], "eddsa-10");

    let jwks = get_json(&client(), &issuer.jwks_url()).await;
    assert_eq!(kids(&jwks), all_kids);
    for token in &tokens {
        verify_with_jwks(&issuer, &jwks, token);
    }
}

#[tokio::test]
async fn retire_stops_publishing_a_key() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    let old_kid = issuer.current_kid();
    let new_kid = issuer.rotate();

    assert!(issuer.retire(&old_kid));
    assert!(!issuer.retire(&old_kid), "already retired");
    assert!(!issuer.retire("no-such-kid"));
    assert_eq!(
        kids(&get_json(&client, &issuer.jwks_url()).await),
        [new_kid.as_str()]
    );
    // A retired key stays known to the test.
    assert!(issuer.public_jwk(&old_kid).is_some());
    assert!(issuer.public_key_pem(&old_kid).is_some());

    // Retiring the signing key leaves it signing: tokens then name an unpublished kid.
    assert!(issuer.retire(&new_kid));
    assert_eq!(issuer.current_kid(), new_kid);
    let token = issuer.mint(issuer.claims_for(AUDIENCE));
    assert_eq!(
        decode_header(&token).unwrap().kid.as_deref(),
        Some(new_kid.as_str())
    );
    assert!(kids(&get_json(&client, &issuer.jwks_url()).await).is_empty());
}

#[tokio::test]
async fn fault_down_closes_connections_without_an_answer() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    issuer.set_fault(Fault::Down);

    for url in [
        issuer.jwks_url(),
        issuer.oauth_metadata_url(),
        issuer.openid_configuration_url(),
    ] {
        let error = client.get(&url).send().await.unwrap_err();
        assert!(error.status().is_none(), "{url}: {error}");
    }
    // Over raw TCP: the connection is accepted, then closed with no byte of a response.
    match raw_get(issuer.addr(), "/jwks").await {
        Ok(answer) => assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer)),
        Err(error) => assert!(
            matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
            ),
            "{error}"
        ),
    }
    assert!(
        issuer.dropped_connections() >= 4,
        "{}",
        issuer.dropped_connections()
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 0);
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 0);
    assert_eq!(issuer.requests(Endpoint::OpenIdConfiguration), 0);

    issuer.set_fault(Fault::None);
    assert_eq!(status(&client, &issuer.jwks_url()).await, StatusCode::OK);
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn fault_down_on_one_endpoint_also_drops_kept_alive_connections() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    // Opens a pooled connection.
    assert_eq!(status(&client, &issuer.jwks_url()).await, StatusCode::OK);

    issuer.set_endpoint_fault(Endpoint::Jwks, Fault::Down);
    let error = client.get(issuer.jwks_url()).send().await.unwrap_err();
    assert!(error.status().is_none(), "{error}");
    assert!(issuer.dropped_connections() >= 1);
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);

    // The other endpoints still answer.
    get_json(&client, &issuer.oauth_metadata_url()).await;
    get_json(&client, &issuer.openid_configuration_url()).await;
}

#[tokio::test]
async fn fault_slow_delays_the_answer() {
    let issuer = TestIssuer::start().await.unwrap();
    let delay = Duration::from_millis(300);
    issuer.set_fault(Fault::Slow(delay));
    let client = client();
    for url in [
        issuer.jwks_url(),
        issuer.oauth_metadata_url(),
        issuer.openid_configuration_url(),
    ] {
        let started = Instant::now();
        let document = get_json(&client, &url).await;
        assert!(started.elapsed() >= delay, "{url}: {:?}", started.elapsed());
        assert!(document.is_object());
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);

    // Slower than the client's timeout: the client gives up.
    issuer.set_fault(Fault::Slow(Duration::from_secs(30)));
    let impatient = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = impatient.get(issuer.jwks_url()).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[tokio::test]
async fn fault_status_answers_that_status_everywhere() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    issuer.set_fault(Fault::Status(500));
    for url in [
        issuer.jwks_url(),
        issuer.oauth_metadata_url(),
        issuer.openid_configuration_url(),
    ] {
        assert_eq!(
            status(&client, &url).await,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{url}"
        );
    }
    issuer.set_fault(Fault::Status(503));
    assert_eq!(
        status(&client, &issuer.jwks_url()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    issuer.set_fault(Fault::Status(42));
    assert_eq!(
        status(&client, &issuer.jwks_url()).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    issuer.set_fault(Fault::None);
    assert_eq!(status(&client, &issuer.jwks_url()).await, StatusCode::OK);
}

#[tokio::test]
async fn fault_on_one_endpoint_leaves_the_others_alone() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    issuer.set_endpoint_fault(Endpoint::OAuthMetadata, Fault::Status(404));
    assert_eq!(
        status(&client, &issuer.oauth_metadata_url()).await,
        StatusCode::NOT_FOUND
    );
    get_json(&client, &issuer.openid_configuration_url()).await;
    get_json(&client, &issuer.jwks_url()).await;
    // set_fault overrides every endpoint.
    issuer.set_fault(Fault::None);
    get_json(&client, &issuer.oauth_metadata_url()).await;
}

#[tokio::test]
async fn fault_invalid_json_answers_200_json_that_does_not_parse() {
    let issuer = TestIssuer::start().await.unwrap();
    let client = client();
    issuer.set_fault(Fault::InvalidJson);
    for url in [
        issuer.jwks_url(),
        issuer.oauth_metadata_url(),
        issuer.openid_configuration_url(),
    ] {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = response.bytes().await.unwrap();
        assert!(!body.is_empty());
        assert!(serde_json::from_slice::<Value>(&body).is_err(), "{url}");
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn request_counters_count_each_endpoint() {
    let issuer = TestIssuer::builder().path("/t").start().await.unwrap();
    let client = client();
    for _ in 0..3 {
        get_json(&client, &issuer.jwks_url()).await;
    }
    get_json(&client, &issuer.oauth_metadata_url()).await;
    let etag = client
        .get(issuer.jwks_url())
        .send()
        .await
        .unwrap()
        .headers()[header::ETAG]
        .clone();
    let not_modified = client
        .get(issuer.jwks_url())
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    status(&client, &format!("{}/nothing-here", issuer.issuer())).await;

    assert_eq!(issuer.requests(Endpoint::Jwks), 5);
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1);
    assert_eq!(issuer.requests(Endpoint::OpenIdConfiguration), 0);

    issuer.set_fault(Fault::Status(500));
    status(&client, &issuer.openid_configuration_url()).await;
    assert_eq!(
        issuer.requests(Endpoint::OpenIdConfiguration),
        1,
        "faulty answers count"
    );

    issuer.reset_counters();
    assert_eq!(issuer.requests(Endpoint::Jwks), 0);
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 0);
    assert_eq!(issuer.requests(Endpoint::OpenIdConfiguration), 0);
    assert_eq!(issuer.dropped_connections(), 0);
}

#[tokio::test]
async fn minted_tokens_verify_with_the_public_jwk_for_each_algorithm() {
    for algorithm in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ] {
        let issuer = TestIssuer::builder()
            .algorithm(algorithm)
            .start()
            .await
            .unwrap();
        let kid = issuer.current_kid();
        let claims = issuer.claims_for(AUDIENCE);
        let token = issuer.mint(claims.clone());

        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, algorithm);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"), "{algorithm:?}");
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));

        let jwk = issuer.public_jwk(&kid).unwrap();
        assert_eq!(jwk.common.key_id.as_deref(), Some(kid.as_str()));
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let verified = decode::<Value>(&token, &key, &validation(&issuer)).unwrap();
        assert_eq!(
            verified.claims, claims,
            "{algorithm:?}: claims exactly as given"
        );

        // The same token through the published JWK Set.
        let jwks = get_json(&client(), &issuer.jwks_url()).await;
        assert_eq!(verify_with_jwks(&issuer, &jwks, &token), claims);
    }
}

#[tokio::test]
async fn minted_tokens_verify_with_the_public_pem() {
    type FromPem = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;
    let cases: [(Algorithm, FromPem); 3] = [
        (Algorithm::RS256, DecodingKey::from_rsa_pem),
        (Algorithm::ES256, DecodingKey::from_ec_pem),
        (Algorithm::EdDSA, DecodingKey::from_ed_pem),
    ];
    for (algorithm, from_pem) in cases {
        let issuer = TestIssuer::builder()
            .algorithm(algorithm)
            .start()
            .await
            .unwrap();
        let kid = issuer.current_kid();
        let public = issuer.public_key_pem(&kid).unwrap();
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
        let private = issuer.private_key_pem(&kid).unwrap();
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(
            issuer.public_key_pem("nope").is_none() && issuer.private_key_pem("nope").is_none()
        );

        let token = issuer.mint(issuer.claims_for(AUDIENCE));
        let key = from_pem(public.as_bytes()).unwrap();
        decode::<Value>(&token, &key, &validation(&issuer)).unwrap();
    }

    // The PEM bytes are what the "HS256 signed with the public key" attack uses as its secret.
    let issuer = TestIssuer::start().await.unwrap();
    let public = issuer.public_key_pem(&issuer.current_kid()).unwrap();
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &issuer.claims_for(AUDIENCE),
        &EncodingKey::from_secret(public.as_bytes()).unwrap(),
    )
    .unwrap();
    let rsa_key = DecodingKey::from_rsa_pem(public.as_bytes()).unwrap();
    assert!(decode::<Value>(&forged, &rsa_key, &validation(&issuer)).is_err());
}

#[tokio::test]
async fn claims_for_is_a_valid_rfc9068_claim_set() {
    let issuer = TestIssuer::start().await.unwrap();
    let claims = issuer.claims_for(AUDIENCE);
    assert_eq!(claims["iss"], issuer.issuer());
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["aud"], AUDIENCE);
    assert_eq!(claims["client_id"], "client-1");
    assert_eq!(claims["scope"], "mcp:read");
    let iat = claims["iat"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - iat).abs() <= 2, "iat {iat}, now {now}");
    assert_eq!(claims["exp"].as_i64().unwrap(), iat + 300);
    assert!(claims.get("nbf").is_none());
    let jtis: std::collections::HashSet<String> = (0..100)
        .map(|_| {
            issuer.claims_for(AUDIENCE)["jti"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(jtis.len(), 100);
}

#[tokio::test]
async fn mint_with_header_signs_with_the_current_key_under_the_header_as_given() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some("someone-elses-kid".to_owned());
    header.jku = Some("https://evil.example/jwks".to_owned());
    header.x5u = Some("https://evil.example/cert".to_owned());
    header.jwk = issuer.public_jwk(&issuer.current_kid());
    let claims = issuer.claims_for(AUDIENCE);
    let token = issuer
        .mint_with_header(header.clone(), claims.clone())
        .unwrap();
    assert_eq!(decode_header(&token).unwrap(), header);

    // `crit` too (jsonwebtoken itself refuses to verify a token with an unknown `crit`).
    let mut critical = header.clone();
    critical.crit = Some(vec!["exp-ext".to_owned()]);
    let critical_token = issuer
        .mint_with_header(critical.clone(), claims.clone())
        .unwrap();
    assert_eq!(decode_header(&critical_token).unwrap(), critical);

    let key = DecodingKey::from_jwk(&issuer.public_jwk(&issuer.current_kid()).unwrap()).unwrap();
    let mut validation = validation(&issuer);
    validation.algorithms = vec![Algorithm::RS256];
    assert_eq!(
        decode::<Value>(&token, &key, &validation).unwrap().claims,
        claims
    );

    // No header field is added.
    let bare = issuer
        .mint_with_header(
            Header {
                typ: None,
                ..Header::new(Algorithm::RS256)
            },
            json!({}),
        )
        .unwrap();
    let decoded = decode_header(&bare).unwrap();
    assert_eq!((decoded.typ, decoded.kid), (None, None));

    // Another RSA algorithm works with the same key; another family does not.
    issuer
        .mint_with_header(Header::new(Algorithm::PS512), claims.clone())
        .unwrap();
    for foreign in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        assert!(
            issuer
                .mint_with_header(Header::new(foreign), claims.clone())
                .is_err(),
            "{foreign:?}"
        );
    }
}

#[tokio::test]
async fn unsupported_configuration_is_refused_at_start() {
    for algorithm in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let error = TestIssuer::builder()
            .algorithm(algorithm)
            .start()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{algorithm:?}");
    }
    for path in [
        "tenant", "/a b", "/a//b", "/a?x=1", "/a#f", "/../x", "/ä", "//",
    ] {
        let error = TestIssuer::builder().path(path).start().await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{path}");
    }
    let nested = TestIssuer::builder()
        .path("/org/tenant-a.v1_~x")
        .start()
        .await
        .unwrap();
    assert!(nested.issuer().ends_with("/org/tenant-a.v1_~x"));
    get_json(&client(), &nested.oauth_metadata_url()).await;
}

#[tokio::test]
async fn the_issuer_stops_when_the_last_handle_is_dropped() {
    let issuer = TestIssuer::start().await.unwrap();
    let addr = issuer.addr();
    let url = issuer.jwks_url();
    let client = client();

    let clone = issuer.clone();
    drop(issuer);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A pooled (kept-alive) connection from here on.
    assert_eq!(status(&client, &url).await, StatusCode::OK);
    assert_eq!(
        clone.requests(Endpoint::Jwks),
        1,
        "the clone shares the server"
    );

    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if TcpStream::connect(addr).await.is_err() {
            break;
        }
        assert!(Instant::now() < deadline, "still accepting connections");
    }
    // The kept-alive connection was closed too.
    assert!(client.get(&url).send().await.is_err());
}
