//! Hostile `Authorization` headers through the real `Router`, in both profiles.
//!
//! Every case of the table goes to `/mcp`, `/rw` and `/plain` of `common::reference_app`, once per
//! profile, with a fresh `Recording` verifier. Each reply is checked against the case's expected
//! outcome and against the invariants that hold for any input: no panic, never a 500, a valid and
//! parseable challenge on every 400/401/403, a JSON body, no token echoed back, the verifier left
//! alone when the credentials cannot be a token.
//!
//! Bytes that `HeaderValue::from_bytes` refuses (NUL, CR, LF and the other C0 controls except HTAB,
//! and DEL) cannot reach the router at all; `header_values_refuse_control_bytes_except_tab` pins
//! that, so the table only holds what the header map can carry.

mod common;

use std::collections::{BTreeMap, HashSet};

use axum::{
    Router,
    body::Body,
    http::{
        HeaderName, HeaderValue, Method, Request, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE},
    },
    routing::any,
};
use axum_bearer::{AccessToken, AuthenticatedUser, BearerAuth, Profile, Rejection, StaticVerifier};
use common::{METADATA_URL, PY_401_BODY, Recording, Reply};

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// What a case should get, in one profile (the status then depends on the route's scopes).
#[derive(Debug, Clone, Copy)]
enum Want {
    /// No usable credentials: 401, Spec without `error`; the verifier is not asked.
    NoCreds,
    /// A malformed request: Spec 400 `invalid_request`; the verifier is not asked. Never PythonSdk.
    BadRequest,
    /// 401 `invalid_token`; `verified` says whether the verifier is asked first.
    Invalid { verified: bool },
    /// The verifier accepts the token of `client`, granted `mcp:read` / `mcp:write` as given.
    Granted {
        client: &'static str,
        read: bool,
        write: bool,
    },
}

use Want::{BadRequest as BAD, NoCreds as NO};
/// Refused as invalid after asking the verifier.
const INV: Want = Want::Invalid { verified: true };
/// Refused as invalid without asking the verifier (syntax, length cap).
const REF: Want = Want::Invalid { verified: false };
const READ: Want = Want::Granted {
    client: "client-read",
    read: true,
    write: false,
};
const RW: Want = Want::Granted {
    client: "client-rw",
    read: true,
    write: true,
};

struct Case {
    name: String,
    /// `Authorization` field lines, in order.
    auth: Vec<Vec<u8>>,
    /// Other request headers.
    extra: Vec<(&'static str, Vec<u8>)>,
    /// Query string, without `?`.
    query: &'static str,
    /// A form-encoded POST body.
    form: Option<&'static str>,
    py: Want,
    spec: Want,
}

const CAP: usize = axum_bearer::DEFAULT_MAX_TOKEN_LEN;
const KIB64: usize = 64 * 1024;
const MIB: usize = 1024 * 1024;

fn display(values: &[Vec<u8>]) -> String {
    let shown: Vec<String> = values
        .iter()
        .take(3)
        .map(|value| {
            let escaped = value.escape_ascii().to_string();
            if escaped.len() > 60 {
                format!("{}…({} bytes)", &escaped[..60], value.len())
            } else {
                format!("{escaped:?}")
            }
        })
        .collect();
    let more = if values.len() > 3 {
        format!(" +{} more", values.len() - 3)
    } else {
        String::new()
    };
    format!("[{}{more}]", shown.join(", "))
}

/// A case with the given `Authorization` values; named after them.
fn case(auth: &[&[u8]], py: Want, spec: Want) -> Case {
    owned(auth.iter().map(|value| value.to_vec()).collect(), py, spec)
}

fn owned(auth: Vec<Vec<u8>>, py: Want, spec: Want) -> Case {
    Case {
        name: display(&auth),
        auth,
        extra: Vec::new(),
        query: "",
        form: None,
        py,
        spec,
    }
}

/// `prefix` followed by `len` copies of `fill`.
fn long(prefix: &str, fill: u8, len: usize) -> Vec<u8> {
    let mut value = prefix.as_bytes().to_vec();
    value.resize(prefix.len() + len, fill);
    value
}

impl Case {
    fn named(mut self, name: &str) -> Self {
        self.name = format!("{name} {}", self.name);
        self
    }

    fn extra(mut self, name: &'static str, value: &[u8]) -> Self {
        self.extra.push((name, value.to_vec()));
        self
    }

    fn query(mut self, query: &'static str) -> Self {
        self.query = query;
        self
    }

    fn form(mut self, body: &'static str) -> Self {
        self.form = Some(body);
        self
    }

    fn want(&self, profile: Profile) -> Want {
        if profile == Profile::Spec {
            self.spec
        } else {
            self.py
        }
    }

    fn request(&self, path: &str) -> Request<Body> {
        let uri = if self.query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", self.query)
        };
        let mut request = match self.form {
            None => Request::get(uri).body(Body::empty()).unwrap(),
            Some(form) => Request::post(uri)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        };
        let headers = request.headers_mut();
        for value in &self.auth {
            let value = HeaderValue::from_bytes(value)
                .unwrap_or_else(|_| panic!("{}: from_bytes refused the value", self.name));
            headers.append(AUTHORIZATION, value);
        }
        for (name, value) in &self.extra {
            let value = HeaderValue::from_bytes(value)
                .unwrap_or_else(|_| panic!("{}: from_bytes refused {name}", self.name));
            headers.append(HeaderName::from_static(name), value);
        }
        request
    }

