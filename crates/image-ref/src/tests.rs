use super::*;

#[test]
fn normalises_like_docker() {
    // input, full form with default tag, familiar string with default tag, familiar name
    let cases = [
        (
            "busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            "busybox",
        ),
        (
            "busybox:1.36",
            "docker.io/library/busybox:1.36",
            "busybox:1.36",
            "busybox",
        ),
        (
            "library/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            "busybox",
        ),
        (
            "docker.io/library/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            "busybox",
        ),
        (
            "index.docker.io/library/bb:2",
            "docker.io/library/bb:2",
            "bb:2",
            "bb",
        ),
        (
            "user/app",
            "docker.io/user/app:latest",
            "user/app:latest",
            "user/app",
        ),
        (
            "docker.io/library/a/b",
            "docker.io/library/a/b:latest",
            "library/a/b:latest",
            "library/a/b",
        ),
        (
            "localhost/a",
            "localhost/a:latest",
            "localhost/a:latest",
            "localhost/a",
        ),
        (
            "localhost:5000/a/b:1",
            "localhost:5000/a/b:1",
            "localhost:5000/a/b:1",
            "localhost:5000/a/b",
        ),
        (
            "127.0.0.1:5000/bb",
            "127.0.0.1:5000/bb:latest",
            "127.0.0.1:5000/bb:latest",
            "127.0.0.1:5000/bb",
        ),
        (
            "[::1]:5000/bb:x",
            "[::1]:5000/bb:x",
            "[::1]:5000/bb:x",
            "[::1]:5000/bb",
        ),
        ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "Foo/bar"),
        (
            "localhost:5000",
            "docker.io/library/localhost:5000",
            "localhost:5000",
            "localhost",
        ),
        (
            "a__b-c---d/e.f_g",
            "docker.io/a__b-c---d/e.f_g:latest",
            "a__b-c---d/e.f_g:latest",
            "a__b-c---d/e.f_g",
        ),
        (
            "bb:UP_per.case-1",
            "docker.io/library/bb:UP_per.case-1",
            "bb:UP_per.case-1",
            "bb",
        ),
    ];
    for (input, full, familiar, name) in cases {
        let r = Reference::parse_normalized(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.familiar_name(), name, "{input}");
        let r = r.with_default_tag();
        assert_eq!(r.to_string(), full, "{input}");
        assert_eq!(r.familiar_string(), familiar, "{input}");
        assert_eq!(
            Reference::parse_normalized(&r.to_string()).unwrap(),
            r,
            "round trip of {input}"
        );
    }
}

#[test]
fn digests() {
    let hex = "a".repeat(64);
    let r = Reference::parse_normalized(&format!("bb@sha256:{hex}")).unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest().unwrap().hex(), hex);
    assert_eq!(
        r.clone().with_default_tag(),
        r,
        "a digest needs no default tag"
    );
    assert_eq!(r.familiar_string(), format!("bb@sha256:{hex}"));
    let both = Reference::parse_normalized(&format!("localhost:5000/bb:1@sha256:{hex}")).unwrap();
    assert_eq!(
        both.to_string(),
        format!("localhost:5000/bb:1@sha256:{hex}")
    );
    assert_eq!(
        both.with_tag("2").unwrap().to_string(),
        "localhost:5000/bb:2"
    );
    assert_eq!(
        Reference::parse_normalized("bb")
            .unwrap()
            .with_digest(Digest::from_hex(&hex).unwrap())
            .to_string(),
        format!("docker.io/library/bb@sha256:{hex}")
    );
}

#[test]
fn docker_error_texts() {
    let hex = "f".repeat(64);
    let long = "a".repeat(256);
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "invalid reference format"),
        ("Foo".into(), "invalid reference format: repository name (library/Foo) must be lowercase"),
        ("user/App:1".into(), "invalid reference format: repository name (user/App) must be lowercase"),
        ("bb:".into(), "invalid reference format"),
        ("bb:-x".into(), "invalid reference format"),
        (format!("bb:{}", "t".repeat(129)), "invalid reference format"),
        ("-bb".into(), "invalid reference format"),
        ("bb-".into(), "invalid reference format"),
        ("a//b".into(), "invalid reference format"),
        ("a/b/".into(), "invalid reference format"),
        ("bb@sha256:abc".into(), "invalid reference format"),
        (format!("bb@sha512:{hex}"), "unsupported digest algorithm"),
        (format!("bb@sha256:{}", "a".repeat(63) + "ab"), "invalid checksum digest length"),
        (hex.clone(), "invalid repository name (ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff), cannot specify 64-byte hexadecimal strings"),
        (format!("library/{}", "a".repeat(248)), "repository name must not be more than 255 characters"),
        (format!("localhost/{long}"), "repository name must not be more than 255 characters"),
        ("my_host:5000/x".into(), "invalid reference format"),
        ("a b".into(), "invalid reference format"),
    ];
    for (input, text) in cases {
        let err = Reference::parse_normalized(&input).expect_err(&input);
        assert_eq!(err.to_string(), text, "{input}");
    }
    // exactly 255 is fine
    assert!(Reference::parse_normalized(&format!("library/{}", "a".repeat(247))).is_ok());
    assert_eq!(
        Reference::parse_normalized("bb")
            .unwrap()
            .with_tag("-x")
            .unwrap_err()
            .to_string(),
        "invalid tag format"
    );
}

