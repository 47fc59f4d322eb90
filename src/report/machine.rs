//! Describing the machine a report was measured on.
//!
//! Timings mean little without the hardware, so the `compare` command calls
//! [`detect`] and stores the result in the report. Detection reads Linux's
//! `/proc/cpuinfo` and `/etc/os-release`; elsewhere it falls back to
//! "unknown" rather than failing, since a missing CPU name must never stop
//! a report from being written.

use super::model::Machine;

/// The CPU model, logical core count and operating system of this machine.
pub fn detect() -> Machine {
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
        let m = detect();
        assert!(m.cores >= 1);
        assert!(!m.cpu_model.is_empty());
        assert!(m.os.contains(std::env::consts::ARCH), "{}", m.os);
    }
}