    /// The token the verifier must be asked about, if asked at all.
    fn verified_token(&self, profile: Profile) -> String {
        let first = &self.auth[0];
        if profile == Profile::Spec {
            let value = first.trim_ascii();
            let scheme_end = value
                .iter()
                .position(|&b| b == b' ' || b == b'\t')
                .unwrap_or(value.len());
            let token = value[scheme_end..].trim_ascii_start();
            String::from_utf8(token.to_vec()).expect("a token Spec verifies is ASCII")
        } else {
            // The reference's `value[7:]`, the bytes read as Latin-1.
            first[7..].iter().map(|&b| char::from(b)).collect()
        }
    }

    /// Request bytes that must never come back: the credentials after the scheme, each piece of
    /// them, the query and form values and the junk headers, as bytes and read as Latin-1.
    fn secrets(&self) -> Vec<Vec<u8>> {
        let mut secrets = Vec::new();
        let mut add = |bytes: &[u8]| {
            let bytes = bytes.trim_ascii();
            secrets.push(bytes.to_vec());
            let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
            secrets.push(latin1.into_bytes());
        };
        for value in &self.auth {
            let value = value.trim_ascii();
            let credentials = match value.iter().position(|&b| b == b' ' || b == b'\t') {
                Some(at) => &value[at..],
                None => value,
            };
            add(credentials);
            for piece in credentials.split(|&b| b == b' ' || b == b'\t' || b == b',') {
                add(piece);
            }
        }
        for (_, value) in &self.extra {
            add(value);
        }
        for pair in self
            .query
            .split('&')
            .chain(self.form.into_iter().flat_map(|f| f.split('&')))
        {
            add(pair.split_once('=').map_or(pair, |(_, v)| v).as_bytes());
        }
        secrets.retain(|secret| {
            secret.len() > 3 && !FIXED.iter().any(|text| contains(text.as_bytes(), secret))
        });
        secrets.sort();
        secrets.dedup();
        secrets
    }
}

/// Every text the crate or the harness may legitimately write into a response.
const FIXED: &[&str] = &[
    PY_401_BODY,
    METADATA_URL,
    common::RESOURCE,
    "Bearer error=\"invalid_token\", error_description=\"Authentication required\"",
    "Bearer error=\"insufficient_scope\", error_description=\"Required scope: mcp:read\"",
    "Bearer error=\"insufficient_scope\", error_description=\"Required scope: mcp:write\"",
    "Bearer realm=\"api\", error=\"invalid_request\", error_description, scope=\"mcp:read mcp:write\", resource_metadata",
    "{\"error\": \"temporarily_unavailable\", \"error_description\": \"Token verification is temporarily unavailable\"}",
    "Multiple Authorization headers",
    "Empty Authorization header",
    "Bearer credentials without a token",
    "The bearer token must follow a space",
    "The Authorization header must hold a single bearer token",
    "The access token is too long",
    "The access token is malformed",
    "The access token is invalid",
    "The access token expired",
    "The access token is not valid for this resource",
    "application/json",
    "text/plain; charset=utf-8",
    "ok client-read client-rw client-write client-none client-upper client-slash client-case",
    "ok client-noexp client-pad test_client",
];

/// A marker the crate never writes: it must never come back, escaped or not.
const MARKER: &str = "s3cr3t";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && needle.len() <= haystack.len()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Scheme and separator variants, other schemes, empty values.
fn scheme_cases() -> Vec<Case> {
    vec![
        case(&[b"Bearer tok-read"], READ, READ),
        case(&[b"bearer tok-read"], READ, READ),
        case(&[b"BEARER tok-read"], READ, READ),
        case(&[b"bEaReR tok-read"], READ, READ),
        case(&[b"Bearer"], NO, BAD),
        case(&[b"Bearer "], REF, BAD),
        case(&[b"bearer"], NO, BAD),
        case(&[b"BEARER x"], INV, INV),
        case(&[b"Bearer\tx"], NO, BAD),
        case(&[b"Bearer\ttok-read"], NO, BAD),
        case(&[b"Bearer\t\ttok-read"], NO, BAD),
        case(&[b"Bearer  x"], INV, INV),
        case(&[b"Bearer  tok-read"], INV, READ),
        case(&[b"Bearer     tok-read"], INV, READ),
        case(&[b"Bearer \ttok-read"], INV, BAD),
        case(&[b"Bearer  "], INV, BAD),
        case(&[b"Bearer x y"], INV, BAD),
        case(&[b"Bearer s3cr3t-one s3cr3t-two"], INV, BAD),
        case(&[b"Bearer tok-read tok-read"], INV, BAD),
        case(&[b"Bearer Bearer tok-read"], INV, BAD),
        case(&[b"Bearer token=\"x\""], INV, BAD),
        case(&[b"Bearer token=\"s3cr3t-param\", realm=\"x\""], INV, BAD),
        case(&[b"Bearerx"], NO, NO),
        case(&[b"Bearertok-read"], NO, NO),
        case(&[b"Bearer:tok-read"], NO, NO),
        case(&[b"Bearer,tok-read"], NO, NO),
        case(&[b"Bearer=tok-read"], NO, NO),
        case(&[b"Bearer\xa0tok-read"], NO, NO),
        case(&[b"B\xe9arer tok-read"], NO, NO),
        case(&[b"Bearer tok-read "], INV, READ),
        case(&[b"Bearer tok-read\t"], INV, READ),
        // In-process there is no HTTP parser to strip the OWS: PythonSdk sees `  Bearer…`.
        case(&[b"  Bearer tok-read"], NO, READ),
        case(&[b"\tBearer tok-read"], NO, READ),
        case(&[b""], NO, BAD),
        case(&[b"   "], NO, BAD),
        case(&[b"\t"], NO, BAD),
        case(&[b"x"], NO, NO),
        case(&[b"\xff\xfe"], NO, NO),
        case(&[b"Basic dXNlcjpwYXNz"], NO, NO),
        case(&[b"basic dXNlcjpwYXNz"], NO, NO),
        case(&[b"Basic"], NO, NO),
        case(
            &[b"Digest username=\"admin\", realm=\"s3cr3t-realm\", nonce=\"abc\", response=\"def\""],
            NO,
            NO,
        ),
        case(&[b"DPoP tok-read"], NO, NO),
        case(&[b"Token tok-read"], NO, NO),
        case(&[b"Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg"], NO, NO),
        case(&[b"Basic abc, Bearer tok-read"], NO, NO),
        case(&[b"Bearer tok-read, Basic abc"], INV, BAD),
    ]
}

