//! The reference parser: `parse_normalized`, `parse_any`, `path_match` and `familiar_match`
//! on any string. Properties: nothing panics; a parsed reference prints (full and, where Docker's
//! familiar form is not ambiguous, familiar forms, with and without the default tag) to strings that parse back to the same reference;
//! a familiar string without an IPv6 domain (no glob metacharacter) matches itself as a pattern.
#![no_main]

use image_ref::{familiar_match, parse_any, path_match, AnyReference, Reference};
use libfuzzer_sys::fuzz_target;

/// Docker's familiar form drops `docker.io/`, so `docker.io/a.b/c` prints as `a.b/c`, which
/// reads back with `a.b` as the registry, and `docker.io/library/<64 hex>` prints as a bare
/// 64-hex name, which `ParseNormalizedNamed` refuses: Docker's own ambiguities
/// (`familiarizeName`), kept.
fn familiar_is_ambiguous(r: &Reference) -> bool {
    let first = r.path().split('/').next().unwrap_or("");
    let name = r.familiar_name();
    r.domain() == image_ref::DEFAULT_DOMAIN
        && ((r.path().contains('/') && (first.contains(['.', ':']) || first == "localhost"))
            || (name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())))
}

fn round_trips(r: &Reference) {
    let mut forms = vec![r.to_string()];
    if !familiar_is_ambiguous(r) {
        forms.push(r.familiar_string());
    }
    for s in forms {
        let back = Reference::parse_normalized(&s)
            .unwrap_or_else(|e| panic!("{r:?} prints as {s:?}, which does not parse: {e}"));
        assert_eq!(&back, r, "{s:?} parses to another reference");
    }
    let tagged = r.clone().with_default_tag();
    let back = Reference::parse_normalized(&tagged.to_string()).expect("tagged form parses");
    assert_eq!(back, tagged);
    let name = r.name_only();
    if familiar_is_ambiguous(r) {
        return;
    }
    assert_eq!(
        Reference::parse_normalized(&name.familiar_name()).as_ref(),
        Ok(&name),
        "familiar name of {r:?}"
    );
    // Only an IPv6 domain brings a glob metacharacter (`[`) into a reference.
    if !r.domain().starts_with('[') {
        assert!(
            familiar_match(&r.familiar_string(), r),
            "{r:?} does not match its own familiar string"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse_normalized(s) {
        round_trips(&r);
    }
    match parse_any(s) {
        Ok(AnyReference::Named(r)) => round_trips(&r),
        Ok(AnyReference::Id(d)) => {
            assert!(matches!(parse_any(&d.to_string()), Ok(AnyReference::Id(e)) if e == d));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    // A pattern and a name: the text before and after the first newline.
    let (pattern, name) = s.split_once('\n').unwrap_or((s, s));
    let _ = path_match(pattern, name);
    if !pattern.contains(['*', '?', '[', '\\']) {
        assert_eq!(path_match(pattern, pattern), Ok(true), "{pattern:?} vs itself");
    }
});
