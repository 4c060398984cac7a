//! What machine this is (chip, memory, cores), read the cheap way each OS
//! offers: `sysctl` on macOS, `/proc` on Linux. Anything unreadable stays
//! unknown; this never fails.

use gitkeeper_runner_protocol::Hardware;

/// The summary sent on register.
pub async fn detect() -> Hardware {
    tokio::task::spawn_blocking(detect_blocking)
        .await
        .unwrap_or_else(|_| base())
}

fn base() -> Hardware {
    Hardware {
        chip: None,
        memory_bytes: None,
        cpu_cores: std::thread::available_parallelism()
            .ok()
            .and_then(|n| u32::try_from(n.get()).ok()),
        os: std::env::consts::OS.to_string(),
        arch: std::env::consts::ARCH.to_string(),
    }
}

fn detect_blocking() -> Hardware {
    let mut hw = base();
    if cfg!(target_os = "macos") {
        hw.chip = sysctl("machdep.cpu.brand_string");
        hw.memory_bytes = sysctl("hw.memsize").and_then(|m| m.parse().ok());
    } else if cfg!(target_os = "linux") {
        if let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") {
            hw.chip = cpu_model(&cpuinfo);
        }
        if let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") {
            hw.memory_bytes = mem_total(&meminfo);
        }
    }
    hw
}

fn sysctl(key: &str) -> Option<String> {
    let out = std::process::Command::new("sysctl")
        .args(["-n", key])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `model name` (x86) or `Model`/`Hardware` (ARM boards) from `/proc/cpuinfo`.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
        })
    })
}

/// `MemTotal: N kB` from `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_proc_files_are_read() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            cpu_model(cpuinfo).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(cpu_model("processor : 0\n"), None);
        assert_eq!(
            mem_total("MemTotal:       16318440 kB\nMemFree: 1 kB\n"),
            Some(16318440 * 1024)
        );
        assert_eq!(mem_total("nothing"), None);
    }

    #[tokio::test]
    async fn detection_never_fails() {
        let hw = detect().await;
        assert_eq!(hw.os, std::env::consts::OS);
        assert!(hw.cpu_cores.unwrap_or(1) >= 1);
    }
}