/// Tokens outside the b64token grammar: commas, quotes, backslashes, `=`, obs-text, UTF-8.
fn token_syntax_cases() -> Vec<Case> {
    let mut all_high: Vec<u8> = b"Bearer ".to_vec();
    all_high.extend(0x80..=0xFF);
    vec![
        case(&[b"Bearer a,b"], INV, BAD),
        case(&[b"Bearer s3cr3t,more"], INV, BAD),
        case(&[b"Bearer tok-read,"], INV, BAD),
        case(&[b"Bearer ,tok-read"], INV, BAD),
        case(&[b"Bearer ,"], INV, BAD),
        case(&[b"Bearer s3cr3t=\"x\""], INV, BAD),
        case(&[b"Bearer a$b"], INV, REF),
        case(&[b"Bearer s3cr3t$dollar"], INV, REF),
        case(&[b"Bearer \"s3cr3t-quoted\""], INV, REF),
        case(&[b"Bearer s3cr3t\"quote"], INV, REF),
        case(&[b"Bearer s3cr3t\\backslash"], INV, REF),
        case(&[b"Bearer \\\"\\\"\\\\"], INV, REF),
        case(&[b"Bearer s3cr3t=middle"], INV, REF),
        case(&[b"Bearer =s3cr3t"], INV, REF),
        case(&[b"Bearer ="], INV, REF),
        case(&[b"Bearer ==="], INV, REF),
        case(
            &[b"Bearer abc=="],
            Want::Granted {
                client: "client-pad",
                read: true,
                write: false,
            },
            Want::Granted {
                client: "client-pad",
                read: true,
                write: false,
            },
        ),
        case(&[b"Bearer abc="], INV, INV),
        case(&[b"Bearer tok-read="], INV, INV),
        case(&[b"Bearer TOK-READ"], INV, INV),
        case(&[b"Bearer a"], INV, INV),
        case(&[b"Bearer -._~+/s3cr3t-chars"], INV, INV),
        case(&[b"Bearer tok-read\xff"], INV, REF),
        case(&[b"Bearer caf\xe9-s3cr3t"], INV, REF),
        owned(vec![all_high], INV, REF).named("every obs-text byte"),
        case(&["Bearer ключ-s3cr3t".as_bytes()], INV, REF),
        case(&["Bearer 🔑s3cr3t".as_bytes()], INV, REF),
        case(&["Bearer tok-read\u{200b}".as_bytes()], INV, REF),
        case(&[b"Bearer s3cr3t<script>alert(1)</script>"], INV, REF),
        case(&[b"Bearer s3cr3t%0d%0aSet-Cookie:x=y"], INV, REF),
        case(&[b"Bearer s3cr3t;path=/"], INV, REF),
        case(&[b"Bearer s3cr3t{}[]()"], INV, REF),
        case(&[b"Bearer s3cr3t:colon"], INV, REF),
        case(&[b"Bearer s3cr3t@at"], INV, REF),
    ]
}

