//! Builders of raw WAV bytes, valid and deliberately broken, shared by the
//! unit tests in `src/audio` (included there with `#[path]`) and the CLI
//! tests. Valid files in tests are also written with hound; these builders
//! exist for the headers hound refuses to write.
#![allow(dead_code)]

/// WAVE_FORMAT_PCM.
pub const PCM: u16 = 0x0001;
/// WAVE_FORMAT_ADPCM (Microsoft).
pub const ADPCM: u16 = 0x0002;
/// WAVE_FORMAT_IEEE_FLOAT.
pub const FLOAT: u16 = 0x0003;
/// WAVE_FORMAT_EXTENSIBLE.
pub const EXTENSIBLE: u16 = 0xFFFE;

/// KSDATAFORMAT_SUBTYPE_PCM, the sub-format GUID of extensible PCM.
pub const SUBTYPE_PCM: [u8; 16] = [
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// A 16-byte fmt chunk body; `container_bits` sets block align and byte rate.
pub fn fmt_body(tag: u16, channels: u16, rate: u32, bits: u16, container_bits: u16) -> Vec<u8> {
    let block_align = channels * container_bits.div_ceil(8);
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    b.extend_from_slice(&block_align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b
}

/// A 40-byte WAVE_FORMAT_EXTENSIBLE fmt body: `valid_bits` in containers of
/// `container_bits`, PCM sub-format.
pub fn fmt_extensible(channels: u16, rate: u32, valid_bits: u16, container_bits: u16) -> Vec<u8> {
    let mut b = fmt_body(EXTENSIBLE, channels, rate, container_bits, container_bits);
    b.extend_from_slice(&22u16.to_le_bytes());
    b.extend_from_slice(&valid_bits.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&SUBTYPE_PCM);
    b
}

/// A RIFF/WAVE file from chunks `(id, body, declared length)`; a declared
/// length of `None` means the body's true length.
pub fn riff(chunks: &[(&[u8; 4], &[u8], Option<u32>)]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data, declared) in chunks {
        body.extend_from_slice(*id);
        let len = declared.unwrap_or(data.len() as u32);
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(data);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A plain WAV: one fmt chunk and one data chunk with its true length.
pub fn wav(fmt: &[u8], data: &[u8]) -> Vec<u8> {
    riff(&[(b"fmt ", fmt, None), (b"data", data, None)])
}

/// Mono 16-bit PCM WAV of the given samples.
pub fn pcm16(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    wav(&fmt_body(PCM, 1, rate, 16, 16), &data)
}

/// Mono 32-bit float WAV of the given samples.
pub fn float32(rate: u32, samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    wav(&fmt_body(FLOAT, 1, rate, 32, 32), &data)
}

/// `n` samples of a 440 Hz tone at half scale, as int16 (a deterministic
/// stand-in for speech that exercises every frequency path of a front end).
pub fn tone_i16(rate: u32, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            ((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 16_000.0) as i16
        })
        .collect()
}
