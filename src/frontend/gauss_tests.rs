use super::*;
use crate::nn::rng_from_seed;

const SEED: u64 = 20_261_127;

/// `n` normals as the framer draws them: frames of 400, one key each.
fn draws(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = rng_from_seed(seed);
    let mut out = vec![0.0f32; n];
    for frame in out.chunks_mut(400) {
        add_normals(&mut rng, 1.0, frame);
    }
    out
}

/// Standard normal density.
fn density(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// `int_a^b density` by Simpson's rule on `n` (even) intervals.
fn simpson(a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| density(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (density(a) + density(b) + inner) * h / 3.0
}

/// `P(X > x)` for `x >= 0`: the density integrated over `[x, x + 15]`
/// (beyond that the mass is below 1e-50). Simpson's error with step
/// 0.0075 is ~1e-11, small against the smallest bin mass used (3.4e-6).
fn upper_tail(x: f64) -> f64 {
    assert!(x >= 0.0);
    simpson(x, x + 15.0, 2000)
}

/// The standard normal CDF.
fn cdf(x: f64) -> f64 {
    if x < 0.0 {
        upper_tail(-x)
    } else {
        1.0 - upper_tail(x)
    }
}

#[test]
fn ln_is_within_two_ulp_of_f64() {
    // u from 2^-32 to 1, the range the radius uses, log-spaced and dense
    // near 1 where ln u -> 0.
    let mut worst = 0.0f64;
    for i in 0..200_000 {
        let u = (2.0f64.powf(-32.0 * i as f64 / 200_000.0)) as f32;
        for u in [u, 1.0 - u * 1e-3] {
            let got = ln(u) as f64;
            let want = (u as f64).ln();
            let ulp = (want.abs() as f32).max(f32::MIN_POSITIVE);
            let ulp = (f32::from_bits(ulp.to_bits() + 1) - ulp) as f64;
            worst = worst.max((got - want).abs() / ulp);
        }
    }
    assert_eq!(ln(1.0), 0.0, "ln 1 exactly");
    // Each f32 operation rounds by half an ulp; the table terms and the
    // final sums stay within 2 ulp of the exact logarithm.
    assert!(worst <= 2.0, "ln off by {worst} ulp");
}

#[test]
fn ln_is_within_two_ulp_on_every_interval_of_two_binades() {
    use crate::frontend::gauss_ln_table::{LN_CENTRE, LN_INV, LN_OF_CENTRE};
    // The tables are what tools/ln_table.py says they are.
    for k in 0..32 {
        let c = LN_CENTRE[k] as f64;
        assert_eq!(LN_INV[k], (1.0 / c) as f32, "1/c_{k}");
        let want = if k < 16 { c.ln() } else { (c / 2.0).ln() };
        assert!(
            ((LN_OF_CENTRE[k] as f64) - want).abs() <= want.abs() * 2f64.powi(-24),
            "ln c_{k}"
        );
    }
    // Every 16th mantissa of [1/2, 1) (e = -1: the folded intervals meet
    // u = 1 from below) and of [2^-32, 2^-31) (the largest exponent).
    let mut worst = 0.0f64;
    for lo in [0.5f32, 2f32.powi(-32)] {
        for i in (0..1u32 << 23).step_by(16) {
            let u = f32::from_bits(lo.to_bits() + i);
            let want = (u as f64).ln();
            let ulp = want.abs() as f32;
            let ulp = (f32::from_bits(ulp.to_bits() + 1) - ulp) as f64;
            worst = worst.max((ln(u) as f64 - want).abs() / ulp);
        }
    }
    // Same bound as above: a few half-ulp roundings.
    assert!(worst <= 2.0, "ln off by {worst} ulp");
}

#[test]
fn sin_cos_are_within_two_ulp_on_the_octant() {
    let mut worst = 0.0f64;
    let q = std::f64::consts::FRAC_PI_4;
    for i in -100_000..=100_000 {
        let x = (q * i as f64 / 100_000.0) as f32;
        let (s, c) = sin_cos(x);
        let (ws, wc) = (x as f64).sin_cos();
        // Absolute error in units of 2^-24 (an ulp of values in [0.5, 1)):
        // sin is small near 0, where its relative error is tested below.
        worst = worst.max((s as f64 - ws).abs().max((c as f64 - wc).abs()) * 2f64.powi(24));
        if x != 0.0 {
            let rel = (s as f64 - ws).abs() / ws.abs();
            assert!(rel < 2.5e-7, "sin({x}) relative error {rel}");
        }
    }
    assert!(worst <= 2.0, "sin/cos off by {worst} x 2^-24");
}

/// `base + scale g` from every SIMD path this CPU runs, with its name.
fn simd_paths(key: u64, scale: f32, base: &[f32]) -> Vec<(&'static str, Vec<f32>)> {
    let mut out = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx2") {
            let mut v = base.to_vec();
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { crate::frontend::gauss_avx::add(key, scale, &mut v) };
            out.push(("avx2", v));
        }
        if has!("avx512f") && has!("avx512dq") {
            let mut v = base.to_vec();
            // SAFETY: the CPU supports AVX-512 F and DQ (checked just above).
            unsafe { crate::frontend::gauss_avx512::add(key, scale, &mut v) };
            out.push(("avx512", v));
        }
    }
    let mut v = base.to_vec();
    add_keyed(key, scale, &mut v);
    out.push(("dispatched", v));
    out
}

