//! Hostile model files through the built binary: a model trained here is
//! truncated, reshaped or edited in each way a damaged or tampered file
//! can be, and `speechfront evaluate --model BAD` must refuse each with one
//! clear line naming the file and what is wrong, exit status 2, no panic.
//! The untouched model evaluates fine (the edits, not the test set-up,
//! cause the errors).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use safetensors::Dtype;

const BIN: &str = env!("CARGO_BIN_EXE_speechfront");

/// A small, quick recipe: frame classifier over a +-2 context window.
const CONFIG: &str = r#"
name = "tiny"
preset = "kaldi"
feature = "mfcc"
sample_rate_hz = 8000
[frontend]
frame = { dither = 0.0 }
post = { deltas = true, cmvn = "mean" }
[input]
mode = "context"
context = 2
trim_silence = true
[classifier]
hidden = [16]
[train]
epochs = 2
batch_size = 256
lr = 3e-3
patience = 2
"#;

/// Copies two speakers' takes of every digit from audio/digits.
fn corpus(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits");
    for digit in 0..10 {
        for spk in ["usm3", "gbf2"] {
            let name = format!("{digit}_{spk}_0.wav");
            std::fs::copy(src.join(&name), data.join(&name)).unwrap();
        }
    }
    std::fs::write(dir.join("tiny.toml"), CONFIG).unwrap();
    data
}

/// Runs the binary: (exit code, stdout, stderr); never a panic.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (out.status.code().expect("exited"), stdout, stderr)
}

/// A model file taken apart: tensors (name, type, shape, bytes) in file
/// order and the header metadata.
struct Parts {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    meta: HashMap<String, String>,
}

