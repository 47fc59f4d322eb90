//! File names and keys as bytes, and how the text outputs (`manifest.tsv`,
//! `feats.scp`) hold them.
//!
//! Output paths are built from the input's own bytes (`OsStr`), so on Unix
//! a non-UTF-8 name such as `bad\xffname.wav` becomes `bad\xffname.npy`,
//! byte for byte. Text files cannot hold every byte, so every path and key
//! written to them goes through [`escape`], which is reversed exactly by
//! [`unescape`]:
//!
//! | byte(s) in the name | written as |
//! | --- | --- |
//! | `\` | `\\` |
//! | tab, newline, carriage return | `\t`, `\n`, `\r` |
//! | other control bytes (0x00-0x1f, 0x7f) | `\xHH` (two lower-case hex digits) |
//! | a byte that is not part of valid UTF-8 | `\xHH` |
//! | space, in a Kaldi key only ([`escape_key`]) | `\x20` |
//! | anything else (UTF-8 text, accents, CJK, ...) | itself |
//!
//! A name without backslashes, control bytes or invalid UTF-8 (nearly all
//! names) is written unchanged. Keys escape the space too, since Kaldi
//! splits `.scp` lines at whitespace; unlike the older `_` replacement this
//! never maps two names to one key.
//!
//! On other platforms than Unix, paths are taken as (lossy) UTF-8 first.

use std::ffi::{OsStr, OsString};

/// The bytes of `s` (exact on Unix; lossy UTF-8 elsewhere).
pub fn os_bytes(s: &OsStr) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        match s.to_string_lossy() {
            std::borrow::Cow::Borrowed(t) => std::borrow::Cow::Borrowed(t.as_bytes()),
            std::borrow::Cow::Owned(t) => std::borrow::Cow::Owned(t.into_bytes()),
        }
    }
}

/// An `OsString` from bytes (exact on Unix; lossy UTF-8 elsewhere).
pub fn os_from_bytes(b: Vec<u8>) -> OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        OsString::from_vec(b)
    }
    #[cfg(not(unix))]
    {
        OsString::from(String::from_utf8_lossy(&b).into_owned())
    }
}

fn escape_with(bytes: &[u8], space: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (v, b) = rest.split_at(e.valid_up_to());
                // The first `valid_up_to` bytes are valid UTF-8 by definition.
                (std::str::from_utf8(v).unwrap_or(""), b)
            }
        };
        for c in valid.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                ' ' if space => out.push_str("\\x20"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c => out.push(c),
            }
        }
        if let Some((&b, tail)) = bad.split_first() {
            out.push_str(&format!("\\x{b:02x}"));
            rest = tail;
        } else {
            rest = &[];
        }
    }
    out
}

/// `bytes` as one TSV field (see the module docs).
pub fn escape(bytes: &[u8]) -> String {
    escape_with(bytes, false)
}

/// `bytes` as a Kaldi key: [`escape`], and the space as `\x20`.
pub fn escape_key(bytes: &[u8]) -> String {
    escape_with(bytes, true)
}

/// A path as one TSV field.
pub fn escape_os(s: &OsStr) -> String {
    escape(&os_bytes(s))
}

/// The bytes [`escape`] or [`escape_key`] made `text` from; `None` for a
/// backslash sequence neither writes.
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'x' => {
                let hex = text.get(i + 2..i + 4)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

/// [`unescape`] into a path.
pub fn unescape_os(text: &str) -> Option<OsString> {
    unescape(text).map(os_from_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table_of_the_module_docs() {
        assert_eq!(escape(b"plain/name.wav"), "plain/name.wav");
        assert_eq!(
            escape("caf\u{e9} \u{4e2d}".as_bytes()),
            "caf\u{e9} \u{4e2d}"
        );
        assert_eq!(escape(b"a\\b\tc\nd\re"), "a\\\\b\\tc\\nd\\re");
        assert_eq!(escape(b"x\x00y\x1f\x7f"), "x\\x00y\\x1f\\x7f");
        assert_eq!(escape(b"bad\xffname"), "bad\\xffname");
        assert_eq!(escape_key(b"a b"), "a\\x20b");
        assert_ne!(escape_key(b"a b"), escape_key(b"a_b"));
        assert_eq!(unescape("bad\\xffname").unwrap(), b"bad\xffname");
        assert_eq!(unescape("a\\q"), None);
        assert_eq!(unescape("a\\x4"), None);
        assert_eq!(unescape("a\\"), None);
    }

    proptest! {
        #[test]
        fn escaping_round_trips_and_holds_no_separator(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            for text in [escape(&bytes), escape_key(&bytes)] {
                prop_assert!(!text.contains(['\t', '\n', '\r']));
                prop_assert_eq!(unescape(&text).unwrap(), bytes.clone());
            }
            prop_assert!(!escape_key(&bytes).contains(' '));
        }
    }
}