/// The 8 KiB cap: exactly at it, one over, far over.
fn length_cases() -> Vec<Case> {
    let spaced = {
        let mut value = long("Bearer ", b'a', CAP / 2);
        value.push(b' ');
        value.resize(value.len() + CAP / 2, b'a');
        value
    };
    let padded = {
        let mut value = long("Bearer ", b' ', KIB64);
        value.extend_from_slice(b"tok-read");
        value
    };
    let trailing = long("Bearer tok-read", b' ', KIB64);
    let leading = {
        let mut value = long("\t", b' ', KIB64);
        value.extend_from_slice(b"Bearer tok-read");
        value
    };
    vec![
        owned(vec![long("Bearer ", b'a', CAP)], INV, INV).named("token at the cap"),
        owned(vec![long("Bearer ", b'a', CAP + 1)], REF, REF).named("token one over the cap"),
        owned(vec![long("bearer ", b'Z', CAP + 1)], REF, REF).named("lowercase, one over"),
        owned(vec![long("Bearer  ", b'a', CAP - 1)], INV, INV).named("two spaces, at the cap"),
        // Both profiles count everything after `Bearer ` against the cap, padding included.
        owned(vec![long("Bearer  ", b'a', CAP)], REF, REF).named("two spaces, token at the cap"),
        owned(vec![long("Bearer ", b'=', CAP + 1)], REF, REF).named("padding over the cap"),
        owned(vec![long("Bearer ", 0xE9, CAP)], INV, REF).named("obs-text at the cap"),
        owned(vec![long("Bearer ", 0xE9, CAP + 1)], REF, REF).named("obs-text over the cap"),
        owned(vec![long("Bearer ", b'a', KIB64)], REF, REF).named("64 KiB token"),
        owned(vec![long("Bearer ", 0xFF, KIB64)], REF, REF).named("64 KiB obs-text"),
        owned(vec![long("Basic ", b'a', KIB64)], NO, NO).named("64 KiB Basic"),
        owned(vec![long("", b'a', KIB64)], NO, NO).named("64 KiB without a scheme"),
        owned(vec![long("Bearer ", b'a', MIB)], REF, REF).named("1 MiB token"),
        // The size check comes first: over the cap is a 401 whatever the content.
        owned(vec![long("Bearer ", b',', MIB)], REF, REF).named("1 MiB of commas"),
        owned(vec![spaced], REF, REF).named("two halves over the cap"),
        // RFC digest P7: the Authorization value is capped; a short token padded to 64 KiB is
        // still over.
        owned(vec![padded], REF, REF).named("64 KiB of spaces, then a short token"),
        owned(vec![trailing], REF, REF).named("a short token, then 64 KiB of spaces"),
        owned(vec![leading], NO, REF).named("64 KiB of tabs and spaces, then the credentials"),
    ]
}

/// Several `Authorization` field lines.
fn multiple_header_cases() -> Vec<Case> {
    vec![
        case(&[b"Bearer tok-read", b"Bearer tok-rw"], READ, BAD),
        case(&[b"Bearer tok-rw", b"Bearer tok-read"], RW, BAD),
        case(&[b"Bearer s3cr3t-first", b"Bearer tok-read"], INV, BAD),
        case(&[b"Bearer tok-read", b"Bearer tok-read"], READ, BAD),
        case(&[b"Basic dXNlcjpwYXNz", b"Bearer tok-read"], NO, BAD),
        case(&[b"Bearer tok-read", b"Basic dXNlcjpwYXNz"], READ, BAD),
        case(&[b"", b"Bearer tok-read"], NO, BAD),
        case(&[b"Bearer tok-read", b""], READ, BAD),
        case(
            &[b"Bearer tok-read", b"Bearer\t\xff\xfe s3cr3t-junk"],
            READ,
            BAD,
        ),
        owned(vec![b"Bearer tok-read".to_vec(); 50], READ, BAD).named("50 copies"),
        owned(
            (0..50)
                .map(|i| format!("Bearer s3cr3t-{i:02}").into_bytes())
                .collect(),
            INV,
            BAD,
        )
        .named("50 distinct"),
        owned(
            vec![b"Bearer tok-read".to_vec(), long("Bearer ", b'a', MIB)],
            READ,
            BAD,
        )
        .named("valid, then 1 MiB"),
        owned(
            vec![long("Bearer ", b'a', MIB), b"Bearer tok-read".to_vec()],
            REF,
            BAD,
        )
        .named("1 MiB, then valid"),
    ]
}

/// A valid (or invalid) token with junk around it: other headers, the query, a form body.
fn junk_cases() -> Vec<Case> {
    let many_junk = (0..100).fold(case(&[], NO, NO).named("100 junk headers"), |case, _| {
        case.extra("x-junk", &[b'j'; 1024])
    });
    vec![
        case(&[b"Bearer tok-read"], READ, READ)
            .named("junk headers")
            .extra("x-junk", b"\xff\xfe\x80s3cr3t-junk")
            .extra("x-empty", b"")
            .extra("x-tab", b"\t\ts3cr3t-tab\t"),
        case(&[b"Bearer tok-read"], READ, READ)
            .named("proxy-authorization ignored")
            .extra("proxy-authorization", b"Bearer tok-rw"),
        case(&[], NO, NO)
            .named("only proxy-authorization")
            .extra("proxy-authorization", b"Bearer tok-rw"),
        case(&[], NO, NO)
            .named("only x-authorization")
            .extra("x-authorization", b"Bearer tok-rw"),
        case(&[b"Bearer tok-read"], READ, READ)
            .named("cookie ignored")
            .extra("cookie", b"access_token=tok-rw; session=s3cr3t-cookie"),
        case(&[b"Bearer tok-read"], READ, READ)
            .named("request www-authenticate ignored")
            .extra("www-authenticate", b"Bearer error=\"s3cr3t-evil\""),
        case(&[b"Bearer s3cr3t-bad"], INV, INV)
            .named("forged host headers")
            .extra("host", b"evil.example")
            .extra("x-forwarded-host", b"evil.example")
            .extra("x-forwarded-proto", b"https")
            .extra("forwarded", b"host=evil.example;proto=https"),
        case(&[], NO, NO)
            .named("forged host, no credentials")
            .extra("host", b"evil.example")
            .extra("x-forwarded-host", b"evil.example"),
        case(&[], NO, NO)
            .named("query token only")
            .query("access_token=tok-read"),
        case(&[b"Bearer tok-read"], READ, READ)
            .named("header and query token")
            .query("access_token=s3cr3t-query"),
        case(&[b"Bearer s3cr3t-header"], INV, INV)
            .named("bad header, good query token")
            .query("access_token=tok-rw"),
        case(&[], NO, NO)
            .named("form token only")
            .form("access_token=tok-read"),
        case(&[b"Bearer tok-read"], READ, READ)
            .named("header and form token")
            .form("access_token=s3cr3t-form"),
        many_junk,
    ]
}

