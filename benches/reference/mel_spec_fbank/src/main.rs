//! Same-run reference for the Kaldi MFCC library row of docs/performance.md:
//! the `mel_spec` crate's Kaldi-style log-mel filterbank (0.5, 23 bins, 25/10 ms
//! Povey frames, pre-emphasis 0.97, dither 0) over the same 600 s, 16 kHz
//! speech-like signal as `benches/extract.rs`, and the bare 512-point realfft
//! per frame, timed by thread CPU time (best of 10, three rounds).
//!
//! A standalone crate (its own `[workspace]`), not a dev-dependency of
//! speechfront: `mel_spec` pulls in the `image` crate, which would add minutes
//! to every test build. Run it next to the speechfront bench, interleaved:
//!
//!     cargo run --release --manifest-path benches/reference/mel_spec_fbank/Cargo.toml
//!     SPEECHFRONT_CPUTIME=1 cargo bench --bench extract
//!
//! Its `realfft_512_per_frame` line is the common anchor of the two processes.
use mel_spec::fbank::{Fbank, FbankConfig};
use realfft::RealFftPlanner;
#[repr(C)]
struct Ts {
    s: i64,
    ns: i64,
}
extern "C" {
    fn clock_gettime(c: i32, t: *mut Ts) -> i32;
}
fn cpu_ns() -> u64 {
    let mut t = Ts { s: 0, ns: 0 };
    unsafe { clock_gettime(3, &mut t) };
    t.s as u64 * 1_000_000_000 + t.ns as u64
}
fn best<F: FnMut()>(mut f: F, n: usize) -> f64 {
    let mut b = u64::MAX;
    for _ in 0..n {
        let t = cpu_ns();
        f();
        b = b.min(cpu_ns() - t);
    }
    b as f64 / 1e6
}
fn main() {
    let rate = 16000usize;
    let n = rate * 600;
    let mut s = 1u64;
    let mut phase = 0.0f64;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / rate as f64;
            let f0 = 170.0 + 80.0 * (2.0 * std::f64::consts::PI * 0.3 * t).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / rate as f64;
            let v: f64 = (1..=12).map(|k| (k as f64 * phase).sin() / k as f64).sum();
            let env = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            (0.2 * env * v + 0.02 * noise) as f32
        })
        .collect();
    let mut cfg = FbankConfig::default();
    cfg.num_mel_bins = 23;
    cfg.sample_rate = 16000.0;
    cfg.dither = 0.0;
    let fb = Fbank::new(cfg);
    let frames = 1 + (n - 400) / 160;
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(512);
    let mut inp = fft.make_input_vec();
    let mut out = fft.make_output_vec();
    let mut scr = fft.make_scratch_vec();
    for round in 0..3 {
        let mut shape = (0, 0);
        let m = best(
            || {
                let y = fb.compute(&x);
                shape = y.dim();
                std::hint::black_box(&y);
            },
            10,
        );
        let r = best(
            || {
                for f in 0..frames {
                    inp[..400].copy_from_slice(&x[f * 160..f * 160 + 400]);
                    inp[400..].fill(0.0);
                    fft.process_with_scratch(&mut inp, &mut out, &mut scr)
                        .unwrap();
                }
                std::hint::black_box(&out);
            },
            10,
        );
        println!("round {round}: mel_spec 0.5 fbank-23 {m:.1} ms ({:.0}x real time, {shape:?}); bare realfft 512 per frame {r:.1} ms ({:.0}x)", 600e3 / m, 600e3 / r);
    }
}
