//! The issuer's HTTP/1.1 server: a hand-written accept loop (so [`Fault::Down`] can close a
//! socket before any byte is read) and one task per connection.

use std::{fmt, sync::Arc, time::Duration};

use axum::body::Body;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::watch};

use super::{
    fault::{Endpoint, Fault},
    introspection::IntrospectionRequest,
    issuer::Shared,
};

/// The largest introspection request body read; a form with one token is far smaller.
const MAX_INTROSPECTION_BODY: usize = 64 * 1024;

/// The body [`Fault::InvalidJson`] sends.
const INVALID_JSON_BODY: &str = "{\"keys\": [ this is not JSON";

/// Returned by the service to make hyper close the connection without writing a response.
#[derive(Debug)]
struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by Fault::Down")
    }
}

impl std::error::Error for Dropped {}

/// Accepts connections until every handle is gone (`stopped` then reports the sender closed).
pub(super) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::debug!(%error, "test issuer: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        if shared.all_down() {
            shared.count_dropped();
            drop(stream);
            continue;
        }
        let shared = Arc::clone(&shared);
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&shared), request));
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                // Errors here are the client's or a `Dropped`: nothing to report.
                _ = connection => {}
                _ = stopped.changed() => {}
            }
        });
    }
}

fn route(shared: &Shared, path: &str) -> Option<Endpoint> {
    if let Some(rest) = path.strip_prefix(shared.path.as_str()) {
        match rest {
            "/jwks" => return Some(Endpoint::Jwks),
            "/introspect" => return Some(Endpoint::Introspection),
            "/.well-known/openid-configuration" => return Some(Endpoint::OpenIdConfiguration),
            _ => {}
        }
    }
    let inserted = path.strip_prefix("/.well-known/oauth-authorization-server")?;
    (inserted == shared.path).then_some(Endpoint::OAuthMetadata)
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Dropped> {
    let Some(endpoint) = route(&shared, request.uri().path()) else {
        return Ok(plain(StatusCode::NOT_FOUND, "not found"));
    };
    let (method, allow) = match endpoint {
        Endpoint::Introspection => (Method::POST, "POST"),
        _ => (Method::GET, "GET"),
    };
    if request.method() != method {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        return Ok(response);
    }
    let (parts, body) = request.into_parts();
    let fault = shared.fault(endpoint);
    if fault == Fault::Down {
        shared.count_dropped();
        return Err(Dropped);
    }
    shared.count_request(endpoint);
    // The request is logged before any fault applies: the test sees what was sent.
    let introspection = match endpoint {
        Endpoint::Introspection => Some(
            read_introspection(&parts.headers, body)
                .await
                .inspect(|logged| shared.log_introspection(logged.clone())),
        ),
        _ => None,
    };
    match fault {
        Fault::Slow(delay) => tokio::time::sleep(delay).await,
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Ok(plain(status, "injected fault"));
        }
        Fault::InvalidJson => return Ok(json(StatusCode::OK, INVALID_JSON_BODY.to_owned())),
        _ => {}
    }
    if let Some(introspection) = introspection {
        return Ok(match introspection {
            Ok(logged) => {
                let answer = shared.introspect(&logged);
                let mut response = json(answer.status, answer.body);
                if let Some(challenge) = answer.challenge {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, challenge);
                }
                response
            }
            Err(status) => plain(status, "unreadable request body"),
        });
    }
    Ok(match endpoint {
        Endpoint::Jwks => jwks(&shared, &parts.headers),
        Endpoint::OAuthMetadata => json(StatusCode::OK, metadata(&shared, false).to_string()),
        Endpoint::OpenIdConfiguration => json(StatusCode::OK, metadata(&shared, true).to_string()),
        // Answered above.
        Endpoint::Introspection => plain(StatusCode::INTERNAL_SERVER_ERROR, "unreachable"),
    })
}

/// Reads an introspection request: headers and the decoded form body.
async fn read_introspection(
    headers: &HeaderMap,
    body: Incoming,
) -> Result<IntrospectionRequest, StatusCode> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|value: &HeaderValue| value.to_str().ok())
            .map(str::to_owned)
    };
    let body = axum::body::to_bytes(Body::new(body), MAX_INTROSPECTION_BODY)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE)?;
    Ok(IntrospectionRequest {
        form: url::form_urlencoded::parse(&body).into_owned().collect(),
        authorization: header(header::AUTHORIZATION),
        content_type: header(header::CONTENT_TYPE),
    })
}

fn jwks(shared: &Shared, request_headers: &HeaderMap) -> Response<Body> {
    let document = shared.jwks();
    let not_modified = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|value| if_none_match_hits(value, &document.etag));
    let mut response = if not_modified {
        shared.count_not_modified();
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        json(StatusCode::OK, document.body.clone())
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, shared.jwks_cache_control.clone());
    if let Ok(etag) = HeaderValue::try_from(document.etag.as_str()) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// RFC 9110 §13.1.2: `*` or a list of entity tags, compared weakly.
fn if_none_match_hits(value: &HeaderValue, etag: &str) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

/// The RFC 8414 document, or with `openid` the OpenID Connect Discovery 1.0 one.
fn metadata(shared: &Shared, openid: bool) -> serde_json::Value {
    let mut document = serde_json::json!({
        "issuer": shared.discovery_issuer(),
        "jwks_uri": shared.jwks_url(),
        "authorization_endpoint": format!("{}/authorize", shared.issuer),
        "token_endpoint": format!("{}/token", shared.issuer),
        "introspection_endpoint": shared.introspection_url(),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
    });
    if openid && let Some(object) = document.as_object_mut() {
        object.insert(
            "subject_types_supported".to_owned(),
            serde_json::json!(["public"]),
        );
        object.insert(
            "id_token_signing_alg_values_supported".to_owned(),
            serde_json::json!([shared.algorithm]),
        );
    }
    document
}

fn json(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn plain(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
