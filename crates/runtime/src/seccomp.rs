//! `seccomp`: Docker's default seccomp profile expressed in the OCI config.
//!
//! `data/seccomp-default.json` is the profile data moby ships (`profiles/seccomp/default.json`);
//! it is turned into the spec's `linux.seccomp` the way Docker does: the host architecture and
//! its sub-architectures, and each rule kept only when its `includes`/`excludes` (architectures,
//! capabilities of the container, minimum kernel) match.

use crate::{Result, RuntimeError};
use oci_spec::runtime::LinuxSeccomp;
use serde::Deserialize;
use serde_json::{json, Value};

const PROFILE: &str = include_str!("../data/seccomp-default.json");

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    default_action: String,
    default_errno_ret: Option<u32>,
    arch_map: Vec<ArchMap>,
    syscalls: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: String,
    #[serde(default)]
    sub_architectures: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    names: Vec<String>,
    action: String,
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<Value>>,
    #[serde(default)]
    includes: Filter,
    #[serde(default)]
    excludes: Filter,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    caps: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// Go's name of the host architecture, as the profile's `arches` use it.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

fn scmp_arch(go: &str) -> &'static str {
    match go {
        "amd64" => "SCMP_ARCH_X86_64",
        "386" => "SCMP_ARCH_X86",
        "arm64" => "SCMP_ARCH_AARCH64",
        "arm" => "SCMP_ARCH_ARM",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "s390x" => "SCMP_ARCH_S390X",
        "riscv64" => "SCMP_ARCH_RISCV64",
        _ => "",
    }
}

fn kernel_at_least(kernel: (u32, u32), min: &str) -> bool {
    let mut it = min.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let want = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    kernel >= want
}

/// The running kernel's `major.minor`.
pub fn host_kernel() -> (u32, u32) {
    let text = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = text
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Docker's default profile for a container with capabilities `caps` (`CAP_…` names) on
/// architecture `arch` (Go's name) and kernel `kernel`.
pub fn default_profile(arch: &str, caps: &[String], kernel: (u32, u32)) -> Result<LinuxSeccomp> {
    let p: Profile = serde_json::from_str(PROFILE)
        .map_err(|e| RuntimeError::Invalid(format!("seccomp profile: {e}")))?;
    let native = scmp_arch(arch);
    let mut arches = Vec::new();
    for m in &p.arch_map {
        if m.architecture == native {
            arches.push(m.architecture.clone());
            arches.extend(m.sub_architectures.iter().flatten().cloned());
        }
    }
    let mut syscalls = Vec::new();
    for r in &p.syscalls {
        let inc_arches = r.includes.arches.as_deref().unwrap_or_default();
        if !inc_arches.is_empty() && !inc_arches.iter().any(|a| a == arch) {
            continue;
        }
        if r.excludes.arches.iter().flatten().any(|a| a == arch) {
            continue;
        }
        if !r.includes.caps.iter().flatten().all(|c| caps.contains(c)) {
            continue;
        }
        if r.excludes.caps.iter().flatten().any(|c| caps.contains(c)) {
            continue;
        }
        if let Some(min) = &r.includes.min_kernel {
            if !kernel_at_least(kernel, min) {
                continue;
            }
        }
        let mut s = json!({ "names": r.names, "action": r.action });
        if let Some(e) = r.errno_ret {
            s["errnoRet"] = json!(e);
        }
        if let Some(a) = &r.args {
            if !a.is_empty() {
                s["args"] = Value::Array(a.clone());
            }
        }
        syscalls.push(s);
    }
    let mut v = json!({
        "defaultAction": p.default_action,
        "architectures": arches,
        "syscalls": syscalls,
    });
    if let Some(e) = p.default_errno_ret {
        v["defaultErrnoRet"] = json!(e);
    }
    serde_json::from_value(v).map_err(|e| RuntimeError::Invalid(format!("seccomp profile: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxSeccompAction;

    fn names(s: &LinuxSeccomp) -> Vec<String> {
        s.syscalls()
            .iter()
            .flatten()
            .filter(|r| r.action() == LinuxSeccompAction::ScmpActAllow)
            .flat_map(|r| r.names().clone())
            .collect()
    }

    #[test]
    fn default_caps_on_amd64() {
        let caps: Vec<String> = crate::spec::DEFAULT_CAPS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = default_profile("amd64", &caps, (6, 1)).unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(s.default_errno_ret(), Some(1));
        let arches = serde_json::to_value(s.architectures()).unwrap();
        assert_eq!(
            arches,
            json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        );
        let n = names(&s);
        for allowed in ["read", "execve", "clone", "arch_prctl", "chroot"] {
            assert!(n.iter().any(|x| x == allowed), "{allowed} allowed");
        }
        // CAP_SYS_ADMIN-only and other-arch rules are left out.
        for denied in [
            "mount",
            "umount2",
            "reboot",
            "kexec_load",
            "s390_pci_mmio_read",
        ] {
            assert!(!n.iter().any(|x| x == denied), "{denied} not allowed");
        }
        // Without CAP_SYS_ADMIN, clone is allowed only without namespace flags.
        let sys_admin: Vec<String> = vec!["CAP_SYS_ADMIN".into()];
        let admin = names(&default_profile("amd64", &sys_admin, (6, 1)).unwrap());
        assert!(admin.iter().any(|x| x == "mount"));
    }
}