impl Parts {
    fn read(path: &Path) -> Parts {
        let bytes = std::fs::read(path).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let (_, m) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let mut tensors: Vec<_> = st
            .tensors()
            .into_iter()
            .map(|(n, t)| (n, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
            .collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        Parts {
            tensors,
            meta: m.metadata().clone().unwrap(),
        }
    }

    fn write(&self, path: &Path) {
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = self
            .tensors
            .iter()
            .map(|(n, d, s, b)| {
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
                )
            })
            .collect();
        let bytes = safetensors::serialize(views, Some(self.meta.clone())).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn tensor(&mut self, name: &str) -> &mut (String, Dtype, Vec<usize>, Vec<u8>) {
        self.tensors.iter_mut().find(|t| t.0 == name).unwrap()
    }

    /// The classifier header as JSON.
    fn header(&self) -> serde_json::Value {
        serde_json::from_str(&self.meta["speechfront"]).unwrap()
    }

    fn set_header(&mut self, h: &serde_json::Value) {
        self.meta.insert("speechfront".into(), h.to_string());
    }
}

/// The safetensors JSON header of a file and the bytes after it.
fn split_raw(bytes: &[u8]) -> (serde_json::Value, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let json = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (json, bytes[8 + n..].to_vec())
}

fn join_raw(json: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let text = json.to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn hostile_model_files_are_refused_with_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = corpus(dir.path());
    let good = dir.path().join("good.safetensors");
    let (code, _, stderr) = run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--config",
        dir.path().join("tiny.toml").to_str().unwrap(),
        "--model-out",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "train failed: {stderr}");
    let evaluate = |model: &Path| {
        run(&[
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ])
    };
    let (code, stdout, stderr) = evaluate(&good);
    assert_eq!(code, 0, "the good model must evaluate: {stderr}");
    assert!(stdout.contains("(20 utterances)"), "{stdout}");

    let bytes = std::fs::read(&good).unwrap();
    let parts = || Parts::read(&good);
    // The architecture: 0 = standardize(mean, inv_std), 1 = linear to 16,
    // 3 = linear to 10 classes.
    let p = parts();
    let names: Vec<&str> = p.tensors.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "0.inv_std",
            "0.mean",
            "1.bias",
            "1.weight",
            "3.bias",
            "3.weight"
        ]
    );
    let w1_shape = p.tensors[3].2.clone();
    assert_eq!(
        w1_shape,
        [195, 16],
        "13 MFCC x 3 blocks x 5 frames, 16 units"
    );
    let values: usize = p.tensors.iter().map(|t| t.3.len() / 4).sum();

    let mut cases: Vec<(&str, Vec<u8>, String)> = Vec::new();
    let bad = |name: &str| dir.path().join(format!("{name}.safetensors"));
    let write_parts = |name: &str, p: &Parts| {
        p.write(&bad(name));
        std::fs::read(bad(name)).unwrap()
    };

    // Truncated: half the file, and only the first 5 bytes.
    cases.push((
        "half",
        bytes[..bytes.len() / 2].to_vec(),
        format!(
            "the tensors the header declares do not cover the file's {} bytes exactly (truncated or extended)",
            bytes.len() / 2
        ),
    ));
    cases.push((
        "five_bytes",
        bytes[..5].to_vec(),
        "5 bytes: too short for a safetensors file (truncated?)".into(),
    ));
    let n_header = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    cases.push((
        "header_cut",
        bytes[..(n_header as usize) / 2].to_vec(),
        format!(
            "declares a {n_header}-byte header but the file has {} bytes (truncated or not a safetensors file)",
            n_header / 2
        ),
    ));
    // A text file with a model's name.
    cases.push((
        "text",
        b"this is not a model, just some text\n".to_vec(),
        format!(
            "declares a {}-byte header, more than the 100 MB safetensors allows (corrupt or not a safetensors file)",
            u64::from_le_bytes(*b"this is ")
        ),
    ));
    // Huge declared sizes: a header length of 2^40, a tensor shape whose
    // byte count overflows.
    let mut huge_len = bytes.clone();
    huge_len[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    cases.push((
        "huge_header",
        huge_len,
        "declares a 1099511627776-byte header, more than the 100 MB safetensors allows (corrupt or not a safetensors file)".into(),
    ));
    let (mut json, rest) = split_raw(&bytes);
    json["1.weight"]["shape"] = serde_json::json!([1u64 << 62, 1u64 << 62]);
    cases.push((
        "huge_shape",
        join_raw(&json, &rest),
        "a tensor's shape, type and data offsets disagree (overflow computing buffer size from shape and/or element type)".into(),
    ));
    let (mut json, rest) = split_raw(&bytes);
    let end = json["3.weight"]["data_offsets"][1].as_u64().unwrap();
    json["3.weight"]["data_offsets"][1] = serde_json::json!(end + 4_000_000_000);
    cases.push((
        "offset_past_end",
        join_raw(&json, &rest),
        "a tensor's shape, type and data offsets disagree (invalid shape, data type, or offset for tensor)".into(),
    ));
    // A safetensors file that is not ours / not from `train`.
    let mut p = parts();
    p.meta.clear();
    cases.push((
        "no_metadata",
        write_parts("no_metadata", &p),
        "no 'speechfront' metadata: not a speechfront model".into(),
    ));
    let mut p = parts();
    p.meta.remove("speechfront.experiment");
    cases.push((
        "no_experiment",
        write_parts("no_experiment", &p),
        "no 'speechfront.experiment' metadata: not trained by `speechfront train`".into(),
    ));
    // Reshaped: the first weight transposed (same bytes, other shape).
    let mut p = parts();
    p.tensor("1.weight").2 = vec![16, 195];
    cases.push((
        "transposed",
        write_parts("transposed", &p),
        "tensor 1.weight: shape [16, 195], the header's architecture needs [195, 16]".into(),
    ));
    // Missing and extra tensors.
    let mut p = parts();
    p.tensors.retain(|t| t.0 != "3.bias");
    cases.push((
        "missing",
        write_parts("missing", &p),
        "missing tensor 3.bias (shape [10] in the header's architecture)".into(),
    ));
    let mut p = parts();
    p.tensors
        .push(("5.weight".into(), Dtype::F32, vec![2], vec![0u8; 8]));
    p.tensors
        .push(("extra".into(), Dtype::F32, vec![1], vec![0u8; 4]));
    cases.push((
        "extra",
        write_parts("extra", &p),
        "tensor(s) the architecture does not have: 5.weight, extra".into(),
    ));
    // Another element type with the same bytes.
    let mut p = parts();
    p.tensor("3.bias").1 = Dtype::I32;
    cases.push((
        "int_tensor",
        write_parts("int_tensor", &p),
        "tensor 3.bias: type I32, expected F32".into(),
    ));
    // NaN and infinite weights.
    let mut p = parts();
    p.tensor("1.weight").3[4 * 7..4 * 8].copy_from_slice(&f32::NAN.to_le_bytes());
    cases.push((
        "nan",
        write_parts("nan", &p),
        "tensor 1.weight: value 7 of 3120 is NaN (weights must be finite)".into(),
    ));
    let mut p = parts();
    p.tensor("0.inv_std").3[..4].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
    cases.push((
        "inf",
        write_parts("inf", &p),
        "tensor 0.inv_std: value 0 of 195 is -inf (weights must be finite)".into(),
    ));
    // Bad JSON metadata.
    let mut p = parts();
    p.meta
        .insert("speechfront".into(), "{\"format_version\": 1,".into());
    cases.push((
        "bad_json",
        write_parts("bad_json", &p),
        "bad header 'speechfront': EOF while parsing a value at line 1 column 21".into(),
    ));
    let mut p = parts();
    let mut h = p.header();
    h["hidden_units"] = h["spec"]["hidden"].clone();
    h.as_object_mut().unwrap().remove("spec");
    p.set_header(&h);
    cases.push((
        "header_field_missing",
        write_parts("header_field_missing", &p),
        format!(
            "bad header 'speechfront': missing field `spec` at line 1 column {}",
            h.to_string().len()
        ),
    ));
    let mut p = parts();
    let text = p.meta["speechfront.experiment"].replace("[input]", "[input\n");
    p.meta.insert("speechfront.experiment".into(), text);
    let (code, _, err_line) = {
        let f = bad("bad_toml");
        p.write(&f);
        evaluate(&f)
    };
    assert_eq!(code, 2);
    assert!(
        err_line.starts_with(&format!(
            "error: {}: configuration inside the model: ",
            bad("bad_toml").display()
        )) && err_line.contains("TOML parse error"),
        "{err_line}"
    );
    // Metadata that disagrees with the tensors.
    let mut p = parts();
    let mut h = p.header();
    h["spec"]["hidden"] = serde_json::json!([1_000_000_000_000u64]);
    p.set_header(&h);
    cases.push((
        "huge_hidden",
        write_parts("huge_hidden", &p),
        format!(
            "'speechfront' declares a network of at least {} weights (input 195, hidden [1000000000000], 10 classes), the file holds {values} values",
            195_000_000_000_000u64 + 10_000_000_000_000
        ),
    ));
    let mut p = parts();
    let mut h = p.header();
    h["spec"]["hidden"] = serde_json::json!([12]);
    p.set_header(&h);
    cases.push((
        "other_hidden",
        write_parts("other_hidden", &p),
        "tensor 1.weight: shape [195, 16], the header's architecture needs [195, 12]".into(),
    ));
    let mut p = parts();
    let mut h = p.header();
    h["class_names"].as_array_mut().unwrap().pop();
    p.set_header(&h);
    cases.push((
        "nine_names",
        write_parts("nine_names", &p),
        "'speechfront' declares 10 classes but names 9".into(),
    ));
    let mut p = parts();
    let mut h = p.header();
    h["frame_context"] = serde_json::json!(u64::MAX / 2);
    p.set_header(&h);
    cases.push((
        "huge_context",
        write_parts("huge_context", &p),
        format!(
            "'speechfront' declares a context of +-{} frames (dilation 1) over 195 inputs: more frames than inputs",
            u64::MAX / 2
        ),
    ));
    // Header and tensors agree, but not with the stored configuration.
    let mut p = parts();
    let mut h = p.header();
    h["frame_context"] = serde_json::json!(3);
    p.set_header(&h);
    cases.push((
        "other_context",
        write_parts("other_context", &p),
        "network 0 does not fit its configuration (39 features per frame, input mode Context): invalid data: 39 features per frame with a context of +-3 frames do not give the 195 inputs the model expects".into(),
    ));
    let mut p = parts();
    let text = p.meta["speechfront.experiment"].replace("deltas = true", "deltas = false");
    assert_ne!(text, p.meta["speechfront.experiment"]);
    p.meta.insert("speechfront.experiment".into(), text);
    cases.push((
        "no_deltas",
        write_parts("no_deltas", &p),
        "network 0 does not fit its configuration (13 features per frame, input mode Context): invalid data: 13 features per frame with a context of +-2 frames do not give the 195 inputs the model expects".into(),
    ));
    let mut p = parts();
    let text = p.meta["speechfront.experiment"].replace("mode = \"context\"", "mode = \"pool\"");
    assert_ne!(text, p.meta["speechfront.experiment"]);
    p.meta.insert("speechfront.experiment".into(), text);
    cases.push((
        "pool_mode",
        write_parts("pool_mode", &p),
        "network 0 does not fit its configuration (39 features per frame, input mode Pool): invalid data: input shape [1, 98, 39]: the model expects rank 2 with last axis 195".into(),
    ));

    let mut failures = Vec::new();
    for (name, content, reason) in &cases {
        let f = bad(name);
        std::fs::write(&f, content).unwrap();
        let (code, stdout, stderr) = evaluate(&f);
        let want = format!("error: {}: {reason}\n", f.display());
        if code != 2 || stderr != want || !stdout.is_empty() {
            failures.push(format!(
                "{name}: status {code}, stderr {stderr:?}, stdout {stdout:?}\n  wanted {want:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
