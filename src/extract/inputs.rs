//! Turning INPUT paths into jobs: walk folders recursively for audio files,
//! mirror their tree under the output directory, derive each file's key.
//!
//! Mapping: a file found under folder `F` at `F/a/b.flac` becomes
//! `DIR/a/b.npy` with key `a/b`; a file given directly becomes
//! `DIR/<stem>.npy` with key `<stem>`; a `wav.scp` line `utt1 /x/a.wav`
//! becomes `DIR/utt1.npy` with key `utt1`. Output paths keep the input's
//! bytes; keys are escaped as [`super::names::escape_key`] says. Files are
//! sorted within each folder so runs are reproducible. Two inputs that would
//! write the same output are a per-file error for the later one (never a
//! silent overwrite).
//!
//! `--inputs-from FILE` ([`read_list`]): a file named `*.scp` is a Kaldi
//! `wav.scp` (`utt-id path` per line); any other file is a list of paths,
//! one per line, each treated exactly as if it were given on the command
//! line (relative paths from the current directory). `-` reads standard
//! input, which is taken as a `wav.scp` when every non-empty line has two
//! fields and none is itself an existing path, and as a path list
//! otherwise. Empty lines are skipped; a trailing `\r` is dropped. Piped
//! commands (`utt sox a.sph -t wav - |`) and archive offsets (`utt
//! a.ark:12`) are reported per utterance as unsupported.

use crate::audio::has_audio_extension;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use super::names::{escape_key, os_bytes, os_from_bytes};

/// One file to extract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The audio file as found (input folder joined with the relative path).
    pub input: PathBuf,
    /// Output path relative to the output directory, extension `.npy`.
    pub rel_out: PathBuf,
    /// Key: relative path without extension, `/`-separated (the ark key and
    /// the dither seed's input).
    pub key: String,
}

/// An input that cannot become a job (missing path, unreadable folder,
/// output collision); reported like a failed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadInput {
    /// The path as given or found.
    pub input: PathBuf,
    /// Why.
    pub reason: String,
}

/// An utterance of a `wav.scp`: its id (the key) and its audio file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyedInput {
    /// The utterance id as written (bytes kept).
    pub id: Vec<u8>,
    /// The audio file.
    pub path: PathBuf,
}

/// What `--inputs-from` held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListedInputs {
    /// Lines of a path list (treated as command-line inputs).
    pub paths: Vec<PathBuf>,
    /// Lines of a `wav.scp`.
    pub keyed: Vec<KeyedInput>,
    /// Lines that name no usable file (piped commands, archive offsets).
    pub bad: Vec<BadInput>,
}

/// Split a list's lines (bytes, so non-UTF-8 paths survive).
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
}

/// `(id, rest)` of a `wav.scp` line: the id up to the first whitespace, the
/// rest trimmed; `None` without a second field.
fn scp_fields(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let line = line.trim_ascii();
    let cut = line.iter().position(u8::is_ascii_whitespace)?;
    let rest = line[cut..].trim_ascii();
    (!rest.is_empty()).then_some((&line[..cut], rest))
}

