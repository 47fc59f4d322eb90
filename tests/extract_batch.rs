//! End-to-end tests of `extract` at scale and across runs, through the
//! built binary: resume keyed by configuration and input identity, names
//! that are not UTF-8, `--shard` with `merge`, `--inputs-from`, and runs
//! killed with SIGKILL at several points.

#[path = "common/wavgen.rs"]
mod wavgen;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_speechfront"))
}

fn speechfront(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn spawn(args: &[&str]) -> Child {
    bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits")
}

fn tone_file(dir: &Path, name: &str, n: usize) -> PathBuf {
    let p = dir.join(name);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, n))).unwrap();
    p
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The `.npy` files of a tree.
fn npys(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "npy"))
        .collect()
}

/// A `.npy` is complete: its header's shape accounts for every byte.
fn npy_complete(bytes: &[u8]) -> bool {
    if bytes.len() < 10 || &bytes[..8] != b"\x93NUMPY\x01\x00" {
        return false;
    }
    let hlen = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let Some(header) = bytes.get(10..10 + hlen) else {
        return false;
    };
    let header = String::from_utf8_lossy(header);
    let Some(shape) = header
        .split("'shape': (")
        .nth(1)
        .and_then(|t| t.split(')').next())
    else {
        return false;
    };
    let dims: Vec<usize> = shape
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    dims.len() == 2 && bytes.len() == 10 + hlen + 4 * dims[0] * dims[1]
}

