//! The `kaldi`, `librosa` and `whisper` presets.
//!
//! # kaldi
//! Kaldi's binaries with no options but the sample rate:
//! - `compute-mfcc-feats`: 25 ms / 10 ms, povey window, pre-emphasis 0.97,
//!   dither 1.0, DC removal, snip_edges, FFT rounded to a power of two,
//!   23 mel bins from 20 Hz to Nyquist (HTK scale, triangles in mel, Nyquist
//!   bin excluded), `ln(max(x, FLT_EPSILON))`, 13 cepstra, lifter 22,
//!   use_energy with raw energy and energy_floor 0, int16 sample scale.
//! - `compute-fbank-feats`: the same framing, 23 log-mel bins, no energy.
//! - `compute-spectrogram-feats`: the same framing, `ln(max(|X|^2,
//!   FLT_EPSILON))` over `fft_size/2 + 1` bins, bin 0 replaced by the raw log
//!   energy (Kaldi always does this for spectrograms).
//!
//! # librosa
//! `librosa.feature.mfcc(y=y, sr=sr)` / `power_to_db(melspectrogram(y=y,
//! sr=sr))` (librosa 0.10/0.11) at the file's own rate: `n_fft` 2048,
//! hop 512 (in samples, whatever the rate), periodic Hann, centred frames
//! zero-padded (`pad_mode="constant"`, the default since 0.10), |X|^2,
//! 128 Slaney-scale mels from 0 Hz to Nyquist with triangles in Hz,
//! Slaney area norm, Nyquist bin included, `power_to_db(ref=1.0,
//! amin=1e-10, top_db=80)` over the whole utterance, orthonormal DCT-II,
//! 20 cepstra, no lifter, samples in [-1, 1).
//! `Feature::Spectrogram` is `power_to_db(|stft|^2)`, the same dB
//! compression applied to the power spectrum (librosa has no single
//! "spectrogram feature"; this is the usual `amplitude_to_db(|S|)` up to
//! the factor 2 in the exponent, i.e. exactly `power_to_db(|S|**2)`).
//!
//! # whisper
//! openai-whisper's `whisper.audio.log_mel_spectrogram(audio)` (the input of
//! every Whisper model), at 16 kHz: `torch.stft` with `n_fft` 400, hop 160,
//! periodic Hann, centred with reflect padding, the last frame dropped
//! (`stft[..., :-1]`), |X|^2, 80 Slaney mels from 0 to 8 kHz with Slaney
//! area norm (librosa's `filters.mel(sr=16000, n_fft=400)`, which Whisper
//! ships as `mel_filters.npz`; `num_bins = 128` for large-v3), then
//! `log10(max(x, 1e-10))`, clipped to 8 below the utterance maximum, and
//! `(x + 4) / 4` ([`Compression::Whisper`], `top_db = 80`). Samples in
//! [-1, 1) (Whisper decodes int16 / 32768). `fbank` is Whisper's array
//! transposed to `(frames, n_mels)`; `mfcc` is its orthonormal DCT (20
//! cepstra, no lifter: Whisper has none); `spectrogram` the same
//! compression of the power spectrum. No 30 s padding: that is
//! `whisper.pad_or_trim`, the caller's choice.

use super::options::*;

impl FrontendOptions {
    /// The preset's exact defaults for that feature at `sample_rate_hz`.
    pub fn preset(preset: Preset, feature: Feature, sample_rate_hz: f32) -> Self {
        match preset {
            Preset::Kaldi => kaldi(feature, sample_rate_hz),
            Preset::Librosa => librosa(feature, sample_rate_hz),
            Preset::Whisper => whisper(feature, sample_rate_hz),
        }
    }
}

fn kaldi(feature: Feature, sample_rate_hz: f32) -> FrontendOptions {
    let energy = EnergyOptions {
        use_energy: feature != Feature::Fbank,
        ..EnergyOptions::default()
    };
    FrontendOptions {
        sample_rate_hz,
        feature,
        energy,
        ..FrontendOptions::default()
    }
}