/// Parse the contents of an `--inputs-from` list (see the module docs);
/// `origin` is the list's name (`-` for standard input) and decides its kind.
pub fn read_list(text: &[u8], origin: &Path) -> ListedInputs {
    let is_scp = if origin == Path::new("-") {
        let mut all = lines(text).peekable();
        all.peek().is_some()
            && lines(text)
                .all(|l| scp_fields(l).is_some() && !Path::new(&os_from_bytes(l.to_vec())).exists())
    } else {
        origin.extension() == Some(OsStr::new("scp"))
    };
    let mut out = ListedInputs::default();
    for (n, line) in lines(text).enumerate() {
        if !is_scp {
            out.paths.push(PathBuf::from(os_from_bytes(line.to_vec())));
            continue;
        }
        let lineno = n + 1;
        let Some((id, rest)) = scp_fields(line) else {
            out.bad.push(BadInput {
                input: PathBuf::from(os_from_bytes(line.trim_ascii().to_vec())),
                reason: format!(
                    "{}: line {lineno}: expected `utt-id path`",
                    origin.display()
                ),
            });
            continue;
        };
        let id_text = String::from_utf8_lossy(id);
        let unsupported = if rest.ends_with(b"|") {
            Some(
                "is a piped command (`... |`), which extract does not run; \
                  write the audio to files first (e.g. with sox) and list those",
            )
        } else if is_ark_offset(rest) {
            Some(
                "is an archive offset (`file.ark:N`), which extract does not read; \
                  list the audio files themselves",
            )
        } else {
            None
        };
        match unsupported {
            Some(why) => out.bad.push(BadInput {
                input: PathBuf::from(os_from_bytes(rest.to_vec())),
                reason: format!(
                    "{}: utterance {id_text}: the wav.scp entry {why}",
                    origin.display()
                ),
            }),
            None => out.keyed.push(KeyedInput {
                id: id.to_vec(),
                path: PathBuf::from(os_from_bytes(rest.to_vec())),
            }),
        }
    }
    out
}

/// `...ark:123` (a Kaldi extended filename into an archive).
fn is_ark_offset(rest: &[u8]) -> bool {
    let text = String::from_utf8_lossy(rest);
    text.rsplit_once(':').is_some_and(|(path, offset)| {
        !offset.is_empty()
            && offset.bytes().all(|b| b.is_ascii_digit())
            && path.to_ascii_lowercase().ends_with(".ark")
    })
}

/// Expand `inputs` into jobs (in input order, folders sorted) and bad inputs.
pub fn collect(inputs: &[PathBuf]) -> (Vec<Job>, Vec<BadInput>) {
    collect_all(inputs, &[])
}

/// [`collect`], then the utterances of a `wav.scp` (key = utterance id).
pub fn collect_all(inputs: &[PathBuf], keyed: &[KeyedInput]) -> (Vec<Job>, Vec<BadInput>) {
    let mut jobs = Vec::new();
    let mut bad = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk_folder(input, &mut jobs, &mut bad);
        } else if input.is_file() {
            let stem = input
                .file_stem()
                .map(Path::new)
                .unwrap_or(Path::new("input"));
            jobs.push(job(input.clone(), stem));
        } else {
            bad.push(BadInput {
                input: input.clone(),
                reason: "no such file or folder".into(),
            });
        }
    }
    for k in keyed {
        let rel = Path::new(os_from_bytes(k.id.clone()).as_os_str()).to_path_buf();
        let safe = !k.id.is_empty()
            && rel.components().all(|c| matches!(c, Component::Normal(_)))
            && !k.id.starts_with(b"/")
            && !k.id.ends_with(b"/")
            && !k.id.windows(2).any(|w| w == b"//");
        if safe {
            let mut rel_out = rel.into_os_string();
            rel_out.push(".npy");
            jobs.push(Job {
                input: k.path.clone(),
                rel_out: PathBuf::from(rel_out),
                key: escape_key(&k.id),
            });
        } else {
            bad.push(BadInput {
                input: k.path.clone(),
                reason: format!(
                    "utterance id `{}` cannot name an output file (empty, absolute, or with . or .. parts)",
                    String::from_utf8_lossy(&k.id)
                ),
            });
        }
    }
    let jobs = drop_collisions(jobs, &mut bad);
    (jobs, bad)
}

/// Audio files under `root` in the order of a walk that visits each
/// folder's entries sorted by name. The walk itself is unsorted and the
/// paths are sorted once at the end: `Path`'s order compares component by
/// component, which is that same order, and costs far less than walkdir's
/// `sort_by_file_name` (which splits both paths into components on every
/// comparison; a fifth of the run's own instructions on FSDD's 2,500 files).
fn walk_folder(root: &Path, jobs: &mut Vec<Job>, bad: &mut Vec<BadInput>) {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(true) {
        match entry {
            Ok(e) if e.file_type().is_file() && has_audio_extension(e.path()) => {
                files.push(e.into_path());
            }
            Ok(_) => {}
            Err(err) => bad.push(BadInput {
                input: err.path().unwrap_or(root).to_path_buf(),
                reason: format!("cannot walk folder: {err}"),
            }),
        }
    }
    files.sort_unstable();
    for path in files {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let rel_no_ext = rel.with_extension("");
        jobs.push(job(path.clone(), &rel_no_ext));
    }
}

