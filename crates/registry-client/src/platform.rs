//! Choosing the manifest for a platform from an image index.

use oci_model::{normalize_arch, Descriptor, Index, Platform};

const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// The entry of `index` for `want`: same OS and architecture, and the same variant after
/// normalisation (`amd64` has no default variant, so `v1` = none; `arm64` treats `v8` = none;
/// `arm` without a variant means `v7`). When `want` names no variant and no entry matches
/// exactly, the first entry of the right OS and architecture is taken. `x86_64` / `aarch64`
/// are accepted for `amd64` / `arm64`. Attestation manifests (`unknown/unknown`, or annotated
/// `vnd.docker.reference.type: attestation-manifest`) and entries without a platform are skipped.
pub fn select_platform<'a>(index: &'a Index, want: &Platform) -> Option<&'a Descriptor> {
    let want_arch = normalize_arch(&want.architecture);
    let want_variant = normalize_variant(want_arch, want.variant.as_deref());
    let candidates = || {
        index.manifests.iter().filter(move |d| {
            let Some(p) = &d.platform else { return false };
            !d.annotations.contains_key(REFERENCE_TYPE)
                && p.os != "unknown"
                && p.os.eq_ignore_ascii_case(&want.os)
                && normalize_arch(&p.architecture) == want_arch
        })
    };
    candidates()
        .find(|d| {
            let p = d.platform.as_ref().expect("filtered");
            normalize_variant(want_arch, p.variant.as_deref()) == want_variant
        })
        .or_else(|| {
            if want.variant.is_none() {
                candidates().next()
            } else {
                None
            }
        })
}

fn normalize_variant<'v>(arch: &str, v: Option<&'v str>) -> Option<&'v str> {
    let v = v.filter(|v| !v.is_empty());
    match (arch, v) {
        ("amd64", Some("v1")) => None,
        ("arm64", Some("v8")) => None,
        ("arm", None) => Some("v7"),
        (_, v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_model::{media_types, Digest};

    fn entry(os: &str, arch: &str, variant: Option<&str>, n: u8) -> Descriptor {
        let mut d = Descriptor::new(media_types::OCI_MANIFEST, Digest::of(&[n]), 1);
        d.platform = Some(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
            os_version: None,
        });
        d
    }

    fn plat(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(Into::into),
            os_version: None,
        }
    }

    fn pick(index: &Index, want: Platform) -> Option<u8> {
        let d = select_platform(index, &want)?;
        index.manifests.iter().position(|m| m == d).map(|i| i as u8)
    }

    #[test]
    fn picks_by_os_arch_variant() {
        let mut att = entry("unknown", "unknown", None, 9);
        att.annotations
            .insert(REFERENCE_TYPE.into(), "attestation-manifest".into());
        let index = Index {
            schema_version: 2,
            media_type: Some(media_types::OCI_INDEX.into()),
            manifests: vec![
                att,
                entry("linux", "arm", Some("v6"), 1),
                entry("linux", "arm", Some("v7"), 2),
                entry("linux", "arm64", Some("v8"), 3),
                entry("linux", "amd64", None, 4),
                entry("windows", "amd64", None, 5),
            ],
            annotations: Default::default(),
        };
        assert_eq!(pick(&index, plat("linux", "amd64", None)), Some(4));
        assert_eq!(pick(&index, plat("linux", "x86_64", None)), Some(4));
        assert_eq!(pick(&index, plat("linux", "arm64", None)), Some(3));
        assert_eq!(pick(&index, plat("linux", "arm64", Some("v8"))), Some(3));
        assert_eq!(pick(&index, plat("linux", "arm", None)), Some(2));
        assert_eq!(pick(&index, plat("linux", "arm", Some("v6"))), Some(1));
        assert_eq!(pick(&index, plat("linux", "arm", Some("v5"))), None);
        assert_eq!(pick(&index, plat("windows", "amd64", None)), Some(5));
        assert_eq!(pick(&index, plat("linux", "s390x", None)), None);
        assert_eq!(pick(&index, plat("unknown", "unknown", None)), None);
    }

    #[test]
    fn falls_back_when_no_variant_asked() {
        let index = Index {
            schema_version: 2,
            media_type: None,
            manifests: vec![entry("linux", "amd64", Some("v3"), 0)],
            annotations: Default::default(),
        };
        assert_eq!(pick(&index, plat("linux", "amd64", None)), Some(0));
        assert_eq!(pick(&index, plat("linux", "amd64", Some("v2"))), None);
    }
}
