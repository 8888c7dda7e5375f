//! Building `WWW-Authenticate` challenges and JSON error bodies: pure functions, valid for any input.
//!
//! Every value is a quoted-string whose content is filtered to RFC 6750 §3's character sets, so no
//! quoted-pair is ever needed and the header is valid by construction (RFC 9110 §11, §5.6.4).

use http::HeaderValue;

/// `error` / `error_description` / `realm` text: `%x20-21 / %x23-5B / %x5D-7E` (RFC 6750 §3).
pub(crate) const fn is_text_char(byte: u8) -> bool {
    matches!(byte, 0x20 | 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Where challenges and bodies are written: a `String`, or a counter that measures them first so
/// the `String` is allocated once at its exact size. (An exact-size `String` becomes the
/// `HeaderValue` or the body's `Bytes` without another allocation or copy.)
pub(crate) trait Sink {
    fn put(&mut self, text: &str);
    fn put_char(&mut self, c: char);
}

impl Sink for usize {
    fn put(&mut self, text: &str) {
        *self += text.len();
    }

    fn put_char(&mut self, c: char) {
        *self += c.len_utf8();
    }
}

impl Sink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }

    fn put_char(&mut self, c: char) {
        self.push(c);
    }
}

/// Runs `write` twice: once to measure, once into a `String` of exactly that size.
pub(crate) fn write_exact(write: impl Fn(&mut dyn Sink)) -> String {
    let mut len = 0usize;
    write(&mut len);
    let mut text = String::with_capacity(len);
    write(&mut text);
    text
}

/// A challenge, `Bearer name="value", name="value"`, written into a [`Sink`].
pub(crate) struct Challenge<'s> {
    out: &'s mut dyn Sink,
    params: usize,
}

impl<'s> Challenge<'s> {
    pub(crate) fn bearer(out: &'s mut dyn Sink) -> Self {
        Self::new("Bearer", out)
    }

    /// A challenge of `scheme` (a constant token: `Bearer`, `DPoP`).
    pub(crate) fn new(scheme: &'static str, out: &'s mut dyn Sink) -> Self {
        out.put(scheme);
        Self { out, params: 0 }
    }

    /// Appends `name="value"`, keeping only the characters `allowed` accepts.
    pub(crate) fn param(
        &mut self,
        name: &str,
        value: &str,
        allowed: impl Fn(u8) -> bool + Copy,
    ) -> &mut Self {
        self.param_from(name, &[value], allowed)
    }

    /// Appends `name="…"` whose value is the concatenation of `parts`, filtered.
    pub(crate) fn param_from(
        &mut self,
        name: &str,
        parts: &[&str],
        allowed: impl Fn(u8) -> bool + Copy,
    ) -> &mut Self {
        self.open(name);
        for part in parts {
            if part.bytes().all(allowed) {
                // The usual case: configured values were checked when set.
                self.out.put(part);
            } else {
                for run in part.split(|c: char| !(c.is_ascii() && allowed(c as u8))) {
                    self.out.put(run);
                }
            }
        }
        self.out.put_char('"');
        self
    }

    /// Appends `scope="a b c"`. A scope that is not a valid scope-token is dropped rather than
    /// altered into another scope; nothing is appended when no scope remains.
    pub(crate) fn scope<'a>(&mut self, scopes: impl Iterator<Item = &'a str>) -> &mut Self {
        let mut written = false;
        for scope in scopes.filter(|scope| crate::scopes::is_valid_scope_token(scope)) {
            if written {
                self.out.put_char(' ');
            } else {
                self.open("scope");
                written = true;
            }
            self.out.put(scope);
        }
        if written {
            self.out.put_char('"');
        }
        self
    }

    fn open(&mut self, name: &str) {
        self.out.put(if self.params == 0 { " " } else { ", " });
        self.out.put(name);
        self.out.put("=\"");
        self.params += 1;
    }

    pub(crate) fn is_bare(&self) -> bool {
        self.params == 0
    }
}

/// A header value from a challenge written by [`Challenge`].
pub(crate) fn into_header(text: String) -> HeaderValue {
    // Only filtered ASCII went in, so this cannot fail; fall back rather than panic anyway.
    HeaderValue::try_from(text)
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""))
}

/// `{"error": "…", "error_description": "…"}` exactly as Python's `json.dumps` writes it:
/// `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`. The description is the
/// concatenation of `description`.
pub(crate) fn python_json_body(out: &mut dyn Sink, error: &str, description: &[&str]) {
    out.put("{\"error\": ");
    push_json_string(out, &[error], true);
    out.put(", \"error_description\": ");
    push_json_string(out, description, true);
    out.put_char('}');
}

