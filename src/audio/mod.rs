//! Audio input: decoding (WAV via hound; FLAC, MP3, OGG/Vorbis via
//! symphonia), downmixing, resampling. Knows nothing of features or networks.