#[test]
fn simd_and_scalar_paths_give_the_same_bits() {
    let mut rng = rng_from_seed(SEED);
    for len in [
        0usize, 1, 7, 15, 16, 17, 31, 32, 33, 48, 127, 128, 129, 160, 400, 401, 512, 1103,
    ] {
        for _ in 0..20 {
            let key = rand::Rng::next_u64(&mut rng);
            let base: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin() * 100.0).collect();
            let mut want = base.clone();
            add_portable(key, 0.75, &mut want);
            for (path, got) in simd_paths(key, 0.75, &base) {
                let same = want
                    .iter()
                    .zip(&got)
                    .all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{path}: len {len} key {key:#x}");
            }
        }
    }
}

#[test]
fn stream_is_the_blocks_in_order_and_one_key_per_call() {
    let key = 0x0123_4567_89ab_cdef;
    let mut g = vec![0.0f32; 40];
    add_keyed(key, 1.0, &mut g);
    for (i, chunk) in g.chunks(BLOCK).enumerate() {
        let b = block_portable(key, i as u64);
        assert_eq!(chunk, &b[..chunk.len()], "block {i}");
    }
    // A shorter frame is a prefix of a longer one with the same key.
    let mut short = vec![0.0f32; 23];
    add_keyed(key, 1.0, &mut short);
    assert_eq!(short, g[..23]);
    // One u64 per call, whatever the length.
    let (mut r1, mut r2) = (rng_from_seed(SEED), rng_from_seed(SEED));
    add_normals(&mut r1, 1.0, &mut vec![0.0; 1000]);
    rand::Rng::next_u64(&mut r2);
    assert_eq!(r1, r2);
}

#[test]
fn same_seed_same_numbers_other_seed_other_numbers() {
    let (a, b, c) = (draws(SEED, 4000), draws(SEED, 4000), draws(SEED + 1, 4000));
    assert_eq!(a, b);
    let equal = a.iter().zip(&c).filter(|(x, y)| x == y).count();
    assert!(equal < 5, "{equal} of 4000 equal across seeds");
    // Frames are independent streams, not shifted copies.
    let equal = a[..400]
        .iter()
        .zip(&a[400..800])
        .filter(|(x, y)| x == y)
        .count();
    assert!(equal < 5, "{equal} of 400 equal across frames");
}

