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

/// An ulp of `x` as an f32 (of the smallest normal for 0).
fn ulp(x: f64) -> f64 {
    let x = (x.abs() as f32).max(f32::MIN_POSITIVE);
    (f32::from_bits(x.to_bits() + 1) - x) as f64
}

#[test]
fn tables_are_what_the_generator_says() {
    use crate::frontend::gauss_ln_table::{COS_TURN, LN_CENTRE, LN_INV_M2, LN_OF_CENTRE_M2};
    // The tables are what tools/ln_table.py says they are.
    for k in 0..32 {
        let c = LN_CENTRE[k] as f64;
        assert_eq!(LN_INV_M2[k], (-2.0 / c) as f32, "-2/c_{k}");
        let want = -2.0 * if k < 16 { c.ln() } else { (c / 2.0).ln() };
        assert!(
            ((LN_OF_CENTRE_M2[k] as f64) - want).abs() <= want.abs() * 2f64.powi(-24),
            "-2 ln c_{k}"
        );
        // E (-2 ln 2) for the exponent whose low 5 bits are k.
        let e = if k == 31 { -31 } else { k as i32 - 30 };
        assert_eq!(EXP_TERM[k], e as f32 * M2_LN2, "exponent term {k}");
        let angle = std::f64::consts::TAU * k as f64 / 32.0;
        assert!((COS_TURN[k] as f64 - angle.cos()).abs() <= 0.5 * ulp(angle.cos()).max(1e-15));
        assert!((SIN_TURN[k] as f64 - angle.sin()).abs() <= 0.5 * ulp(angle.sin()).max(1e-15));
        // Exactly symmetric, so the angle has no bias.
        assert_eq!(COS_TURN[k], COS_TURN[(32 - k) % 32], "cos is even");
        assert_eq!(COS_TURN[k], -COS_TURN[(k + 16) % 32], "half turn");
    }
    assert_eq!((COS_TURN[8], COS_TURN[0]), (0.0, 1.0));
    // The AVX2 path rotates the first quadrant: cos of sector 8 is -sin 0.
    assert!(COS_TURN[8].is_sign_negative() && SIN_TURN[0].is_sign_positive());
}

/// `m2_ln(v)` against f64 `-2 ln(v 2^-31)`, in f32 ulps of the result.
fn m2_ln_error(v: f32) -> f64 {
    let want = -2.0 * (v as f64 * 2f64.powi(-31)).ln();
    (m2_ln(v) as f64 - want).abs() / ulp(want)
}

#[test]
fn m2_ln_is_within_two_ulp_of_f64() {
    // v from 1 to 2^31, the range the radius uses, log-spaced, and dense
    // near 2^31 where -2 ln u -> 0.
    let mut worst = 0.0f64;
    for i in 0..=200_000 {
        let v = 2.0f64.powf(31.0 * i as f64 / 200_000.0) as f32;
        for v in [v, (2f64.powi(31) - v as f64 * 64.0).max(1.0) as f32] {
            worst = worst.max(m2_ln_error(v));
        }
    }
    assert_eq!(m2_ln(2f32.powi(31)), 0.0, "-2 ln 1 exactly");
    // Each f32 operation rounds by half an ulp; the table terms and the
    // final sums stay within 2 ulp of the exact value.
    assert!(worst <= 2.0, "-2 ln off by {worst} ulp");
}

#[test]
fn m2_ln_is_within_two_ulp_on_every_interval_of_two_binades() {
    // Every 16th mantissa of [2^30, 2^31) (u in [1/2, 1): the folded
    // intervals meet u = 1 from below) and of [1, 2) (the largest |E|).
    let mut worst = 0.0f64;
    for lo in [2f32.powi(30), 1.0] {
        for i in (0..1u32 << 23).step_by(16) {
            worst = worst.max(m2_ln_error(f32::from_bits(lo.to_bits() + i)));
        }
    }
    // Same bound as above: a few half-ulp roundings.
    assert!(worst <= 2.0, "-2 ln off by {worst} ulp");
}