fn librosa(feature: Feature, sample_rate_hz: f32) -> FrontendOptions {
    const N_FFT: usize = 2048;
    const HOP: usize = 512;
    let ms = |n: usize| (n as f64 * 1000.0 / f64::from(sample_rate_hz)) as f32;
    FrontendOptions {
        sample_rate_hz,
        sample_scale: 1.0,
        feature,
        frame: FrameOptions {
            frame_length_ms: ms(N_FFT),
            frame_shift_ms: ms(HOP),
            frame_length_samples: Some(N_FFT),
            frame_shift_samples: Some(HOP),
            edges: Edges::Centre,
            padding: Padding::Zero,
            round_to_power_of_two: false,
            fft_size: None,
            dither: 0.0,
            remove_dc: false,
            preemph_coeff: 0.0,
            drop_last_frame: false,
        },
        window: WindowOptions {
            kind: WindowKind::Hann,
            periodic: true,
            blackman_coeff: 0.42,
        },
        spectrum: SpectrumOptions {
            kind: SpectrumKind::Power,
        },
        energy: EnergyOptions {
            use_energy: false,
            raw_energy: false,
            energy_floor: 0.0,
        },
        mel: MelOptions {
            num_bins: 128,
            low_freq_hz: 0.0,
            high_freq_hz: 0.0,
            scale: MelScale::Slaney,
            triangles: Triangles::Hz,
            norm: MelNorm::Slaney,
            include_nyquist: true,
            ..MelOptions::default()
        },
        compress: CompressOptions {
            kind: Compression::Db,
            log_floor: f32::EPSILON,
            db_ref: 1.0,
            db_amin: 1e-10,
            top_db: Some(80.0),
        },
        dct: DctOptions {
            num_ceps: 20,
            lifter: 0.0,
            lifter_style: LifterStyle::Librosa,
        },
        post: PostOptions::default(),
    }
}

fn whisper(feature: Feature, sample_rate_hz: f32) -> FrontendOptions {
    const N_FFT: usize = 400;
    const HOP: usize = 160;
    let mut o = librosa(feature, sample_rate_hz);
    let ms = |n: usize| (n as f64 * 1000.0 / f64::from(sample_rate_hz)) as f32;
    o.frame.frame_length_ms = ms(N_FFT);
    o.frame.frame_shift_ms = ms(HOP);
    o.frame.frame_length_samples = Some(N_FFT);
    o.frame.frame_shift_samples = Some(HOP);
    o.frame.padding = Padding::Reflect;
    o.frame.drop_last_frame = true;
    o.mel.num_bins = 80;
    o.compress = CompressOptions {
        kind: Compression::Whisper,
        db_amin: 1e-10,
        top_db: Some(80.0),
        ..CompressOptions::default()
    };
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaldi_mfcc_is_the_default_and_fbank_drops_energy() {
        assert_eq!(
            FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 16000.0),
            FrontendOptions::default()
        );
        let f = FrontendOptions::preset(Preset::Kaldi, Feature::Fbank, 8000.0);
        assert!(!f.energy.use_energy);
        assert_eq!(f.dims(), 23);
        assert_eq!(f.frame.dither, 1.0, "Kaldi's default dither");
        let s = FrontendOptions::preset(Preset::Kaldi, Feature::Spectrogram, 16000.0);
        assert!(
            s.energy.use_energy,
            "compute-spectrogram-feats puts energy in bin 0"
        );
    }

    #[test]
    fn librosa_sizes_are_in_samples_at_any_rate() {
        for sr in [8000.0, 16000.0, 22050.0] {
            let o = FrontendOptions::preset(Preset::Librosa, Feature::Mfcc, sr);
            assert_eq!(
                (o.frame_length(), o.frame_shift(), o.fft_size()),
                (2048, 512, 2048)
            );
            assert_eq!(o.dims(), 20);
            assert_eq!(o.mel_high_freq_hz(), sr / 2.0);
        }
        let o = FrontendOptions::preset(Preset::Librosa, Feature::Fbank, 16000.0);
        assert_eq!(o.dims(), 128);
    }

    #[test]
    fn whisper_frames_are_n_over_hop_and_values_follow_its_formula() {
        let o = FrontendOptions::preset(Preset::Whisper, Feature::Fbank, 16000.0);
        assert_eq!(
            (o.frame_length(), o.frame_shift(), o.fft_size()),
            (400, 160, 400)
        );
        assert_eq!(o.dims(), 80);
        let fe = crate::frontend::Frontend::new(&o).unwrap();
        // torch.stft(center=True) gives 1 + n // 160 frames; Whisper drops one.
        for n in [16_000usize, 16_159, 480_000] {
            assert_eq!(fe.num_frames(n), n / 160);
        }
        // Silence: every value at the floor, log10(1e-10) = -10 -> (-10 + 4) / 4.
        let y = fe.compute(&vec![0.0; 1600], &mut crate::nn::rng_from_seed(0));
        assert!(y.iter().all(|&v| (v + 1.5).abs() < 1e-6), "{y:?}");
        // A loud tone: the range below the peak is 8 log10 units = 2 here.
        let x: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.3).sin() * 0.5).collect();
        let y = fe.compute(&x, &mut crate::nn::rng_from_seed(0));
        let (lo, hi) = y
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!((hi - lo - 2.0).abs() < 1e-5, "range {}", hi - lo);
    }
}