/// The fixture tokens: scopes, expiry, resource.
fn fixture_cases() -> Vec<Case> {
    let granted = |client, read, write| Want::Granted {
        client,
        read,
        write,
    };
    let both =
        |token: &str, want: Want| owned(vec![format!("Bearer {token}").into_bytes()], want, want);
    vec![
        both("tok-rw", RW),
        both("tok-write", granted("client-write", false, true)),
        both("tok-none", granted("client-none", false, false)),
        both("tok-Upper", granted("client-upper", false, false)),
        both("tok-noexp", granted("client-noexp", true, false)),
        both("tok-resource-slash", granted("client-slash", true, false)),
        both("tok-resource-case", granted("client-case", true, false)),
        both("valid_token", granted("test_client", false, false)),
        both("tok-expired", INV),
        both("expired_token", INV),
        both("tok-other-resource", INV),
        both("tok-no-resource", INV),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = scheme_cases();
    cases.extend(token_syntax_cases());
    cases.extend(length_cases());
    cases.extend(multiple_header_cases());
    cases.extend(junk_cases());
    cases.extend(fixture_cases());
    cases
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

struct Route {
    path: &'static str,
    scopes: &'static [&'static str],
    metadata: bool,
}

const ROUTES: [Route; 3] = [
    Route {
        path: "/mcp",
        scopes: &["mcp:read"],
        metadata: true,
    },
    Route {
        path: "/rw",
        scopes: &["mcp:read", "mcp:write"],
        metadata: true,
    },
    Route {
        path: "/plain",
        scopes: &["mcp:read"],
        metadata: false,
    },
];

const PROFILES: [Profile; 2] = [Profile::PythonSdk, Profile::Spec];

/// The outcome of a `Want` on a route.
#[derive(Debug, PartialEq)]
enum Outcome {
    NoCreds,
    BadRequest,
    Invalid,
    Forbidden(&'static str),
    Ok(&'static str),
}

impl Outcome {
    fn of(want: Want, route: &Route) -> Self {
        match want {
            Want::NoCreds => Self::NoCreds,
            Want::BadRequest => Self::BadRequest,
            Want::Invalid { .. } => Self::Invalid,
            Want::Granted { read: false, .. } => Self::Forbidden("mcp:read"),
            Want::Granted { write: false, .. } if route.scopes.contains(&"mcp:write") => {
                Self::Forbidden("mcp:write")
            }
            Want::Granted { client, .. } => Self::Ok(client),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::NoCreds | Self::Invalid => StatusCode::UNAUTHORIZED,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Ok(_) => StatusCode::OK,
        }
    }
}

fn metadata_suffix(route: &Route) -> String {
    if route.metadata {
        format!(", resource_metadata=\"{METADATA_URL}\"")
    } else {
        String::new()
    }
}

/// Sends `request` on a task of its own, so a panic is reported rather than aborting the table.
async fn send_caught(app: Router, request: Request<Body>) -> Result<Reply, String> {
    tokio::spawn(async move { common::send(&app, request).await })
        .await
        .map_err(|error| format!("the router panicked: {error}"))
}

/// Every `WWW-Authenticate` of `reply`, as text.
fn challenges(reply: &Reply) -> Result<Vec<String>, String> {
    reply
        .headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|value| {
            value
                .to_str()
                .map(str::to_owned)
                .map_err(|_| format!("challenge is not visible ASCII: {value:?}"))
        })
        .collect()
}

/// Request bytes echoed anywhere in the response.
fn leaks(reply: &Reply, secrets: &[Vec<u8>]) -> Vec<String> {
    let mut found = Vec::new();
    let mut places: Vec<(String, &[u8])> = reply
        .headers
        .iter()
        .map(|(name, value)| (format!("header {name}"), value.as_bytes()))
        .collect();
    places.push(("body".into(), &reply.body));
    for (place, bytes) in places {
        if contains(bytes, MARKER.as_bytes()) {
            found.push(format!("{place} holds the marker {MARKER:?}"));
        }
        for secret in secrets {
            if contains(bytes, secret) {
                let shown = secret.escape_ascii().to_string();
                found.push(format!(
                    "{place} echoes {:?}",
                    &shown[..shown.len().min(40)]
                ));
            }
        }
    }
    found
}

/// Checks the reply to `case` on `route` in `profile`; returns what went wrong.
fn check(
    case: &Case,
    profile: Profile,
    route: &Route,
    reply: &Reply,
    verifier: &Recording,
) -> Vec<String> {
    let mut errors: Vec<String> = Vec::new();
    let spec = profile == Profile::Spec;
    let want = case.want(profile);
    let outcome = Outcome::of(want, route);
    if !spec && outcome == Outcome::BadRequest {
        errors.push("table error: PythonSdk never answers 400".into());
    }

    // Status.
    let status = reply.status;
    let allowed = [200, 400, 401, 403, 503].contains(&status.as_u16());
    if !allowed {
        errors.push(format!("status {status} is not one of 200/400/401/403/503"));
    }
    if status == StatusCode::BAD_REQUEST && !spec {
        errors.push("400 in PythonSdk".into());
    }
    if status != outcome.status() {
        errors.push(format!(
            "status {status}, want {} ({outcome:?})",
            outcome.status()
        ));
    }

    // Challenge.
    let challenges = match challenges(reply) {
        Ok(challenges) => challenges,
        Err(error) => {
            errors.push(error);
            Vec::new()
        }
    };
    if challenges.len() > 1 {
        errors.push(format!("{} WWW-Authenticate headers", challenges.len()));
    }
    let is_error = matches!(status.as_u16(), 400 | 401 | 403);
    if is_error && challenges.is_empty() {
        errors.push(format!("{status} without WWW-Authenticate"));
    }
    if status == StatusCode::OK && !challenges.is_empty() {
        errors.push(format!("200 with a challenge {challenges:?}"));
    }
    let mut params: Option<BTreeMap<String, String>> = None;
    for challenge in &challenges {
        match common::parse_bearer_challenge(challenge) {
            Ok(parsed) => params = Some(parsed),
            Err(error) => errors.push(format!("invalid challenge {challenge:?}: {error}")),
        }
    }

    // Body.
    let body: Option<serde_json::Value> = if status == StatusCode::OK {
        if let Outcome::Ok(client) = outcome
            && reply.body != format!("ok {client}").as_bytes()
        {
            errors.push(format!("200 body {:?}, want \"ok {client}\"", reply.body));
        }
        None
    } else {
        if reply.content_type() != Some("application/json") {
            errors.push(format!("content-type {:?}", reply.content_type()));
        }
        match serde_json::from_slice::<serde_json::Value>(&reply.body) {
            Ok(value) if value.is_object() => Some(value),
            Ok(value) => {
                errors.push(format!("body is JSON but not an object: {value}"));
                None
            }
            Err(error) => {
                errors.push(format!("body is not JSON ({error}): {:?}", reply.body));
                None
            }
        }
    };

    // Profile-specific wire format.
    let challenge = challenges.first().map(String::as_str);
    let suffix = metadata_suffix(route);
    if !spec {
        match outcome {
            Outcome::NoCreds | Outcome::Invalid if status == StatusCode::UNAUTHORIZED => {
                if reply.body != PY_401_BODY.as_bytes() {
                    errors.push(format!("PythonSdk 401 body {:?}", reply.body));
                }
                let want = format!(
                    "Bearer error=\"invalid_token\", error_description=\"Authentication required\"{suffix}"
                );
                if challenge != Some(want.as_str()) {
                    errors.push(format!(
                        "PythonSdk 401 challenge {challenge:?}, want {want:?}"
                    ));
                }
            }
            Outcome::Forbidden(missing) if status == StatusCode::FORBIDDEN => {
                let want_body = format!(
                    "{{\"error\": \"insufficient_scope\", \"error_description\": \"Required scope: {missing}\"}}"
                );
                if reply.body != want_body.as_bytes() {
                    errors.push(format!("PythonSdk 403 body {:?}", reply.body));
                }
                let want = format!(
                    "Bearer error=\"insufficient_scope\", error_description=\"Required scope: {missing}\"{suffix}"
                );
                if challenge != Some(want.as_str()) {
                    errors.push(format!(
                        "PythonSdk 403 challenge {challenge:?}, want {want:?}"
                    ));
                }
            }
            _ => {}
        }
    } else if let Some(params) = &params {
        let error = params.get("error").map(String::as_str);
        let body_error = body
            .as_ref()
            .and_then(|body| body.get("error"))
            .map(|error| error.as_str().unwrap_or("<not a string>"));
        if error != body_error {
            errors.push(format!(
                "challenge error {error:?} but body error {body_error:?}"
            ));
        }
        if params.is_empty() {
            errors.push("bare Bearer challenge".into());
        }
        let metadata = params.get("resource_metadata").map(String::as_str);
        let want_metadata = route.metadata.then_some(METADATA_URL);
        if metadata != want_metadata {
            errors.push(format!(
                "resource_metadata {metadata:?}, want {want_metadata:?}"
            ));
        }
        let scope = params.get("scope").map(String::as_str);
        let route_scope = route.scopes.join(" ");
        let (want_error, scope_required) = match outcome {
            Outcome::NoCreds => (None, true),
            Outcome::BadRequest => (Some("invalid_request"), false),
            Outcome::Invalid => (Some("invalid_token"), true),
            Outcome::Forbidden(_) => (Some("insufficient_scope"), true),
            Outcome::Ok(_) => (None, false),
        };
        if error != want_error {
            errors.push(format!("challenge error {error:?}, want {want_error:?}"));
        }
        if want_error.is_none() && params.contains_key("error_description") {
            errors.push("error_description without an error".into());
        }
        if want_error.is_some() && !params.contains_key("error_description") {
            errors.push("error without error_description".into());
        }
        if (scope_required || scope.is_some()) && scope != Some(route_scope.as_str()) {
            errors.push(format!("scope {scope:?}, want {route_scope:?}"));
        }
    }

    // Nothing from the request comes back.
    errors.extend(leaks(reply, &case.secrets()));

    // The verifier.
    let verified = match want {
        Want::NoCreds | Want::BadRequest => false,
        Want::Invalid { verified } => verified,
        Want::Granted { .. } => true,
    };
    let calls = verifier.calls();
    if verified {
        let seen = verifier.seen();
        let token = case.verified_token(profile);
        if calls != 1 || seen.len() != 1 || seen[0] != token {
            let lens: Vec<usize> = seen.iter().map(String::len).collect();
            let shown: Vec<String> = seen.iter().map(|t| t.chars().take(40).collect()).collect();
            errors.push(format!(
                "verifier: {calls} call(s) with {shown:?} (lengths {lens:?}), want one with {:?} ({} bytes)",
                token.chars().take(40).collect::<String>(),
                token.len()
            ));
        }
    } else if calls != 0 {
        let lens: Vec<usize> = verifier.seen().iter().map(String::len).collect();
        errors.push(format!(
            "verifier called {calls} time(s) (token lengths {lens:?}), want never"
        ));
    }
    errors
}

async fn run_case(case: &Case, profile: Profile, route: &Route) -> Vec<String> {
    let verifier = Recording::with_fixtures();
    let app = common::reference_app(profile, verifier.clone());
    let context = format!("{profile:?} {} {}", route.path, case.name);
    match send_caught(app, case.request(route.path)).await {
        Ok(reply) => check(case, profile, route, &reply, &verifier)
            .into_iter()
            .map(|error| format!("{context}: {error}"))
            .collect(),
        Err(panic) => vec![format!("{context}: {panic}")],
    }
}

/// Runs every case without a known bug on every route in both profiles.
async fn run_table(cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    let mut runs = 0;
    for case in &cases {
        for profile in PROFILES {
            for route in &ROUTES {
                failures.extend(run_case(case, profile, route).await);
                runs += 1;
            }
        }
    }
    assert!(runs > 0, "every case is a known bug");
    assert!(
        failures.is_empty(),
        "{} failure(s) in {runs} runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn table_is_large_and_has_no_duplicates() {
    let cases = all_cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut distinct = HashSet::new();
    for case in &cases {
        let key = (case.auth.clone(), case.extra.clone(), case.query, case.form);
        assert!(distinct.insert(key), "duplicate case {}", case.name);
        // Every value must be one the header map can carry.
        for value in &case.auth {
            assert!(HeaderValue::from_bytes(value).is_ok(), "{}", case.name);
        }
    }
}

#[tokio::test]
async fn header_values_refuse_control_bytes_except_tab() {
    // The router can only ever see what `HeaderValue` accepts: HTAB, SP..~ and obs-text.
    for byte in 0..=u8::MAX {
        let accepted = HeaderValue::from_bytes(&[b'B', b' ', byte, b'x']).is_ok();
        let visible = byte == b'\t' || (0x20..=0x7E).contains(&byte) || byte >= 0x80;
        assert_eq!(accepted, visible, "byte {byte:#04x}");
    }
}

#[tokio::test]
async fn hostile_schemes_and_separators() {
    run_table(scheme_cases()).await;
}

#[tokio::test]
async fn hostile_token_syntax() {
    run_table(token_syntax_cases()).await;
}

#[tokio::test]
async fn hostile_lengths() {
    run_table(length_cases()).await;
}

#[tokio::test]
async fn hostile_multiple_headers() {
    run_table(multiple_header_cases()).await;
}

#[tokio::test]
async fn hostile_junk_around_the_token() {
    run_table(junk_cases()).await;
}

#[tokio::test]
async fn fixture_tokens() {
    run_table(fixture_cases()).await;
}

#[tokio::test]
async fn unavailable_verifier_is_503_without_challenge() {
    for profile in PROFILES {
        for route in &ROUTES {
            let verifier = Recording::with_fixtures();
            verifier.set_unavailable(true);
            let app = common::reference_app(profile, verifier.clone());
            let context = format!("{profile:?} {}", route.path);

            for token in ["tok-read", "s3cr3t-unknown"] {
                let before = verifier.calls();
                let request = common::get(route.path, &[format!("Bearer {token}").as_bytes()]);
                let reply = send_caught(app.clone(), request).await.unwrap();
                assert_eq!(
                    reply.status,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "{context} {token}"
                );
                assert_eq!(verifier.calls(), before + 1, "{context} {token}");
                assert!(
                    reply.headers.get(WWW_AUTHENTICATE).is_none(),
                    "{context} {token}: {:?}",
                    reply.headers
                );
                assert_eq!(reply.content_type(), Some("application/json"), "{context}");
                let body = reply.json();
                let error = body["error"].as_str().unwrap_or_default();
                assert!(!error.is_empty(), "{context}: body {body}");
                assert_ne!(
                    error, "invalid_token",
                    "{context}: a 503 must not blame the token"
                );
                if profile == Profile::PythonSdk {
                    // json.dumps layout, like every PythonSdk body.
                    let description = body["error_description"].as_str().unwrap();
                    assert_eq!(
                        reply.text(),
                        format!(
                            "{{\"error\": \"{error}\", \"error_description\": \"{description}\"}}"
                        ),
                        "{context}"
                    );
                }
                assert!(
                    !contains(&reply.body, token.as_bytes()),
                    "{context}: token echoed"
                );
            }

            // What the parser refuses never reaches the unavailable back end.
            let calls = verifier.calls();
            let refused: [(&[u8], u16); 3] = [
                (b"Basic dXNlcjpwYXNz", 401),
                (&long("Bearer ", b'a', CAP + 1), 401),
                (
                    b"Bearer\ttok-read",
                    if profile == Profile::Spec { 400 } else { 401 },
                ),
            ];
            for (value, status) in refused {
                let reply = send_caught(app.clone(), common::get(route.path, &[value]))
                    .await
                    .unwrap();
                assert_eq!(
                    reply.status.as_u16(),
                    status,
                    "{context} {}",
                    display(&[value.to_vec()])
                );
                common::parse_bearer_challenge(reply.www_authenticate().unwrap()).unwrap();
            }
            let reply = send_caught(app.clone(), common::get(route.path, &[]))
                .await
                .unwrap();
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{context} no header"
            );
            assert_eq!(verifier.calls(), calls, "{context}: verifier asked");

            // Back up: the same token passes again.
            verifier.set_unavailable(false);
            let reply = send_caught(app.clone(), common::get(route.path, &[b"Bearer tok-rw"]))
                .await
                .unwrap();
            assert_eq!(reply.status, StatusCode::OK, "{context} after recovery");
        }
    }
}

const SECRET: &str = "s3cr3t-debug-token-Zq9xW";

/// Formats whatever the extractor gave, with every `Debug`/`Display` form.
async fn show(result: Result<AuthenticatedUser, Rejection>) -> String {
    match result {
        Ok(user) => {
            let refused = user.require_scopes(["mcp:write"]).unwrap_err();
            format!(
                "OK token-matches={} {user:?} {user:#?} {:?} {:#?} {refused:?} {refused:#?} {refused}",
                user.access_token().token == SECRET,
                user.access_token(),
                user.shared_access_token(),
            )
        }
        Err(rejection) => format!("ERR {rejection:?} {rejection:#?} {rejection}"),
    }
}

#[tokio::test]
async fn debug_and_display_never_show_the_token() {
    let token = AccessToken::new(SECRET, "client-dbg", ["mcp:read"])
        .with_subject("alice")
        .with_claim("iss", "https://as.example");
    let verifier = StaticVerifier::new([token.clone()]);
    for shown in [
        format!("{token:?} {token:#?}"),
        format!("{verifier:?} {verifier:#?}"),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains(MARKER), "{shown}");
    }
    assert!(format!("{token:?}").contains("client-dbg"));
    assert_eq!(verifier.len(), 1);

    let over_cap = format!("Bearer {}", SECRET.repeat(CAP / SECRET.len() + 1));
    let cases: Vec<(Vec<Vec<u8>>, &str)> = vec![
        (
            vec![format!("Bearer {SECRET}").into_bytes()],
            "OK token-matches=true",
        ),
        (vec![format!("Bearer {SECRET}x").into_bytes()], "ERR"),
        (vec![format!("Bearer {SECRET}$").into_bytes()], "ERR"),
        (
            vec![format!("Bearer {SECRET} {SECRET}").into_bytes()],
            "ERR",
        ),
        (vec![format!("Bearer\t{SECRET}").into_bytes()], "ERR"),
        (vec![format!("Basic {SECRET}").into_bytes()], "ERR"),
        (vec![over_cap.into_bytes()], "ERR"),
        (
            vec![
                format!("Bearer {SECRET}").into_bytes(),
                format!("Bearer {SECRET}").into_bytes(),
            ],
            "",
        ),
    ];
    for profile in PROFILES {
        let auth = BearerAuth::new(verifier.clone())
            .profile(profile)
            .resource_metadata_url(METADATA_URL)
            .unwrap()
            .realm("debug realm")
            .unwrap();
        let shown = format!("{auth:?} {auth:#?}");
        assert!(!shown.contains(SECRET), "{shown}");
        let app = Router::new().route("/show", any(show)).layer(auth);
        for (values, prefix) in &cases {
            let mut request = Request::builder()
                .method(Method::GET)
                .uri("/show")
                .body(Body::empty())
                .unwrap();
            for value in values {
                request
                    .headers_mut()
                    .append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
            }
            let reply = send_caught(app.clone(), request).await.unwrap();
            let text = reply.text();
            let context = format!("{profile:?} {}", display(values));
            assert_eq!(reply.status, StatusCode::OK, "{context}");
            // Two headers: the first wins in PythonSdk, 400 in Spec.
            let prefix = match (*prefix, profile) {
                ("", Profile::Spec) => "ERR",
                ("", _) => "OK token-matches=true",
                (prefix, _) => prefix,
            };
            assert!(text.starts_with(prefix), "{context}: {text}");
            assert!(!text.contains(SECRET), "{context}: {text}");
            assert!(!text.contains(MARKER), "{context}: {text}");
        }
    }
}