#[test]
fn sector_sin_cos_are_within_an_ulp_of_f64() {
    // Angle words across several sectors, including both edges of each.
    let mut worst = 0.0f64;
    for i in 0..400_000u64 {
        let a = (i.wrapping_mul(0x9e37_79b9) >> 2) as u32 ^ (i as u32 & 3);
        let (j, s, c) = sector(a);
        let theta = std::f64::consts::TAU * a as f64 / 4_294_967_296.0;
        let x = theta - std::f64::consts::TAU * j as f64 / 32.0;
        let x = x - std::f64::consts::TAU * (x / std::f64::consts::TAU).round();
        assert!(
            x.abs() <= std::f64::consts::PI / 32.0 + 1e-9,
            "residual {x}"
        );
        // Absolute error in units of 2^-24 (an ulp of values in [0.5,
        // 1)): the residual itself is rounded to f32 (relative 2^-24).
        let (ws, wc) = x.sin_cos();
        worst = worst.max((s as f64 - ws).abs().max((c as f64 - wc).abs()) * 2f64.powi(24));
    }
    assert!(
        worst <= 1.0,
        "sin/cos of the residual off by {worst} x 2^-24"
    );
}

#[test]
fn pairs_are_the_polar_form_within_a_few_ulp() {
    // scale (r cos theta, r sin theta) with r = sqrt(-2 ln u), u = (2
    // floor(w/4) + 1) 2^-31, theta = 2 pi a 2^-32, computed in f64.
    let mut rng = rng_from_seed(SEED);
    let mut worst = 0.0f64;
    for _ in 0..200_000 {
        let z = rand::Rng::next_u64(&mut rng);
        let (w, a) = (z as u32, (z >> 32) as u32);
        let (c, s) = pair(w, a, 0.75);
        let v = ((w >> 1) | 1) as i32 as f32; // rounded as the generator does
        let r = 0.75 * (-2.0 * (v as f64 * 2f64.powi(-31)).ln()).sqrt();
        let theta = std::f64::consts::TAU * a as f64 / 4_294_967_296.0;
        // Errors relative to the radius: each output is r times a unit
        // vector, rounded a few times.
        let err = (c as f64 - r * theta.cos())
            .abs()
            .max((s as f64 - r * theta.sin()).abs());
        worst = worst.max(err / ulp(r.max(1e-30)));
    }
    // sqrt halves ln's 2 ulp; the sector rotation adds about 2 more.
    assert!(worst <= 4.0, "pair off by {worst} ulp of r");
    // The largest radius: w < 4 gives u = 2^-31.
    let (c, _) = pair(0, 0, 1.0);
    assert!((c as f64 - (62.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-5);
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
        0usize, 1, 7, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 96, 127, 128, 129, 160, 255, 256,
        257, 400, 401, 512, 1103,
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
    let mut g = vec![0.0f32; 80];
    add_keyed(key, 1.0, &mut g);
    for (i, chunk) in g.chunks(BLOCK).enumerate() {
        let b = block_portable(key, i as u64, 1.0);
        assert_eq!(chunk, &b[..chunk.len()], "block {i}");
    }
    // A shorter frame is a prefix of a longer one with the same key.
    let mut short = vec![0.0f32; 45];
    add_keyed(key, 1.0, &mut short);
    assert_eq!(short, g[..45]);
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
    // Box-Muller mates (outputs l and 16 + l of a block) are independent.
    let (mut sxy, mut pairs) = (0.0f64, 0usize);
    for b in g.chunks_exact(BLOCK) {
        for l in 0..PAIRS {
            sxy += b[l] as f64 * b[PAIRS + l] as f64;
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
    // The only truncation: u >= 2^-31, so |g| <= sqrt(62 ln 2) = 6.555.
    let max = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(max <= 6.5555, "max |g| {max}");
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

/// `draws` as frames of 400.
fn frames(seed: u64, n_frames: usize) -> Vec<Vec<f64>> {
    draws(seed, 400 * n_frames)
        .chunks(400)
        .map(|f| f.iter().map(|&v| v as f64).collect())
        .collect()
}

#[test]
fn no_serial_correlation_within_or_between_frames() {
    let fr = frames(SEED + 13, 10_000);
    // Mean of x y over `n` products of independent standard normals: its
    // standard error is 1/sqrt(n), so 5/sqrt(n) is 5 standard errors.
    let check = |what: &str, sum: f64, n: usize| {
        let mean = sum / n as f64;
        assert!(
            mean.abs() < 5.0 / (n as f64).sqrt(),
            "{what}: {mean} over {n}"
        );
    };
    // Same for (x^2 - 1)(y^2 - 1) (standard error 2/sqrt(n)): dependence
    // through the magnitude, as a shared radius would give.
    let check_sq = |what: &str, sum: f64, n: usize| {
        let mean = sum / n as f64;
        assert!(
            mean.abs() < 10.0 / (n as f64).sqrt(),
            "{what}: {mean} over {n}"
        );
    };
    let sq = |x: f64, y: f64| (x * x - 1.0) * (y * y - 1.0);
    for lag in 1..=4 {
        let (mut s, mut s2, mut n) = (0.0, 0.0, 0);
        for f in &fr {
            for w in f.windows(lag + 1) {
                s += w[0] * w[lag];
                s2 += sq(w[0], w[lag]);
                n += 1;
            }
        }
        check(&format!("lag {lag} within frames"), s, n);
        check_sq(&format!("squares at lag {lag} within frames"), s2, n);
        // Sample i of frame t against sample i + lag - 1 of frame t + 1
        // (lag 1: the same position; independent keys, not shifted
        // copies), and the stream across frame boundaries.
        let (mut s, mut s2, mut n) = (0.0, 0.0, 0);
        for p in fr.windows(2) {
            for (x, y) in p[0].iter().zip(&p[1][lag - 1..]) {
                s += x * y;
                s2 += sq(*x, *y);
                n += 1;
            }
        }
        check(&format!("frame t vs t + 1, offset {}", lag - 1), s, n);
        check_sq(
            &format!("squares, frame t vs t + 1, offset {}", lag - 1),
            s2,
            n,
        );
        let mut s = 0.0;
        for p in fr.windows(2) {
            for k in 0..lag {
                s += p[0][400 - lag + k] * p[1][k];
            }
        }
        check(
            &format!("lag {lag} across boundaries"),
            s,
            lag * (fr.len() - 1),
        );
    }
    // Box-Muller mates (outputs l and 16 + l of each block) share a
    // radius in the transform, but are independent normals: their squares
    // are uncorrelated.
    let (mut s2, mut n) = (0.0, 0);
    for f in &fr {
        for b in f.chunks_exact(BLOCK) {
            for l in 0..PAIRS {
                s2 += sq(b[l], b[PAIRS + l]);
                n += 1;
            }
        }
    }
    check_sq("squares of Box-Muller mates", s2, n);
}

#[test]
fn each_frames_sum_of_squares_is_chi_square_400() {
    // S = sum of a frame's 400 squared draws is chi-square with 400
    // degrees of freedom (mean 400, variance 800) when the draws are
    // independent; a generator that mixes a fixed pool of normals keeps S
    // (nearly) constant, and reused draws inflate its variance.
    let n = 20_000usize;
    let s: Vec<f64> = frames(SEED + 17, n)
        .iter()
        .map(|f| f.iter().map(|v| v * v).sum())
        .collect();
    let nf = n as f64;
    let mean = s.iter().sum::<f64>() / nf;
    let var = s.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    // Standard errors: mean sqrt(800/n) = 0.2; variance 800 sqrt((2 +
    // 12/400)/n) = 8.1 (chi-square's excess kurtosis is 12/k). Tolerances
    // are 5 standard errors.
    assert!((mean - 400.0).abs() < 1.0, "mean of S {mean}");
    assert!((var - 800.0).abs() < 40.5, "variance of S {var}");
    // Both tails at the 1 % quantiles of chi-square(400) (Wilson-Hilferty,
    // accurate to ~1e-4 in probability at 400 degrees of freedom): 200
    // expected each, sd 14.1, tolerance 5 sd.
    let c: f64 = 2.0 / (9.0 * 400.0);
    let q = |z: f64| 400.0 * (1.0 - c + z * c.sqrt()).powi(3);
    let (lo, hi) = (q(-2.326_348), q(2.326_348));
    let below = s.iter().filter(|&&v| v < lo).count() as f64;
    let above = s.iter().filter(|&&v| v > hi).count() as f64;
    let (expected, sd) = (0.01 * nf, (0.01 * 0.99 * nf).sqrt());
    assert!((below - expected).abs() < 5.0 * sd, "{below} below {lo}");
    assert!((above - expected).abs() < 5.0 * sd, "{above} above {hi}");
}