#[test]
fn moments_are_standard_normal() {
    let n = 1 << 22;
    let g = draws(SEED, n);
    let nf = n as f64;
    let mean = g.iter().map(|&v| v as f64).sum::<f64>() / nf;
    let central = |p: i32| g.iter().map(|&v| (v as f64 - mean).powi(p)).sum::<f64>() / nf;
    let (var, m3, m4) = (central(2), central(3), central(4));
    let (skew, kurt) = (m3 / var.powf(1.5), m4 / (var * var) - 3.0);
    // Standard errors for n = 2^22 normal draws: mean 1/sqrt(n) = 4.9e-4,
    // variance sqrt(2/n) = 6.9e-4, skewness sqrt(6/n) = 1.2e-3, excess
    // kurtosis sqrt(24/n) = 2.4e-3. Tolerances are 5 standard errors.
    assert!(mean.abs() < 2.5e-3, "mean {mean}");
    assert!((var - 1.0).abs() < 3.5e-3, "variance {var}");
    assert!(skew.abs() < 6.0e-3, "skewness {skew}");
    assert!(kurt.abs() < 1.2e-2, "excess kurtosis {kurt}");
    // Box-Muller mates (outputs l and 8 + l of a block) are independent.
    let (mut sxy, mut pairs) = (0.0f64, 0usize);
    for b in g.chunks_exact(BLOCK) {
        for l in 0..8 {
            sxy += b[l] as f64 * b[8 + l] as f64;
            pairs += 1;
        }
    }
    let corr = sxy / pairs as f64;
    assert!(
        corr.abs() < 5.0 / (pairs as f64).sqrt(),
        "mate correlation {corr}"
    );
    // Neighbours within a frame are independent too.
    let lag1 = g.windows(2).map(|w| w[0] as f64 * w[1] as f64).sum::<f64>() / nf;
    assert!(lag1.abs() < 5.0 / nf.sqrt(), "lag-1 correlation {lag1}");
    // The only truncation: u >= 2^-32, so |g| <= sqrt(64 ln 2) = 6.66.
    let max = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max <= 6.661, "max |g| {max}");
}

#[test]
fn kolmogorov_smirnov_distance_to_the_normal_cdf_is_small() {
    let n = 1_000_000;
    let mut g: Vec<f64> = draws(SEED + 7, n).into_iter().map(f64::from).collect();
    g.sort_by(f64::total_cmp);
    let mut f = cdf(g[0]);
    let mut d = 0.0f64;
    for i in 0..n {
        if i > 0 {
            // Simpson on the gap: its error (< 1e-9 for gaps < 1) is far
            // below the distances measured here.
            f += simpson(g[i - 1], g[i], 8);
        }
        let lo = i as f64 / n as f64;
        let hi = (i + 1) as f64 / n as f64;
        d = d.max((f - lo).abs()).max((hi - f).abs());
    }
    assert!((f - cdf(g[n - 1])).abs() < 1e-6, "cumulated cdf drifted");
    // sqrt(n) D > 1.95 has probability 0.001 for a sample of the normal.
    assert!(d * (n as f64).sqrt() < 1.95, "KS distance {d}");
}

#[test]
fn chi_square_over_bins_including_the_tails_fits() {
    let n = 1 << 22;
    let g = draws(SEED + 11, n);
    // Edges every 0.25 sigma inside 2, then every 0.5 out to 4.5 sigma;
    // the outer bins hold |g| > 4.5 (expected ~14 each) and (4, 4.5]
    // (~119 each).
    let mut edges: Vec<f64> = vec![-4.5, -4.0, -3.5, -3.0, -2.5];
    edges.extend((-8..=8).map(|i| i as f64 * 0.25));
    edges.extend([2.5, 3.0, 3.5, 4.0, 4.5]);
    let bins = edges.len() + 1;
    let mut counts = vec![0usize; bins];
    for &v in &g {
        let b = edges.partition_point(|&e| e < v as f64);
        counts[b] += 1;
    }
    let mut chi2 = 0.0;
    for (b, &count) in counts.iter().enumerate() {
        let lo = if b == 0 { 0.0 } else { cdf(edges[b - 1]) };
        let hi = if b == bins - 1 { 1.0 } else { cdf(edges[b]) };
        let expected = n as f64 * (hi - lo);
        chi2 += (count as f64 - expected).powi(2) / expected;
    }
    // Wilson-Hilferty: the chi-square quantile with k degrees of freedom
    // at normal quantile z = 3.72 (p = 1e-4).
    let k = (bins - 1) as f64;
    let c = 2.0 / (9.0 * k);
    let critical = k * (1.0 - c + 3.72 * c.sqrt()).powi(3);
    assert!(chi2 < critical, "chi2 {chi2} >= {critical} ({k} dof)");
    // Beyond 4 sigma on both sides: expected 2 n Q(4) = 266, sd 16.
    let beyond = g.iter().filter(|v| v.abs() > 4.0).count() as f64;
    let expected = 2.0 * n as f64 * upper_tail(4.0);
    assert!(
        (beyond - expected).abs() < 5.0 * expected.sqrt(),
        "{beyond} beyond 4 sigma, expected {expected}"
    );
}