/// Manifest rows (header dropped) split into fields.
fn rows(path: &Path) -> Vec<Vec<String>> {
    let t = fs::read_to_string(path).unwrap();
    let mut lines = t.lines();
    assert!(lines.next().unwrap().starts_with("input\tstatus"));
    lines
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// (status, action) by input file name.
fn actions(path: &Path) -> BTreeMap<String, (String, String)> {
    rows(path)
        .into_iter()
        .map(|r| {
            let name = r[0].rsplit('/').next().unwrap().to_string();
            (name, (r[1].clone(), r[8].clone()))
        })
        .collect()
}

/// Entries of a Kaldi archive through its `.scp` (a reader written for the
/// test), by key: (rows, cols, data bytes).
fn read_scp(scp: &Path) -> BTreeMap<String, (usize, usize, Vec<u8>)> {
    let t = fs::read_to_string(scp).unwrap();
    t.lines()
        .map(|line| {
            let (key, target) = line.split_once(' ').unwrap();
            let (path, offset) = target.rsplit_once(':').unwrap();
            let ark = fs::read(path).unwrap();
            let o: usize = offset.parse().unwrap();
            assert_eq!(&ark[o - key.len() - 1..o], format!("{key} ").as_bytes());
            assert_eq!(&ark[o..o + 6], b"\0BFM \x04");
            let r = i32::from_le_bytes(ark[o + 6..o + 10].try_into().unwrap()) as usize;
            let c = i32::from_le_bytes(ark[o + 11..o + 15].try_into().unwrap()) as usize;
            let data = ark[o + 15..o + 15 + 4 * r * c].to_vec();
            (key.to_string(), (r, c, data))
        })
        .collect()
}

fn no_temporaries(dir: &Path) {
    for p in tree(dir).keys() {
        let name = p.file_name().unwrap().to_string_lossy();
        assert!(!name.contains(".tmp"), "leftover {}", p.display());
        assert!(!name.ends_with(".journal"), "leftover {}", p.display());
    }
}

#[test]
fn union_of_shards_is_the_unsharded_run_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = digits();
    let one = tmp.path().join("one");
    let o = speechfront(&["extract", s(&corpus), "--out", s(&one), "--jobs", "2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let want = npys(&one);
    assert_eq!(want.len(), 750);
    let want_manifest = fs::read(one.join("manifest.tsv")).unwrap();
    for n in [1u32, 3, 7] {
        let out = tmp.path().join(format!("sh{n}"));
        // N processes started together into one folder.
        let children: Vec<Child> = (0..n)
            .map(|i| {
                let shard = format!("{i}/{n}");
                spawn(&[
                    "extract",
                    s(&corpus),
                    "--out",
                    s(&out),
                    "--jobs",
                    "1",
                    "--shard",
                    &shard,
                ])
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "shard of {n}: {}", text(&o.stderr));
        }
        // Disjoint shards whose union is every input.
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut total = 0;
        for i in 0..n {
            let name = if n == 1 {
                "manifest.tsv".to_string()
            } else {
                format!("manifest.{i}-of-{n}.tsv")
            };
            let keys: Vec<String> = rows(&out.join(name))
                .into_iter()
                .map(|r| r[6].clone())
                .collect();
            total += keys.len();
            seen.extend(keys);
        }
        assert_eq!(
            (total, seen.len()),
            (750, 750),
            "{n} shards: disjoint and complete"
        );
        assert_eq!(npys(&out), want, "{n} shards: same .npy bytes as one run");
        let m = speechfront(&["merge", s(&out), s(&corpus)]);
        assert_eq!(m.status.code(), Some(0), "{}", text(&m.stderr));
        assert!(
            text(&m.stdout).contains("merged 750 rows"),
            "{}",
            text(&m.stdout)
        );
        assert_eq!(
            fs::read(out.join("manifest.tsv")).unwrap(),
            want_manifest,
            "{n} shards: merged manifest = the unsharded manifest"
        );
        no_temporaries(&out);
    }
}

#[test]
fn an_empty_shard_is_not_an_error_and_merge_finds_a_missing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("c");
    for i in 0..6 {
        tone_file(&corpus, &format!("u{i}.wav"), 3000 + 500 * i);
    }
    let lone = tone_file(tmp.path(), "lone.wav", 4000);
    // One file over 7 shards: six are empty, which is not an error.
    let out = tmp.path().join("lone");
    let mut owners = 0;
    for i in 0..7 {
        let o = speechfront(&[
            "extract",
            s(&lone),
            "--out",
            s(&out),
            "--shard",
            &format!("{i}/7"),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let r = rows(&out.join(format!("manifest.{i}-of-7.tsv")));
        owners += r.len();
        if r.is_empty() {
            assert!(
                text(&o.stdout).starts_with("extracted 0 of 0; 0 failed"),
                "{}",
                text(&o.stdout)
            );
        }
    }
    assert_eq!(owners, 1);
    // Shard 1 of 3 never runs: merge names it and exits 1, writes nothing.
    let out = tmp.path().join("three");
    for i in [0, 2] {
        let o = speechfront(&[
            "extract",
            s(&corpus),
            "--out",
            s(&out),
            "--shard",
            &format!("{i}/3"),
        ]);
        assert!(o.status.success());
    }
    let m = speechfront(&["merge", s(&out), s(&corpus)]);
    assert_eq!(m.status.code(), Some(1));
    let err = text(&m.stderr);
    assert!(err.contains("shard 1/3 has no manifest"), "{err}");
    let missing =
        rows(&out.join("manifest.0-of-3.tsv")).len() + rows(&out.join("manifest.2-of-3.tsv")).len();
    assert_eq!(
        err.matches("input not in any shard's manifest").count(),
        6 - missing,
        "{err}"
    );
    assert!(!out.join("manifest.tsv").exists());
    // Once it has run, the merge is whole.
    assert!(
        speechfront(&["extract", s(&corpus), "--out", s(&out), "--shard", "1/3"])
            .status
            .success()
    );
    let m = speechfront(&["merge", s(&out), s(&corpus)]);
    assert_eq!(m.status.code(), Some(0), "{}", text(&m.stderr));
    assert_eq!(rows(&out.join("manifest.tsv")).len(), 6);
    // A failed input is reported by merge too, with exit 1.
    fs::write(corpus.join("broken.wav"), b"not audio").unwrap();
    for i in 0..3 {
        speechfront(&[
            "extract",
            s(&corpus),
            "--out",
            s(&out),
            "--shard",
            &format!("{i}/3"),
        ]);
    }
    let m = speechfront(&["merge", s(&out)]);
    assert_eq!(m.status.code(), Some(1));
    assert!(
        text(&m.stderr).contains("broken.wav: failed:"),
        "{}",
        text(&m.stderr)
    );
}

#[test]
fn inputs_from_a_list_and_a_wav_scp() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tone_file(tmp.path(), "x/a.wav", 4000);
    let b = tone_file(tmp.path(), "y/b.wav", 6000);
    // A path list behaves as the same paths on the command line.
    let list = tmp.path().join("list.txt");
    fs::write(&list, format!("{}\n\n{}\r\n", s(&a), s(&b))).unwrap();
    let (l, c) = (tmp.path().join("l"), tmp.path().join("c"));
    assert!(speechfront(&[
        "extract",
        "--inputs-from",
        s(&list),
        "--out",
        s(&l),
        "--dither",
        "0"
    ])
    .status
    .success());
    assert!(
        speechfront(&["extract", s(&a), s(&b), "--out", s(&c), "--dither", "0"])
            .status
            .success()
    );
    assert_eq!(npys(&l), npys(&c));
    assert_eq!(npys(&l).len(), 2);
    // Standard input.
    let stdin_out = tmp.path().join("stdin");
    let mut child = bin()
        .args([
            "extract",
            "--inputs-from",
            "-",
            "--out",
            s(&stdin_out),
            "--dither",
            "0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n{}\n", s(&a), s(&b)).as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(npys(&stdin_out), npys(&c));
    // A wav.scp: ids become keys; a piped command is refused by name.
    let scp = tmp.path().join("wav.scp");
    fs::write(
        &scp,
        format!(
            "spk1-utt1 {}\nspk2-utt7 {}\nspk3-utt9 sox {} -t wav - |\n",
            s(&a),
            s(&b),
            s(&a)
        ),
    )
    .unwrap();
    let ark = tmp.path().join("ark");
    let o = speechfront(&[
        "extract",
        "--inputs-from",
        s(&scp),
        "--out",
        s(&ark),
        "--format",
        "ark",
        "--dither",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(1), "the piped entry failed");
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("utterance spk3-utt9: the wav.scp entry is a piped command (`... |`), which extract does not run"),
        "{err}"
    );
    let entries = read_scp(&ark.join("feats.scp"));
    assert_eq!(
        entries.keys().collect::<Vec<_>>(),
        ["spk1-utt1", "spk2-utt7"]
    );
    // Same numbers as the .npy of the same file.
    let npy_a = &npys(&c)[Path::new("a.npy")];
    let (r, cols, data) = &entries["spk1-utt1"];
    // (Without dither: with it, each key seeds its own generator.)
    assert!(
        npy_a[npy_a.len() - 4 * r * cols..] == data[..],
        "same numbers"
    );
    // The npy layout names files by id.
    let by_id = tmp.path().join("by_id");
    speechfront(&["extract", "--inputs-from", s(&scp), "--out", s(&by_id)]);
    assert_eq!(
        npys(&by_id).keys().cloned().collect::<Vec<_>>(),
        [
            PathBuf::from("spk1-utt1.npy"),
            PathBuf::from("spk2-utt7.npy")
        ]
    );
    kaldiio_reads(&ark.join("feats.scp"), &["spk1-utt1", "spk2-utt7"]);
}

/// kaldiio on the archive, when python3 has it (the project's reader above
/// checked it otherwise).
fn kaldiio_reads(scp: &Path, keys: &[&str]) {
    let probe = Command::new("python3")
        .args(["-c", "import kaldiio"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped kaldiio check: python3 with kaldiio not found");
        return;
    }
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys, kaldiio; print(' '.join(k for k, _ in kaldiio.load_scp_sequential(sys.argv[1])))",
            s(scp),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), keys.join(" "));
}

#[test]
fn a_changed_configuration_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("c");
    for i in 0..3 {
        tone_file(&corpus, &format!("u{i}.wav"), 4000 + 1000 * i);
    }
    for format in ["npy", "ark"] {
        let out = tmp.path().join(format);
        let base = ["extract", s(&corpus), "--out", s(&out), "--format", format];
        assert!(speechfront(&base).status.success());
        let before = tree(&out);
        let mut librosa = base.to_vec();
        librosa.extend(["--preset", "librosa"]);
        let o = speechfront(&librosa);
        assert_eq!(o.status.code(), Some(2), "{format}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!(
                "made by another configuration (kaldi mfcc {format}, key "
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("than this run's (librosa mfcc {format}, key ")),
            "{err}"
        );
        assert!(err.contains("first difference: "), "{err}");
        assert!(err.contains("--force"), "{err}");
        assert_eq!(tree(&out), before, "{format}: nothing touched");
        // With --force: every output is recomputed under the new configuration.
        librosa.push("--force");
        let o = speechfront(&librosa);
        assert!(o.status.success(), "{}", text(&o.stderr));
        assert!(text(&o.stdout).starts_with("extracted 3 of 3; 0 failed; 0 skipped"));
        let acts = actions(&out.join("manifest.tsv"));
        assert!(
            acts.values().all(|a| a == &("ok".into(), "forced".into())),
            "{acts:?}"
        );
        let fresh = tmp.path().join(format!("{format}-fresh"));
        let mut direct = vec![
            "extract",
            s(&corpus),
            "--out",
            s(&fresh),
            "--format",
            format,
        ];
        direct.extend(["--preset", "librosa"]);
        assert!(speechfront(&direct).status.success());
        if format == "npy" {
            assert_eq!(npys(&out), npys(&fresh));
        } else {
            assert_eq!(
                read_scp(&out.join("feats.scp")),
                read_scp(&fresh.join("feats.scp"))
            );
        }
        let record = fs::read_to_string(out.join("extract.json")).unwrap();
        assert_eq!(
            record,
            fs::read_to_string(fresh.join("extract.json")).unwrap()
        );
        // The folder is now librosa's: the first configuration is the other one.
        let o = speechfront(&direct[..6]);
        assert_eq!(o.status.code(), Some(2), "kaldi again is now refused");
    }
}