/// `{"error":"…","error_description":"…"}` as `serde_json` writes it (compact, UTF-8 kept);
/// without an error code, only the description.
pub(crate) fn compact_json_body(out: &mut dyn Sink, error: Option<&str>, description: &[&str]) {
    out.put_char('{');
    if let Some(error) = error {
        out.put("\"error\":");
        push_json_string(out, &[error], false);
        out.put_char(',');
    }
    out.put("\"error_description\":");
    push_json_string(out, description, false);
    out.put_char('}');
}

/// A JSON string of the concatenated `parts`. `ascii`: Python's `ensure_ascii` (everything outside
/// `' '..='~'` escaped as `\uXXXX`); otherwise `serde_json`'s escaping (control characters only).
fn push_json_string(out: &mut dyn Sink, parts: &[&str], ascii: bool) {
    out.put_char('"');
    for part in parts {
        if part
            .bytes()
            .all(|byte| matches!(byte, b' '..=b'~') && byte != b'"' && byte != b'\\')
        {
            out.put(part);
            continue;
        }
        let mut plain = 0;
        for (at, c) in part.char_indices() {
            let escape = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\u{8}' => "\\b",
                '\u{c}' => "\\f",
                ' '..='~' => continue,
                c if !ascii && c >= ' ' => continue,
                _ => "",
            };
            out.put(&part[plain..at]);
            plain = at + c.len_utf8();
            if escape.is_empty() {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let mut hex = *b"\\u0000";
                    for (slot, shift) in hex[2..].iter_mut().zip([12, 8, 4, 0]) {
                        *slot = b"0123456789abcdef"[usize::from((*unit >> shift) & 0xf)];
                    }
                    // Six ASCII bytes.
                    out.put(std::str::from_utf8(&hex).unwrap_or_default());
                }
            } else {
                out.put(escape);
            }
        }
        out.put(&part[plain..]);
    }
    out.put_char('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(error: &str, description: &str) -> String {
        write_exact(|out| python_json_body(out, error, &[description]))
    }

    fn compact(error: Option<&str>, description: &str) -> String {
        write_exact(|out| compact_json_body(out, error, &[description]))
    }

    #[test]
    fn python_json_matches_json_dumps() {
        let body = python("invalid_token", "Authentication required");
        assert_eq!(
            body,
            r#"{"error": "invalid_token", "error_description": "Authentication required"}"#
        );
        assert_eq!((body.len(), body.capacity()), (74, 74));
        // json.dumps("a\"b\\c\u00e9\U0001F600\n\x01\x7f")
        assert_eq!(
            python("e", "a\"b\\c\u{e9}\u{1F600}\n\u{1}\u{7f}"),
            r#"{"error": "e", "error_description": "a\"b\\c\u00e9\ud83d\ude00\n\u0001\u007f"}"#
        );
        assert_eq!(
            write_exact(|out| python_json_body(out, "e", &["Required scope: ", "caf\u{e9}"])),
            r#"{"error": "e", "error_description": "Required scope: caf\u00e9"}"#
        );
    }

    #[test]
    fn compact_json_matches_serde_json() {
        for text in [
            "plain",
            "a\"b\\c\u{e9}\u{1F600}\n\u{1}\u{7f}\u{1f}\t\u{8}\u{c}",
            "",
        ] {
            let expected = serde_json::json!({"error": "x", "error_description": text}).to_string();
            let body = compact(Some("x"), text);
            assert_eq!(body, expected);
            assert_eq!(body.len(), body.capacity());
            let expected = serde_json::json!({"error_description": text}).to_string();
            assert_eq!(compact(None, text), expected);
        }
    }

    #[test]
    fn challenge_values_are_filtered_not_escaped() {
        let text = write_exact(|out| {
            Challenge::bearer(out)
                .param("error", "invalid_token", is_text_char)
                .param(
                    "error_description",
                    "bad \"quote\" \\ \r\n caf\u{e9}",
                    is_text_char,
                )
                .scope(["a", "b c", "\"", "", "d\u{e9}"].into_iter());
        });
        assert_eq!(text.len(), text.capacity());
        assert_eq!(
            into_header(text).to_str().unwrap(),
            r#"Bearer error="invalid_token", error_description="bad quote   caf", scope="a""#
        );
    }

    #[test]
    fn scope_param_is_left_out_when_nothing_remains() {
        let mut text = String::new();
        let mut challenge = Challenge::bearer(&mut text);
        challenge.scope(["\"", ""].into_iter());
        assert!(challenge.is_bare());
        assert_eq!(into_header(text), "Bearer");
    }
}
