//! Kaldi binary archives (`.ark`) and their `.scp` index.
//!
//! One entry is `key ' ' "\0B" "FM " '\4' rows:i32 '\4' cols:i32 data`,
//! data being `rows * cols` little-endian f32 in row order; the `.scp` line
//! `key path:offset` points at the `\0B` of the entry (what Kaldi and kaldiio
//! seek to).
//!
//! Keys are relative paths without extension, `/`-separated, escaped as
//! [`super::names::escape_key`] says (so no whitespace, which Kaldi keys
//! cannot hold, and no two names share a key); the archive path in the
//! `.scp` is escaped as [`super::names::escape`] says (unchanged for any
//! path Kaldi itself can open).

use ndarray::ArrayView2;
use std::io::{self, Write};

use super::npy::{write_f32_le, write_f32_slice_le};

/// Append one matrix entry to `w`, which is at byte `offset` of the archive.
/// Returns the offset the `.scp` line must name (the binary marker).
///
/// # Errors
/// I/O errors, and `InvalidInput` when a dimension exceeds `i32::MAX`
/// (the format's limit).
pub fn write_entry(
    w: &mut impl Write,
    offset: u64,
    key: &str,
    features: ArrayView2<'_, f32>,
) -> io::Result<u64> {
    let (rows, cols) = features.dim();
    let too_big = |n: usize| {
        i32::try_from(n).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{n} rows/cols exceed a Kaldi matrix's int32 size"),
            )
        })
    };
    let (rows32, cols32) = (too_big(rows)?, too_big(cols)?);
    w.write_all(key.as_bytes())?;
    w.write_all(b" ")?;
    let marker = offset + key.len() as u64 + 1;
    w.write_all(b"\0BFM \x04")?;
    w.write_all(&rows32.to_le_bytes())?;
    w.write_all(b"\x04")?;
    w.write_all(&cols32.to_le_bytes())?;
    match features.as_slice() {
        Some(flat) => write_f32_slice_le(w, flat)?,
        None => write_f32_le(w, features.iter().copied())?,
    }
    Ok(marker)
}

/// Bytes one entry takes in the archive.
pub fn entry_len(key: &str, rows: usize, cols: usize) -> u64 {
    (key.len() + 1 + 15) as u64 + (rows * cols * 4) as u64
}

/// One `.scp` line (with its newline).
pub fn scp_line(key: &str, ark_path: &str, marker: u64) -> String {
    format!("{key} {ark_path}:{marker}\n")
}

/// Parse one `.scp` line into `(key, path, offset)`.
pub fn parse_scp_line(line: &str) -> Option<(&str, &str, u64)> {
    let (key, target) = line.trim_end().split_once(' ')?;
    let (path, offset) = target.rsplit_once(':')?;
    Some((key, path, offset.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn entry_layout_and_offset() {
        let a = array![[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let mut ark = b"earlier".to_vec();
        let marker = write_entry(&mut ark, 7, "spk/utt 1", a.view()).unwrap();
        assert_eq!(marker, 7 + 10);
        assert_eq!(&ark[17..23], b"\0BFM \x04");
        assert_eq!(&ark[23..27], &3i32.to_le_bytes());
        assert_eq!(ark[27], 4);
        assert_eq!(&ark[28..32], &2i32.to_le_bytes());
        assert_eq!(&ark[32..36], &1.0f32.to_le_bytes());
        assert_eq!(ark.len() as u64, 7 + entry_len("spk/utt 1", 3, 2));
    }

    #[test]
    fn keys_and_scp_lines() {
        let line = scp_line("a/b", "/x/feats.ark", 42);
        assert_eq!(line, "a/b /x/feats.ark:42\n");
        assert_eq!(parse_scp_line(&line), Some(("a/b", "/x/feats.ark", 42)));
        assert_eq!(parse_scp_line("nokey"), None);
    }
}
