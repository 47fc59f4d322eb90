//! A minimal PNG encoder (8-bit RGB, no compression) and base64, for
//! embedding heatmap images in the HTML page as `data:` URIs.
//!
//! Why: a feature image of 48 x 120 cells as SVG rectangles costs about
//! 80 bytes per cell (~460 kB); as a PNG it costs 3 bytes per pixel plus
//! base64's third (~23 kB), and the browser scales it crisply with
//! `image-rendering: pixelated`. Deflate "stored" blocks (no compression)
//! keep the encoder tiny and obviously correct; the images are small enough
//! that compression would not matter much.
//!
//! Format references: PNG (ISO/IEC 15948) chunks IHDR/IDAT/IEND with CRC-32;
//! zlib (RFC 1950) header and Adler-32; deflate (RFC 1951) stored blocks;
//! base64 (RFC 4648).

/// PNG file signature.
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
/// Largest payload of one deflate stored block.
const MAX_STORED: usize = 65_535;

/// Encodes `rgb` (row-major, 3 bytes per pixel, `width * height` pixels)
/// as a PNG file.
///
/// # Panics
/// If `rgb.len() != width * height * 3` (a caller bug).
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let row_bytes = width as usize * 3;
    assert_eq!(
        rgb.len(),
        row_bytes * height as usize,
        "rgb buffer is not width x height x 3"
    );
    // Each scanline is prefixed by its filter type (0 = none).
    let mut raw = Vec::with_capacity((row_bytes + 1) * height as usize);
    for row in rgb.chunks(row_bytes.max(1)) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut out = Vec::with_capacity(raw.len() + raw.len() / MAX_STORED * 5 + 64);
    out.extend_from_slice(&SIGNATURE);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Appends one chunk: length, type, data, CRC-32 of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of `data` in deflate stored blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    // CMF 0x78 (deflate, 32 K window), FLG 0x01 (no dictionary; makes the
    // 16-bit header a multiple of 31).
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(MAX_STORED).collect()
    };
    let last = blocks.len() - 1;
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i == last)); // BFINAL, BTYPE 00 = stored
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// CRC-32 (IEEE 802.3 polynomial, reflected), as PNG uses it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

/// Adler-32 checksum, as zlib uses it.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the longest run before b can overflow u32 (zlib's NMAX).
    for block in data.chunks(5552) {
        for &byte in block {
            a += byte as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `data:image/png;base64,...` URI of an RGB image.
pub fn data_uri(width: u32, height: u32, rgb: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64(&encode_rgb(width, height, rgb))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_published_check_values() {
        // The standard check value of CRC-32 for "123456789".
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        // Adler-32 of "Wikipedia", the worked example in its definition.
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(b""), 1);
        // Long input crosses the 5552-byte reduction boundary.
        let long = vec![255u8; 20_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &long {
            a = (a + x as u64) % 65_521;
            b = (b + a) % 65_521;
        }
        assert_eq!(adler32(&long), ((b << 16) | a) as u32);
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }

    /// Walks the chunks, checking every CRC, and returns (type, data) pairs.
    fn chunks(png: &[u8]) -> Vec<(String, Vec<u8>)> {
        assert_eq!(&png[..8], &SIGNATURE);
        let mut at = 8;
        let mut out = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let body = &png[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32(body), crc, "bad CRC");
            out.push((
                String::from_utf8(body[..4].to_vec()).unwrap(),
                body[4..].to_vec(),
            ));
            at += 12 + len;
        }
        out
    }

    #[test]
    fn png_structure_and_pixels_round_trip() {
        let (w, h) = (3u32, 2u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 13) as u8).collect();
        let png = encode_rgb(w, h, &rgb);
        let parts = chunks(&png);
        let kinds: Vec<&str> = parts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, vec!["IHDR", "IDAT", "IEND"]);
        assert_eq!(&parts[0].1[..8], &[0, 0, 0, 3, 0, 0, 0, 2]);
        // Undo the zlib/stored wrapping by hand and compare scanlines.
        let z = &parts[1].1;
        assert_eq!(
            (z[0] as u16 * 256 + z[1] as u16) % 31,
            0,
            "zlib header check"
        );
        assert_eq!(z[2], 1, "single final stored block");
        let len = u16::from_le_bytes([z[3], z[4]]) as usize;
        let raw = &z[7..7 + len];
        assert_eq!(len, (w as usize * 3 + 1) * h as usize);
        assert_eq!(raw[0], 0);
        assert_eq!(&raw[1..10], &rgb[..9]);
        assert_eq!(raw[10], 0);
        assert_eq!(&raw[11..], &rgb[9..]);
        assert_eq!(
            u32::from_be_bytes(z[7 + len..].try_into().unwrap()),
            adler32(raw)
        );
    }

    #[test]
    fn big_images_split_into_several_stored_blocks() {
        let (w, h) = (200u32, 120u32); // 72 120 bytes of scanlines > one block
        let png = encode_rgb(w, h, &vec![7u8; (w * h * 3) as usize]);
        let z = &chunks(&png)[1].1;
        assert_eq!(z[2], 0, "first block is not final");
        let first = u16::from_le_bytes([z[3], z[4]]) as usize;
        assert_eq!(first, MAX_STORED);
        assert_eq!(z[7 + first], 1, "second block is final");
    }
}
