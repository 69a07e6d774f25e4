//! Architecture names, in one place. Docker names architectures as Go's `GOARCH` does
//! (`amd64`, `arm64`, `386`, `ppc64le`, `loong64`), and that is what image configs record,
//! what pull asks an index for and what `/version` and `/info` report.

/// Go's `GOARCH` name for a Rust `target_arch` name (`std::env::consts::ARCH`): `x86_64` →
/// `amd64`, `aarch64` → `arm64`, `x86` → `386`, `powerpc64` → `ppc64le` (little endian) or
/// `ppc64`, `loongarch64` → `loong64`; `arm`, `riscv64`, `s390x`, `mips64` are spelled alike.
pub fn go_arch(rust_arch: &str, little_endian: bool) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if little_endian => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The `GOARCH` name of the architecture this program was built for.
pub fn host_arch() -> &'static str {
    go_arch(std::env::consts::ARCH, cfg!(target_endian = "little"))
}

/// An architecture name as an index or a user may spell it, normalised to `GOARCH`
/// (`x86_64`/`x86-64` → `amd64`, `aarch64` → `arm64`, `i386`/`i686`/`x86` → `386`), as
/// containerd's platform matcher does.
pub fn normalize_arch(a: &str) -> &str {
    match a {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" | "x86" => "386",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_names_become_goarch_names() {
        for (rust, le, go) in [
            ("x86_64", true, "amd64"),
            ("aarch64", true, "arm64"),
            ("x86", true, "386"),
            ("powerpc64", true, "ppc64le"),
            ("powerpc64", false, "ppc64"),
            ("loongarch64", true, "loong64"),
            ("riscv64", true, "riscv64"),
            ("s390x", false, "s390x"),
            ("arm", true, "arm"),
        ] {
            assert_eq!(go_arch(rust, le), go, "{rust}");
            // what pull asks for is what import records, and the matcher agrees
            assert_eq!(normalize_arch(go_arch(rust, le)), go, "{rust}");
        }
        assert_eq!(normalize_arch("i686"), "386");
        assert_eq!(normalize_arch("x86-64"), "amd64");
    }
}
