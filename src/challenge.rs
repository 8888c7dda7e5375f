//! Building `WWW-Authenticate` challenges and JSON error bodies: pure functions, valid for any input.
//!
//! Every value is a quoted-string whose content is filtered to RFC 6750 §3's character sets, so no
//! quoted-pair is ever needed and the header is valid by construction (RFC 9110 §11, §5.6.4).

use http::HeaderValue;

/// `error` / `error_description` / `realm` text: `%x20-21 / %x23-5B / %x5D-7E` (RFC 6750 §3).
pub(crate) const fn is_text_char(byte: u8) -> bool {
    matches!(byte, 0x20 | 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// A `Bearer` challenge: `Bearer name="value", name="value"`.
#[derive(Debug)]
pub(crate) struct Challenge {
    text: String,
    params: usize,
}

impl Challenge {
    pub(crate) fn bearer() -> Self {
        let mut text = String::with_capacity(160);
        text.push_str("Bearer");
        Self { text, params: 0 }
    }

    /// Appends `name="value"`, keeping only the bytes `allowed` accepts.
    pub(crate) fn param(&mut self, name: &str, value: &str, allowed: fn(u8) -> bool) -> &mut Self {
        self.open(name);
        self.text.extend(
            value
                .chars()
                .filter(|&c| u8::try_from(c).is_ok_and(allowed)),
        );
        self.text.push('"');
        self
    }

    /// Appends `scope="a b c"`. A scope that is not a valid scope-token is dropped rather than
    /// altered into another scope; nothing is appended when no scope remains.
    pub(crate) fn scope<'a>(&mut self, scopes: impl Iterator<Item = &'a str>) -> &mut Self {
        let mut written = false;
        for scope in scopes.filter(|scope| crate::scopes::is_valid_scope_token(scope)) {
            if written {
                self.text.push(' ');
            } else {
                self.open("scope");
                written = true;
            }
            self.text.push_str(scope);
        }
        if written {
            self.text.push('"');
        }
        self
    }

    fn open(&mut self, name: &str) {
        self.text
            .push_str(if self.params == 0 { " " } else { ", " });
        self.text.push_str(name);
        self.text.push_str("=\"");
        self.params += 1;
    }

    pub(crate) fn is_bare(&self) -> bool {
        self.params == 0
    }

    pub(crate) fn into_header(self) -> HeaderValue {
        // Only filtered ASCII went in, so this cannot fail; fall back rather than panic anyway.
        HeaderValue::try_from(self.text)
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""))
    }
}

/// `{"error": "…", "error_description": "…"}` exactly as Python's `json.dumps` writes it:
/// `", "` and `": "` separators, non-ASCII escaped as `\uXXXX`.
pub(crate) fn python_json_body(error: &str, description: &str) -> String {
    let mut body = String::with_capacity(40 + error.len() + description.len());
    body.push_str("{\"error\": ");
    push_python_json_string(&mut body, error);
    body.push_str(", \"error_description\": ");
    push_python_json_string(&mut body, description);
    body.push('}');
    body
}

fn push_python_json_string(out: &mut String, text: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_json_matches_json_dumps() {
        assert_eq!(
            python_json_body("invalid_token", "Authentication required"),
            r#"{"error": "invalid_token", "error_description": "Authentication required"}"#
        );
        assert_eq!(
            python_json_body("invalid_token", "Authentication required").len(),
            74
        );
        // json.dumps("a\"b\\c\u00e9\U0001F600\n\x01")
        assert_eq!(
            python_json_body("e", "a\"b\\c\u{e9}\u{1F600}\n\u{1}"),
            r#"{"error": "e", "error_description": "a\"b\\c\u00e9\ud83d\ude00\n\u0001"}"#
        );
    }

    #[test]
    fn challenge_values_are_filtered_not_escaped() {
        let mut challenge = Challenge::bearer();
        challenge
            .param("error", "invalid_token", is_text_char)
            .param(
                "error_description",
                "bad \"quote\" \\ \r\n caf\u{e9}",
                is_text_char,
            )
            .scope(["a", "b c", "\"", "", "d\u{e9}"].into_iter());
        let header = challenge.into_header();
        assert_eq!(
            header.to_str().unwrap(),
            r#"Bearer error="invalid_token", error_description="bad quote   caf", scope="a""#
        );
    }

    #[test]
    fn scope_param_is_left_out_when_nothing_remains() {
        let mut challenge = Challenge::bearer();
        challenge.scope(["\"", ""].into_iter());
        assert!(challenge.is_bare());
        assert_eq!(challenge.into_header(), "Bearer");
    }
}
