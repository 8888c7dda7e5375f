//! Test kit (feature `testing`): a loopback authorization server and a token minter.