#[test]
fn any_reference() {
    let hex = "0123456789abcdef".repeat(4);
    assert_eq!(
        parse_any(&hex).unwrap(),
        AnyReference::Id(Digest::from_hex(&hex).unwrap())
    );
    assert_eq!(
        parse_any(&format!("sha256:{hex}")).unwrap(),
        AnyReference::Id(Digest::from_hex(&hex).unwrap())
    );
    match parse_any("bb").unwrap() {
        AnyReference::Named(r) => assert_eq!(r.to_string(), "docker.io/library/bb"),
        other => panic!("{other:?}"),
    }
    // a short hex string is a name
    assert!(matches!(
        parse_any("abc123").unwrap(),
        AnyReference::Named(_)
    ));
}

#[test]
fn familiar_matching() {
    let r = |s: &str| Reference::parse_normalized(s).unwrap().with_default_tag();
    let cases = [
        ("bb", "bb:1", true),
        ("bb:1", "bb:1", true),
        ("bb:*", "bb:1", true),
        ("b?", "bb:1", true),
        ("b*", "bb:1", true),
        ("b*", "user/bb:1", false),
        ("*/*", "user/bb:1", true),
        ("user/*:1", "user/bb:1", true),
        ("[a-c]b", "bb:1", true),
        ("[^b]b", "bb:1", false),
        ("library/bb", "bb:1", false),
        ("localhost:5000/*", "localhost:5000/x:2", true),
        ("bb:2", "bb:1", false),
    ];
    for (pattern, name, want) in cases {
        assert_eq!(
            familiar_match(pattern, &r(name)),
            want,
            "{pattern} vs {name}"
        );
    }
    assert_eq!(path_match("[", "a"), Err(glob::BadPattern));
    assert_eq!(path_match("a\\*b", "a*b"), Ok(true));
}

#[test]
fn path_match_agrees_with_go() {
    // (pattern, name, Go's path.Match)
    let cases = [
        ("abc", "abc", Ok(true)),
        ("*", "abc", Ok(true)),
        ("*c", "abc", Ok(true)),
        ("a*", "a", Ok(true)),
        ("a*", "abc", Ok(true)),
        ("a*", "ab/c", Ok(false)),
        ("a*/b", "abc/b", Ok(true)),
        ("a*/b", "a/c/b", Ok(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
        ("ab[c]", "abc", Ok(true)),
        ("ab[b-d]", "abc", Ok(true)),
        ("ab[e-g]", "abc", Ok(false)),
        ("ab[^c]", "abc", Ok(false)),
        ("ab[^b-d]", "abc", Ok(false)),
        ("ab[^e-g]", "abc", Ok(true)),
        ("a\\*b", "a*b", Ok(true)),
        ("a\\*b", "ab", Ok(false)),
        ("a?b", "a☺b", Ok(true)),
        ("a[^a]b", "a☺b", Ok(true)),
        ("a???b", "a☺b", Ok(false)),
        ("[a-ζ]*", "α", Ok(true)),
        ("*[a-ζ]", "A", Ok(false)),
        ("a?b", "a/b", Ok(false)),
        ("a*b", "a/b", Ok(false)),
        ("[\\]a]", "]", Ok(true)),
        ("[\\-]", "-", Ok(true)),
        ("[x\\-]", "x", Ok(true)),
        ("[x\\-]", "-", Ok(true)),
        ("[x\\-]", "z", Ok(false)),
        ("[\\-x]", "x", Ok(true)),
        ("[\\-x]", "-", Ok(true)),
        ("[\\-x]", "a", Ok(false)),
        ("[]a]", "]", Err(glob::BadPattern)),
        ("[-]", "-", Err(glob::BadPattern)),
        ("[x-]", "x", Err(glob::BadPattern)),
        ("[-x]", "x", Err(glob::BadPattern)),
        ("\\", "a", Err(glob::BadPattern)),
        ("[a-b-c]", "a", Err(glob::BadPattern)),
        ("[", "a", Err(glob::BadPattern)),
        ("[^", "a", Err(glob::BadPattern)),
        ("[^bc", "a", Err(glob::BadPattern)),
        ("a[", "a", Err(glob::BadPattern)),
        ("a[", "ab", Err(glob::BadPattern)),
        ("a[", "x", Err(glob::BadPattern)),
        ("a/b[", "x", Err(glob::BadPattern)),
        ("*x", "xxx", Ok(true)),
        ("", "", Ok(true)),
        ("", "a", Ok(false)),
        ("**", "ab", Ok(true)),
    ];
    for (pattern, name, want) in cases {
        assert_eq!(path_match(pattern, name), want, "{pattern:?} vs {name:?}");
    }
}

#[test]
fn docker_hub_under_every_name_is_docker_io() {
    for host in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
        assert!(crate::is_docker_hub(host), "{host}");
        assert_eq!(crate::registry_host(host), "docker.io");
    }
    assert!(!crate::is_docker_hub("ghcr.io"));
    assert_eq!(crate::registry_host(""), "docker.io");
    assert_eq!(
        crate::registry_host("https://index.docker.io/v1/"),
        "docker.io"
    );
    assert_eq!(
        crate::registry_host("http://localhost:5000/v2/"),
        "localhost:5000"
    );
    assert_eq!(crate::registry_host("ghcr.io"), "ghcr.io");
}

#[test]
fn repository_names_follow_the_distribution_grammar() {
    for ok in [
        "app",
        "team/app",
        "library/busybox",
        "registry.example.com/a-rather-long/repository-name",
        "a__b/c.d/e--f",
        "0",
    ] {
        assert!(is_repository_path(ok), "{ok}");
    }
    for bad in [
        "",
        "App",
        "localhost:5000/x",
        "a//b",
        "/a",
        "a/",
        "-a",
        "a-",
        "a..b",
        "a___b",
        "a/../b",
        "a b",
    ] {
        assert!(!is_repository_path(bad), "{bad}");
    }
}