/// A job whose relative path without extension is `rel_no_ext`.
fn job(input: PathBuf, rel_no_ext: &Path) -> Job {
    let mut key: Vec<u8> = Vec::new();
    for (i, c) in rel_no_ext.components().enumerate() {
        if i > 0 {
            key.push(b'/');
        }
        key.extend_from_slice(&os_bytes(c.as_os_str()));
    }
    let mut rel_out = rel_no_ext.as_os_str().to_owned();
    rel_out.push(".npy");
    Job {
        input,
        rel_out: PathBuf::from(rel_out),
        key: escape_key(&key),
    }
}

/// Keep the first job for each output (and key); later ones become errors.
fn drop_collisions(jobs: Vec<Job>, bad: &mut Vec<BadInput>) -> Vec<Job> {
    let mut seen: HashMap<String, PathBuf> = HashMap::with_capacity(jobs.len());
    let mut kept = Vec::with_capacity(jobs.len());
    for j in jobs {
        match seen.get(&j.key) {
            Some(first) => bad.push(BadInput {
                reason: format!(
                    "output {} (key {}) is already produced by {}",
                    j.rel_out.display(),
                    j.key,
                    first.display()
                ),
                input: j.input,
            }),
            None => {
                seen.insert(j.key.clone(), j.input.clone());
                kept.push(j);
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_mirror_and_files_flatten() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("corpus");
        std::fs::create_dir_all(root.join("spk1/sess")).unwrap();
        for f in [
            "spk1/sess/u2.wav",
            "spk1/u1.FLAC",
            "b.mp3",
            "a.ogg",
            "notes.txt",
            "x.npy",
        ] {
            std::fs::write(root.join(f), b"").unwrap();
        }
        let single = dir.path().join("lone.wav");
        std::fs::write(&single, b"").unwrap();
        let missing = dir.path().join("missing");
        let (jobs, bad) = collect(&[root.clone(), single.clone(), missing.clone()]);
        let keys: Vec<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
        assert_eq!(keys, vec!["a", "b", "spk1/sess/u2", "spk1/u1", "lone"]);
        assert_eq!(jobs[2].rel_out, PathBuf::from("spk1/sess/u2.npy"));
        assert_eq!(jobs[2].input, root.join("spk1/sess/u2.wav"));
        assert_eq!(jobs[4].rel_out, PathBuf::from("lone.npy"));
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].input, missing);
    }

    #[test]
    fn order_is_walkdirs_sorted_walk() {
        // Names where byte order of whole paths and per-folder name order
        // disagree ('.' < '/' < 'b'): the oracle is walkdir's own sorted walk.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["a/b", "a.b", "a-b"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "a.wav",
            "a/x.wav",
            "a/b/z.wav",
            "a/b.wav",
            "a.b/y.wav",
            "a-b/w.wav",
            "A.wav",
            "ab.wav",
            "a0.wav",
        ] {
            std::fs::write(root.join(f), b"").unwrap();
        }
        let want: Vec<PathBuf> = walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap().into_path())
            .filter(|p| p.is_file())
            .collect();
        let (jobs, _) = collect(&[root.to_path_buf()]);
        let got: Vec<PathBuf> = jobs.into_iter().map(|j| j.input).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn colliding_outputs_keep_the_first() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["same.wav", "same.flac"] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        let (jobs, bad) = collect(&[dir.path().to_path_buf()]);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].input, dir.path().join("same.flac"));
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].reason.contains("already produced by"),
            "{}",
            bad[0].reason
        );
    }
}