/// Set a file's modification time (seconds since the epoch).
fn set_mtime(path: &Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(secs as u64);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn a_rerun_recomputes_what_changed_and_skips_what_provably_did_not() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("c");
    let files: Vec<PathBuf> = (0..5)
        .map(|i| tone_file(&corpus, &format!("u{i}.wav"), 4000 + 1000 * i))
        .collect();
    for format in ["npy", "ark"] {
        let out = tmp.path().join(format);
        let args = [
            "extract",
            s(&corpus),
            "--out",
            s(&out),
            "--format",
            format,
            "--dither",
            "0",
        ];
        for f in &files {
            set_mtime(f, 1_700_000_000);
        }
        let o = speechfront(&args);
        assert!(o.status.success());
        let m = out.join("manifest.tsv");
        assert!(actions(&m)
            .values()
            .all(|a| a == &("ok".into(), "new".into())));
        let o = speechfront(&args);
        assert!(
            text(&o.stdout).starts_with("extracted 0 of 5; 0 failed; 5 skipped"),
            "{}",
            text(&o.stdout)
        );
        assert!(actions(&m)
            .values()
            .all(|a| a == &("skipped".into(), "unchanged".into())));
        // u0: other content of the same size (new time, other hash); u1:
        // touched only (new time, same hash); u2: a longer file; u3: its
        // output deleted (npy; in ark mode it stays intact); u4: untouched.
        let mut other = wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 4000));
        let n = other.len();
        other[n - 2..].copy_from_slice(&[0x12, 0x34]);
        fs::write(&files[0], &other).unwrap();
        set_mtime(&files[1], 1_700_000_500);
        tone_file(&corpus, "u2.wav", 9000);
        if format == "npy" {
            fs::remove_file(out.join("u3.npy")).unwrap();
        }
        let o = speechfront(&args);
        assert!(o.status.success());
        let acts = actions(&m);
        let want_u3 = if format == "npy" {
            ("ok", "output missing")
        } else {
            ("skipped", "unchanged")
        };
        let want: BTreeMap<String, (String, String)> = [
            ("u0.wav", ("ok", "input changed")),
            ("u1.wav", ("skipped", "unchanged content")),
            ("u2.wav", ("ok", "input changed")),
            ("u3.wav", want_u3),
            ("u4.wav", ("skipped", "unchanged")),
        ]
        .into_iter()
        .map(|(k, (a, b))| (k.to_string(), (a.to_string(), b.to_string())))
        .collect();
        assert_eq!(acts, want, "{format}");
        let recomputed = if format == "npy" { 3 } else { 2 };
        assert!(
            text(&o.stdout).starts_with(&format!(
                "extracted {recomputed} of 5; 0 failed; {} skipped (input and configuration unchanged); {recomputed} recomputed",
                5 - recomputed
            )),
            "{}",
            text(&o.stdout)
        );
        // The outputs are those of a fresh run over the changed files.
        let fresh = tmp.path().join(format!("{format}-fresh"));
        let mut a2 = args.to_vec();
        a2[3] = s(&fresh);
        assert!(speechfront(&a2).status.success());
        if format == "npy" {
            assert_eq!(npys(&out), npys(&fresh));
        } else {
            assert_eq!(
                read_scp(&out.join("feats.scp")),
                read_scp(&fresh.join("feats.scp"))
            );
        }
        // Restore the corpus for the next format.
        for (i, f) in files.iter().enumerate() {
            tone_file(
                &corpus,
                f.file_name().unwrap().to_str().unwrap(),
                4000 + 1000 * i,
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_keep_their_bytes_and_round_trip() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("c");
    fs::create_dir_all(&corpus).unwrap();
    let tone = wavgen::pcm16(16_000, &wavgen::tone_i16(16_000, 4000));
    let names: [&[u8]; 3] = [b"bad\xffname.wav", b"tab\there.wav", b"a b.wav"];
    for n in names {
        fs::write(corpus.join(OsStr::from_bytes(n)), &tone).unwrap();
    }
    let out = tmp.path().join("npy");
    let o = speechfront(&["extract", s(&corpus), "--out", s(&out)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let got: BTreeSet<Vec<u8>> = npys(&out)
        .keys()
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .collect();
    let want: BTreeSet<Vec<u8>> = [&b"bad\xffname.npy"[..], b"tab\there.npy", b"a b.npy"]
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(got, want, "output names keep the input's bytes");
    let manifest = fs::read_to_string(out.join("manifest.tsv")).unwrap();
    let c = s(&corpus);
    for line in [
        format!("{c}/a b.wav\tok\t"),
        format!("{c}/bad\\xffname.wav\tok\t"),
        format!("{c}/tab\\there.wav\tok\t"),
    ] {
        assert!(manifest.contains(&line), "{line:?} in\n{manifest}");
    }
    assert!(manifest.contains("\ta\\x20b\ta b.npy\t"), "{manifest}");
    assert!(
        manifest.contains("\tbad\\xffname\tbad\\xffname.npy\t"),
        "{manifest}"
    );
    // The library's reader gives the exact bytes back.
    let rows = speechfront::extract::manifest::parse(&manifest);
    let inputs: BTreeSet<Vec<u8>> = rows.iter().map(|r| r.input.as_bytes().to_vec()).collect();
    let want: BTreeSet<Vec<u8>> = names
        .iter()
        .map(|n| [c.as_bytes(), b"/", n].concat())
        .collect();
    assert_eq!(inputs, want);
    // A rerun recognises every one of them.
    let o = speechfront(&["extract", s(&corpus), "--out", s(&out)]);
    assert!(
        text(&o.stdout).starts_with("extracted 0 of 3; 0 failed; 3 skipped"),
        "{}",
        text(&o.stdout)
    );
    // Ark keys: escaped, never merged into one another.
    let ark = tmp.path().join("ark");
    assert!(
        speechfront(&["extract", s(&corpus), "--out", s(&ark), "--format", "ark"])
            .status
            .success()
    );
    let keys: Vec<String> = read_scp(&ark.join("feats.scp")).into_keys().collect();
    assert_eq!(keys, ["a\\x20b", "bad\\xffname", "tab\\there"]);
}

/// Kill `args` with SIGKILL after `delay`; true when it was still running.
fn run_and_kill(args: &[&str], delay: Duration) -> bool {
    let mut child = spawn(args);
    let start = Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    killed
}

#[cfg(unix)]
#[test]
fn sigkill_at_several_points_leaves_nothing_half_written_and_a_rerun_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = digits();
    for format in ["npy", "ark"] {
        let reference = tmp.path().join(format!("{format}-ref"));
        let start = Instant::now();
        let o = speechfront(&[
            "extract",
            s(&corpus),
            "--out",
            s(&reference),
            "--jobs",
            "1",
            "--format",
            format,
        ]);
        assert!(o.status.success());
        let full = start.elapsed();
        let mut kills = 0;
        let mut resumed = 0;
        for (n, fraction) in [0.05, 0.2, 0.4, 0.6, 0.8].into_iter().enumerate() {
            let out = tmp.path().join(format!("{format}-{n}"));
            let args = [
                "extract",
                s(&corpus),
                "--out",
                s(&out),
                "--jobs",
                "1",
                "--format",
                format,
            ];
            // Kill twice in a row, then let it finish.
            for _ in 0..2 {
                if run_and_kill(&args, full.mul_f64(fraction)) {
                    kills += 1;
                }
                if out.exists() {
                    for (p, bytes) in npys(&out) {
                        assert!(
                            npy_complete(&bytes),
                            "{format} {fraction}: {} half-written",
                            p.display()
                        );
                    }
                    if let Ok(t) = fs::read_to_string(out.join("feats.scp")) {
                        assert!(t.is_empty() || t.ends_with('\n'));
                    }
                }
            }
            let o = speechfront(&args);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let summary = text(&o.stdout);
            if !summary.contains("; 0 skipped") {
                resumed += 1;
            }
            assert_eq!(rows(&out.join("manifest.tsv")).len(), 750);
            if format == "npy" {
                assert_eq!(npys(&out), npys(&reference), "{fraction}");
            } else {
                assert_eq!(
                    read_scp(&out.join("feats.scp")),
                    read_scp(&reference.join("feats.scp"))
                );
            }
            no_temporaries(&out);
        }
        assert!(kills >= 3, "{format}: only {kills} kills landed mid-run");
        assert!(
            resumed >= 1,
            "{format}: no rerun reused a killed run's work"
        );
    }
}
