//! Serving the document: `GET`/`HEAD` at the well-known path, cacheable, with CORS.

use std::time::Duration;

use axum::{
    Router,
    body::Bytes,
    http::{HeaderName, HeaderValue, Method, header},
    response::IntoResponse,
    routing::get,
};
use tower_http::cors::{Any, CorsLayer};

use super::{ProtectedResourceMetadata, url::metadata_path};

impl ProtectedResourceMetadata {
    /// A router serving this document at its well-known path (RFC 9728 §3): `GET` and `HEAD`
    /// (and a plain `OPTIONS`) answer `200` with `content-type: application/json` and
    /// `Cache-Control: public, max-age=3600`, whatever `Authorization` says. CORS as the MCP
    /// Python SDK: any origin, `GET`/`OPTIONS`, the `mcp-protocol-version` header, preflights
    /// cached 600 s, so browser-based clients can discover the authorization server.
    ///
    /// Merge it into the application; it needs no state.
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use axum_bearer::{BearerAuth, ProtectedResourceMetadata, RequireScopesLayer, StaticVerifier};
    ///
    /// # fn main() -> Result<(), axum_bearer::ConfigError> {
    /// let metadata = ProtectedResourceMetadata::new("https://mcp.example.com/mcp", ["https://auth.example.com"])?
    ///     .with_scopes_supported(["mcp:read"])?;
    /// let auth = BearerAuth::new(StaticVerifier::default()).protected_resource(&metadata)?;
    /// let app: Router = Router::new()
    ///     .route("/mcp", post(|| async { "mcp" }).route_layer(RequireScopesLayer::new(["mcp:read"])?))
    ///     .layer(auth)
    ///     .merge(metadata.router());
    /// # Ok(()) }
    /// ```
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let document = Bytes::from(self.to_json());
        let serve = move || {
            let document = document.clone();
            async move {
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        ),
                        (
                            header::CACHE_CONTROL,
                            HeaderValue::from_static("public, max-age=3600"),
                        ),
                    ],
                    document,
                )
                    .into_response()
            }
        };
        let path = self
            .parsed_resource()
            .map(|resource| metadata_path(&resource))
            .unwrap_or_else(|| super::WELL_KNOWN_PATH.to_owned());
        let cors = CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::OPTIONS])
            .allow_headers([HeaderName::from_static("mcp-protocol-version")])
            .max_age(Duration::from_secs(600));
        Router::new()
            .route(&path, get(serve.clone()).options(serve))
            .layer(cors)
    }
}
