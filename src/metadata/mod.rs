//! RFC 9728 protected resource metadata (feature `metadata`, default): the document, its
//! well-known URL, and a router that serves it.
//!
//! An MCP client that gets a 401 reads `resource_metadata` from the challenge, fetches this
//! document and learns which authorization server to ask for a token. Configure
//! [`BearerAuth::protected_resource`](crate::BearerAuth::protected_resource) from the same
//! document, so the challenge URL and the resource check cannot disagree with it.

mod document;
mod router;
mod url;

pub use self::url::{WELL_KNOWN_PATH, metadata_url};
pub use document::ProtectedResourceMetadata;

impl ProtectedResourceMetadata {
    pub(crate) fn parsed_resource(&self) -> Option<::url::Url> {
        url::parse_resource(self.resource()).ok()
    }
}
