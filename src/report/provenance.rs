//! Where, when and by what a report was made: the machine, a UTC
//! timestamp and the crate version, so a report can be reproduced (and its
//! timings judged) from itself.
//!
//! Detection reads Linux's `/proc/cpuinfo` and `/etc/os-release`; elsewhere
//! it falls back to "unknown" rather than failing, since a missing CPU name
//! must never stop a report from being written. The timestamp is formatted
//! by hand (days-to-civil-date conversion) to avoid a date crate for one
//! line of text.

use std::time::{SystemTime, UNIX_EPOCH};

use super::model::{Machine, Report};

/// An empty report with title, command line, creation time (now, UTC),
/// crate version and this machine filled in; the caller adds the data,
/// split and results.
pub fn new_report(title: &str, command_line: &str) -> Report {
    Report {
        title: title.to_string(),
        created: utc_now_rfc3339(),
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        machine: detect_machine(),
        command_line: command_line.to_string(),
        ..Report::default()
    }
}

/// The CPU model, logical core count and operating system of this machine.
pub fn detect_machine() -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cpu_model_from_cpuinfo(&text))
        .unwrap_or_else(|| "unknown".to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let distro = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| pretty_name(&text));
    let base = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    let os = match distro {
        Some(name) => format!("{name} ({base})"),
        None => base,
    };
    Machine {
        cpu_model,
        cores,
        os,
    }
}

/// The current time in UTC as RFC 3339 text, e.g. "2026-11-27T04:00:00Z".
/// A clock before 1970 (never seen in practice) prints the epoch.
pub fn utc_now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339_from_unix(secs)
}

/// RFC 3339 UTC text for seconds since the Unix epoch.
fn rfc3339_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian), counting
    // in 400-year eras that start on 0000-03-01 so leap days fall at the
    // end of each year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The first `model name` (x86) or `Model`/`Hardware` (ARM) line's value.
fn cpu_model_from_cpuinfo(text: &str) -> Option<String> {
    ["model name", "Model", "Hardware"].iter().find_map(|key| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
        })
    })
}

/// `PRETTY_NAME` from an os-release file, unquoted.
fn pretty_name(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        Some(value.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpuinfo_and_os_release() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(
            cpu_model_from_cpuinfo(cpuinfo).as_deref(),
            Some("AMD EPYC 7B13")
        );
        assert_eq!(cpu_model_from_cpuinfo("processor: 0\n"), None);
        let osr = "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            pretty_name(osr).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn detect_fills_every_field() {
        let m = detect_machine();
        assert!(m.cores >= 1);
        assert!(!m.cpu_model.is_empty());
        assert!(m.os.contains(std::env::consts::ARCH), "{}", m.os);
    }

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day in a century leap year) 12:34:56.
        assert_eq!(rfc3339_from_unix(951_827_696), "2000-02-29T12:34:56Z");
        // 2026-11-27 04:00:00, the demo report's date.
        assert_eq!(rfc3339_from_unix(1_795_752_000), "2026-11-27T04:00:00Z");
        assert!(utc_now_rfc3339().ends_with('Z'));
    }

    #[test]
    fn new_report_fills_provenance() {
        let r = new_report("t", "speechfront compare");
        assert_eq!(r.crate_version, env!("CARGO_PKG_VERSION"));
        assert_eq!(r.created.len(), "2026-11-27T04:00:00Z".len());
        assert!(r.configs.is_empty());
    }
}
