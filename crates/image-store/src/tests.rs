//! Table tests over hand-built snapshots.

use crate::*;
use image_ref::Reference;
use oci_model::Digest;
use std::collections::BTreeMap;

/// A digest whose hex starts with `prefix` (padded with zeros), so prefixes are predictable.
/// The plan without the layer-chain `Deleted` lines (asserted on their own in
/// `rmi_prints_freed_layer_chains`).
fn images_only(v: &StoreView, mut p: RmiPlan) -> RmiPlan {
    p.events.retain(|e| match e {
        RmiEvent::Deleted(d) => v.images.iter().any(|i| &i.id == d),
        _ => true,
    });
    p
}

fn h(prefix: &str) -> Digest {
    Digest::from_hex(&format!("{prefix:0<64}")).unwrap()
}

fn r(s: &str) -> Reference {
    Reference::parse_normalized(s).unwrap().with_default_tag()
}

fn untagged(s: &str) -> RmiEvent {
    RmiEvent::Untagged(s.into())
}

fn deleted(prefix: &str) -> RmiEvent {
    RmiEvent::Deleted(h(prefix))
}

/// Builds a [`StoreView`]: layers `l<n>`, images with config size 100 and no manifest.
#[derive(Default)]
struct View(StoreView);

impl View {
    fn layer(mut self, id: &str, size: u64, stored: u64) -> Self {
        let diff_id = h(id);
        self.0.layers.insert(
            diff_id.clone(),
            LayerRecord {
                diff_id,
                size,
                content_size: size,
                stored_bytes: stored,
            },
        );
        self
    }

    fn image(mut self, id: &str, layers: &[&str], created: i64) -> Self {
        self.0.images.push(ImageRecord {
            id: h(id),
            config_size: 100,
            manifest: None,
            parent: None,
            created,
            diff_ids: layers.iter().map(|l| h(l)).collect(),
            labels: BTreeMap::new(),
        });
        self
    }

    fn last(&mut self) -> &mut ImageRecord {
        self.0.images.last_mut().unwrap()
    }

    fn parent(mut self, parent: &str) -> Self {
        self.last().parent = Some(h(parent));
        self
    }

    fn manifest(mut self, digest: &str, size: u64) -> Self {
        self.last().manifest = Some((h(digest), size));
        self
    }

    fn label(mut self, k: &str, v: &str) -> Self {
        self.last().labels.insert(k.into(), v.into());
        self
    }

    fn tag(mut self, reference: &str, image: &str) -> Self {
        self.0.tags.push(TagRecord {
            reference: r(reference),
            image: h(image),
        });
        self
    }

    fn container(mut self, id: &str, image: &str, running: bool) -> Self {
        self.0.containers.push(ContainerRecord {
            id: h(id).hex().to_string(),
            name: format!("ctr-{id}"),
            image: h(image),
            running,
        });
        self
    }
}

// ---------------------------------------------------------------- resolve

fn resolve_view() -> StoreView {
    View::default()
        .layer("e1", 10, 10)
        .image("a1", &["e1"], 1)
        .image("ab1", &["e1"], 2)
        .image("ab2", &["e1"], 3)
        .image("ff", &["e1"], 4)
        .manifest("f0f0", 50)
        .tag("bb:latest", "a1")
        .tag("bb:1", "ab1")
        .tag("docker.io/user/app:2", "ab2")
        .tag(&format!("bb@{}", h("d1")), "ab2")
        .tag("ab1:latest", "ab2")
        .tag("cc:1", "ff")
        .0
}

#[test]
fn resolve_table() {
    let v = resolve_view();
    let long = h("ab1");
    let d1 = format!("bb@{}", h("d1"));
    let f0 = format!("cc@{}", h("f0f0"));
    let by_name = |s: &str| Some(s.to_string());
    let cases: Vec<(String, &str, bool, Option<String>)> = vec![
        ("bb".into(), "a1", false, by_name("bb:latest")),
        ("bb:latest".into(), "a1", false, by_name("bb:latest")),
        (
            "docker.io/library/bb:1".into(),
            "ab1",
            false,
            by_name("bb:1"),
        ),
        ("user/app:2".into(), "ab2", false, by_name("user/app:2")),
        (d1.clone(), "ab2", false, Some(d1.clone())),
        // a digest wins over a tag
        (format!("bb:1@{}", h("d1")), "ab2", false, Some(d1)),
        // a manifest digest under a repository the image is tagged in
        (f0.clone(), "ff", false, Some(f0)),
        // a name wins over an ID prefix
        ("ab1".into(), "ab2", false, by_name("ab1:latest")),
        // ID prefixes, full IDs, digests
        ("a1".into(), "a1", true, None),
        ("ab2".into(), "ab2", true, None),
        ("ab10".into(), "ab1", true, None),
        ("sha256:ab2".into(), "ab2", true, None),
        (long.hex().to_string(), "ab1", true, None),
        (long.to_string(), "ab1", true, None),
    ];
    for (input, want, by_id, reference) in cases {
        let got = resolve(&v, &input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got.id, h(want), "{input}");
        assert_eq!(got.by_id, by_id, "{input}");
        assert_eq!(
            got.reference.map(|r| r.familiar_string()),
            reference,
            "{input}"
        );
    }
}

#[test]
fn resolve_errors() {
    let v = resolve_view();
    let missing = h("99");
    let cases: Vec<(String, String, ErrorKind)> = vec![
        (
            "bb:9".into(),
            "No such image: bb:9".into(),
            ErrorKind::NotFound,
        ),
        (
            "nosuch".into(),
            "No such image: nosuch:latest".into(),
            ErrorKind::NotFound,
        ),
        // "ab" is a prefix of two IDs: ambiguous, so not found
        (
            "ab".into(),
            "No such image: ab:latest".into(),
            ErrorKind::NotFound,
        ),
        (
            "sha256:ab".into(),
            "No such image: sha256:ab".into(),
            ErrorKind::NotFound,
        ),
        (
            missing.hex().to_string(),
            format!("No such image: {missing}"),
            ErrorKind::NotFound,
        ),
        (
            missing.to_string(),
            format!("No such image: {missing}"),
            ErrorKind::NotFound,
        ),
        (
            format!("bb@{}", h("d2")),
            format!("No such image: bb@{}", h("d2")),
            ErrorKind::NotFound,
        ),
        // a manifest digest under a repository the image is not tagged in
        (
            format!("dd@{}", h("f0f0")),
            format!("No such image: dd@{}", h("f0f0")),
            ErrorKind::NotFound,
        ),
        (
            "A1".into(),
            image_ref::parse_any("A1").unwrap_err().to_string(),
            ErrorKind::InvalidArgument,
        ),
        (
            "".into(),
            image_ref::parse_any("").unwrap_err().to_string(),
            ErrorKind::InvalidArgument,
        ),
    ];
    for (input, text, kind) in cases {
        let err = resolve(&v, &input).unwrap_err();
        assert_eq!(err.to_string(), text, "{input}");
        assert_eq!(err.kind(), kind, "{input}");
    }
}

// ---------------------------------------------------------------- list

/// `base` (tagged) ← `mid` (untagged intermediate) ← `app` (tagged); `old` dangling; `lib`
/// tagged twice with a digest reference and a manifest; a container on `app`.
fn list_view() -> StoreView {
    View::default()
        .layer("e1", 1000, 1100)
        .layer("e2", 200, 210)
        .layer("e3", 30, 33)
        .layer("e4", 4, 5)
        .image("ba5e", &["e1"], 10)
        .label("tier", "base")
        .image("3d", &["e1", "e2"], 20)
        .parent("ba5e")
        .image("a99", &["e1", "e2", "e3"], 30)
        .parent("3d")
        .label("tier", "app")
        .label("team", "x")
        .image("01d", &["e4", "e4"], 5)
        .image("11b", &["e4"], 40)
        .manifest("f00d", 7)
        .tag("base:1", "ba5e")
        .tag("app:1", "a99")
        .tag("app:latest", "a99")
        .tag("lib:2", "11b")
        .tag("ghcr.io/o/lib:2", "11b")
        .tag(&format!("lib@{}", h("d9")), "11b")
        .container("c1", "a99", false)
        .container("c2", "a99", true)
        .0
}

/// `all`, filters, the IDs listed.
type FilterCase = (bool, Vec<(&'static str, &'static str)>, Vec<&'static str>);
/// Filters, the error text, its kind.
type FilterErrorCase = (Vec<(&'static str, &'static str)>, &'static str, ErrorKind);

fn list(
    v: &StoreView,
    all: bool,
    filters: &[(&str, &str)],
) -> Result<Vec<ImageSummary>, StoreError> {
    let filters = filters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    list_images(v, &ListOptions { all, filters })
}

fn ids(list: &[ImageSummary]) -> Vec<Digest> {
    list.iter().map(|s| s.id.clone()).collect()
}

fn hs(prefixes: &[&str]) -> Vec<Digest> {
    prefixes.iter().map(|p| h(p)).collect()
}

#[test]
fn list_default_and_all() {
    let v = list_view();
    let default = list(&v, false, &[]).unwrap();
    assert_eq!(ids(&default), hs(&["11b", "a99", "ba5e", "01d"]));
    assert_eq!(
        ids(&list(&v, true, &[]).unwrap()),
        hs(&["11b", "a99", "3d", "ba5e", "01d"])
    );

    let lib = &default[0];
    assert_eq!(
        lib,
        &ImageSummary {
            id: h("11b"),
            parent: None,
            repo_tags: vec!["lib:2".into(), "ghcr.io/o/lib:2".into()],
            repo_digests: vec![
                format!("lib@{}", h("d9")),
                format!("lib@{}", h("f00d")),
                format!("ghcr.io/o/lib@{}", h("f00d")),
            ],
            created: 40,
            size: 4,
            shared_size: 4,
            unique_size: 0,
            // its config and manifest: its one layer is shared
            removal_frees: 107,
            containers: 0,
            labels: BTreeMap::new(),
        }
    );
    let app = &default[1];
    assert_eq!(app.parent, Some(h("3d")));
    assert_eq!(app.repo_tags, ["app:1", "app:latest"]);
    assert_eq!(app.repo_digests, Vec::<String>::new());
    assert_eq!(
        (app.size, app.shared_size, app.unique_size, app.containers),
        (1230, 1200, 30, 2)
    );
    let old = &default[3];
    assert_eq!(old.repo_tags, Vec::<String>::new());
    // a repeated diff ID counts at each place, as Docker sums a chain: the lower one is
    // shared with `lib`, the upper one (another chain layer under Docker) is its own
    assert_eq!(
        (old.size, old.shared_size, old.unique_size, old.containers),
        (8, 4, 4, 0)
    );
    let base = &default[2];
    assert_eq!(
        (base.size, base.shared_size, base.unique_size),
        (1000, 1000, 0)
    );
}

#[test]
fn list_filters() {
    let v = list_view();
    let cases: Vec<FilterCase> = vec![
        (false, vec![("dangling", "true")], vec!["01d"]),
        (true, vec![("dangling", "true")], vec!["01d"]),
        (false, vec![("dangling", "1")], vec!["01d"]),
        (
            false,
            vec![("dangling", "false")],
            vec!["11b", "a99", "ba5e"],
        ),
        (true, vec![("dangling", "0")], vec!["11b", "a99", "ba5e"]),
        (false, vec![("before", "app:1")], vec!["ba5e", "01d"]),
        (true, vec![("before", "app:1")], vec!["3d", "ba5e", "01d"]),
        (
            false,
            vec![("before", "app:1"), ("before", "base:1")],
            vec!["01d"],
        ),
        (false, vec![("since", "base:1")], vec!["11b", "a99"]),
        (
            false,
            vec![("since", "base:1"), ("before", "lib:2")],
            vec!["a99"],
        ),
        (false, vec![("until", "20")], vec!["ba5e", "01d"]),
        (false, vec![("until", "20.5")], vec!["ba5e", "01d"]),
        (false, vec![("reference", "app")], vec!["a99"]),
        (false, vec![("reference", "app:1")], vec!["a99"]),
        (false, vec![("reference", "ba*")], vec!["ba5e"]),
        (
            false,
            vec![("reference", "app"), ("reference", "base")],
            vec!["a99", "ba5e"],
        ),
        (
            false,
            vec![("reference", "docker.io/library/base:1")],
            vec!["ba5e"],
        ),
        (false, vec![("reference", "*/*/lib")], vec!["11b"]),
        (false, vec![("reference", "nothing")], vec![]),
        (false, vec![("label", "tier")], vec!["a99", "ba5e"]),
        (false, vec![("label", "tier=app")], vec!["a99"]),
        (
            false,
            vec![("label", "tier"), ("label", "team=x")],
            vec!["a99"],
        ),
        (false, vec![("label", "tier"), ("label", "team=y")], vec![]),
        (
            false,
            vec![("label", "tier"), ("dangling", "false"), ("since", "01d")],
            vec!["a99", "ba5e"],
        ),
    ];
    for (all, filters, want) in cases {
        let got = list(&v, all, &filters).unwrap_or_else(|e| panic!("{filters:?}: {e}"));
        assert_eq!(ids(&got), hs(&want), "all={all} {filters:?}");
    }
}

#[test]
fn list_reference_filter_narrows_references() {
    let v = list_view();
    let got = list(&v, false, &[("reference", "app:l*")]).unwrap();
    assert_eq!(got[0].repo_tags, ["app:latest"]);
    let got = list(&v, false, &[("reference", "lib")]).unwrap();
    assert_eq!(got[0].repo_tags, ["lib:2"]);
    assert_eq!(
        got[0].repo_digests,
        [format!("lib@{}", h("d9")), format!("lib@{}", h("f00d"))]
    );
}

#[test]
fn list_errors() {
    let v = list_view();
    let cases: Vec<FilterErrorCase> = vec![
        (vec![("foo", "bar")], "invalid filter 'foo'", ErrorKind::InvalidArgument),
        (
            vec![("label", "a"), ("nope", "1"), ("foo", "2")],
            "invalid filter 'nope'",
            ErrorKind::InvalidArgument,
        ),
        (
            vec![("dangling", "xyz")],
            "invalid filter 'dangling=[xyz]'",
            ErrorKind::InvalidArgument,
        ),
        (
            vec![("dangling", "true"), ("dangling", "false")],
            "invalid filter 'dangling=[false true]'",
            ErrorKind::InvalidArgument,
        ),
        (
            vec![("before", "nosuch:1")],
            "No such image: nosuch:1",
            ErrorKind::NotFound,
        ),
        (
            vec![("since", "ffff")],
            "No such image: ffff:latest",
            ErrorKind::NotFound,
        ),
        (
            vec![("reference", "[")],
            "syntax error in pattern",
            ErrorKind::InvalidArgument,
        ),
        (
            vec![("until", "24h")],
            "invalid value for 'until' filter: failed to parse value as time or duration: \"24h\" (give unix seconds)",
            ErrorKind::InvalidArgument,
        ),
    ];
    for (filters, text, kind) in cases {
        let err = list(&v, false, &filters).unwrap_err();
        assert_eq!(err.to_string(), text, "{filters:?}");
        assert_eq!(err.kind(), kind, "{filters:?}");
    }
}

// ---------------------------------------------------------------- rmi

/// One image `b1` with layers e1 (shared with `b2`) and e2, tagged `bb:1`, `bb:2`; `b2` tagged
/// `cc:1`.
fn rmi_view() -> View {
    View::default()
        .layer("e1", 1000, 1100)
        .layer("e2", 200, 210)
        .image("b1", &["e1", "e2"], 10)
        .image("b2", &["e1"], 20)
        .tag("bb:1", "b1")
        .tag("bb:2", "b1")
        .tag("cc:1", "b2")
}

fn rmi(v: &StoreView, input: &str, force: bool, no_prune: bool) -> Result<RmiPlan, StoreError> {
    plan_rmi(v, input, &RmiOptions { force, no_prune })
}

#[test]
fn removal_frees_is_what_removing_the_image_alone_frees() {
    for v in [rmi_view().0, list_view()] {
        for s in list(&v, true, &[]).unwrap() {
            let Ok(plan) = rmi(&v, &s.id.to_string(), true, true) else {
                continue; // refused (a child image): nothing is freed by it alone
            };
            assert_eq!(s.removal_frees, plan.bytes_freed, "{}", s.id);
            if s.containers > 0 {
                assert_eq!(s.removal_frees, 0);
            }
        }
    }
    // b1 alone: its config and e2 as stored (e1 is b2's too); not Docker's unique size (200)
    let v = rmi_view().0;
    let b1 = list(&v, false, &[])
        .unwrap()
        .into_iter()
        .find(|s| s.id == h("b1"))
        .unwrap();
    assert_eq!(b1.removal_frees, 100 + 210);
    assert_eq!(b1.unique_size, 200);
}

#[test]
fn rmi_tag_with_other_tags_only_untags() {
    let v = rmi_view().0;
    let plan = rmi(&v, "bb:2", false, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![untagged("bb:2")],
            untag: vec![r("bb:2")],
            ..Default::default()
        }
    );
}

#[test]
fn rmi_last_tag_deletes_and_keeps_shared_layer() {
    let v = rmi_view().0;
    let plan = rmi(&v, "cc:1", false, false).unwrap();
    let plan = images_only(&v, plan);
    // e1 is still used by b1: only the config goes
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![untagged("cc:1"), deleted("b2")],
            untag: vec![r("cc:1")],
            delete_images: vec![h("b2")],
            retain_images: vec![],
            delete_layers: vec![],
            bytes_freed: 100,
        }
    );
}

#[test]
fn rmi_of_several_names_plans_each_on_what_the_earlier_ones_left() {
    let v = rmi_view().0;
    let names: Vec<String> = ["cc:1", "bb:1", "nope:1", "bb:2"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let plans = plan_rmi_many(&v, &names, &RmiOptions::default());
    let ok = |i: usize| plans[i].as_ref().unwrap().clone();
    // on its own each keeps the shared e1; together the last one to go frees it
    assert_eq!(ok(0).delete_layers, Vec::<Digest>::new());
    assert_eq!(ok(1).untag, vec![r("bb:1")]);
    assert!(ok(1).delete_images.is_empty(), "bb:2 still names b1");
    assert_eq!(
        plans[2].as_ref().unwrap_err().kind(),
        ErrorKind::NotFound,
        "a missing name fails alone"
    );
    assert_eq!(ok(3).delete_images, vec![h("b1")]);
    assert_eq!(ok(3).delete_layers, vec![h("e1"), h("e2")]);
    let total: u64 = plans.iter().flatten().map(|p| p.bytes_freed).sum();
    assert_eq!(
        total,
        100 + 100 + 1100 + 210,
        "both configs and both layers"
    );
    // the same as removing them one by one on the real store
    let mut step = v.clone();
    for (name, plan) in names.iter().zip(&plans) {
        match plan_rmi(&step, name, &RmiOptions::default()) {
            Ok(p) => {
                assert_eq!(Some(&p), plan.as_ref().ok(), "{name}");
                step.apply(&p);
            }
            Err(e) => assert_eq!(plan.as_ref().unwrap_err().to_string(), e.to_string()),
        }
    }
    assert!(step.images.is_empty() && step.layers.is_empty() && step.tags.is_empty());
}

#[test]
fn rmi_by_id_in_two_repositories_needs_force() {
    let v = rmi_view().tag("dd:1", "b2").0;
    let err = rmi(&v, "b2", false, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            h("b2").short()
        )
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);

    let plan = rmi(&v, "b2", true, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan.events,
        vec![untagged("cc:1"), untagged("dd:1"), deleted("b2")]
    );
    assert_eq!(plan.untag, vec![r("cc:1"), r("dd:1")]);
    assert_eq!(plan.delete_images, vec![h("b2")]);
    assert_eq!(plan.bytes_freed, 100);
}

#[test]
fn rmi_by_id_two_tags_of_one_repository_needs_force() {
    let v = rmi_view().0;
    let err = rmi(&v, h("b1").short(), false, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            h("b1").short()
        )
    );
    let plan = rmi(&v, &h("b1").to_string(), true, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan.events,
        vec![untagged("bb:1"), untagged("bb:2"), deleted("b1")]
    );
    assert_eq!(plan.delete_layers, vec![h("e2")]);
    assert_eq!(plan.bytes_freed, 100 + 210);
}

#[test]
fn rmi_by_id_single_repository_with_digest_untags_all() {
    let d = format!("bb@{}", h("d1"));
    let v = View::default()
        .layer("e1", 10, 11)
        .image("b1", &["e1"], 1)
        .manifest("d1", 40)
        .tag("bb:1", "b1")
        .tag(&d, "b1")
        .0;
    let plan = rmi(&v, "b1", false, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![untagged("bb:1"), untagged(&d), deleted("b1")],
            untag: vec![r("bb:1"), r(&d)],
            delete_images: vec![h("b1")],
            retain_images: vec![],
            delete_layers: vec![h("e1")],
            bytes_freed: 100 + 40 + 11,
        }
    );
    // by tag: the digest reference of the same repository goes with the last tag
    assert_eq!(
        images_only(&v, rmi(&v, "bb:1", false, false).unwrap()),
        plan
    );
    // by digest: the tag stays
    let plan = rmi(&v, &d, false, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![untagged(&d)],
            untag: vec![r(&d)],
            ..Default::default()
        }
    );
}

#[test]
fn rmi_by_manifest_digest_untags_that_repository() {
    let d = format!("bb@{}", h("d1"));
    let v = View::default()
        .layer("e1", 10, 11)
        .image("b1", &["e1"], 1)
        .manifest("d1", 40)
        .tag("bb:1", "b1")
        .tag("bb:2", "b1")
        .tag("cc:1", "b1")
        .0;
    let plan = rmi(&v, &d, false, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan.events,
        vec![untagged(&d), untagged("bb:1"), untagged("bb:2")]
    );
    assert_eq!(plan.untag, vec![r("bb:1"), r("bb:2")]);
    assert_eq!(plan.delete_images, Vec::<Digest>::new());
}

#[test]
fn rmi_with_stopped_container() {
    let v = rmi_view().container("c5", "b2", false).0;
    let by_id = rmi(&v, "b2", false, false).unwrap_err();
    assert_eq!(
        by_id.to_string(),
        format!(
            "conflict: unable to delete {} (must be forced) - image is being used by stopped container {}",
            h("b2").short(),
            h("c5").short()
        )
    );
    assert_eq!(by_id.kind(), ErrorKind::Conflict);
    let by_name = rmi(&v, "cc:1", false, false).unwrap_err();
    assert_eq!(
        by_name.to_string(),
        format!(
            "conflict: unable to remove repository reference \"cc:1\" (must force) - container {} is using its referenced image {}",
            h("c5").short(),
            h("b2").short()
        )
    );
    assert_eq!(by_name.kind(), ErrorKind::Conflict);

    // forced: deleted for the user, kept for the container (nothing freed)
    let want = RmiPlan {
        events: vec![untagged("cc:1"), deleted("b2")],
        untag: vec![r("cc:1")],
        delete_images: vec![h("b2")],
        retain_images: vec![h("b2")],
        delete_layers: vec![],
        bytes_freed: 0,
    };
    assert_eq!(rmi(&v, "b2", true, false).unwrap(), want);
    assert_eq!(rmi(&v, "cc:1", true, false).unwrap(), want);
    // once applied, the image is neither listed nor named, and the layers the container
    // needs outlive every other image using them
    let mut left = v.clone();
    left.apply(&want);
    assert!(left.images.iter().all(|i| i.id != h("b2")));
    assert_eq!(left.retained.len(), 1);
    assert_eq!(
        left.image_of_container(&h("b2")).unwrap().diff_ids,
        [h("e1")]
    );
    assert_eq!(
        rmi(&left, "b2", true, false).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let plan = rmi(&left, "bb:1", false, false).unwrap();
    assert_eq!(
        rmi(&left, "bb:2", false, false).unwrap().events,
        vec![untagged("bb:2")]
    );
    let plan2 = rmi(&left, "b1", true, false).unwrap();
    assert_eq!(plan2.delete_layers, vec![h("e2")]);
    assert_eq!(plan2.bytes_freed, 100 + 210);
    let chain_e1 = oci_model::chain_id(&[h("e1")]).unwrap();
    assert!(!plan2.events.contains(&RmiEvent::Deleted(chain_e1)));
    assert_eq!(plan.events, vec![untagged("bb:1")]);
    // `rmi -f $(images -qa)`: every image goes, none fails
    let all: Vec<String> = v.images.iter().map(|i| i.id.to_string()).collect();
    for p in plan_rmi_many(
        &v,
        &all,
        &RmiOptions {
            force: true,
            no_prune: false,
        },
    ) {
        p.unwrap();
    }
    // another tag remains: untagging needs no force
    let v = rmi_view().tag("cc:2", "b2").container("c5", "b2", false).0;
    assert_eq!(
        rmi(&v, "cc:1", false, false).unwrap().events,
        vec![untagged("cc:1")]
    );
}

#[test]
fn rmi_with_running_container() {
    let v = rmi_view()
        .container("c6", "b2", true)
        .container("c7", "b2", false)
        .0;
    let text = format!(
        "conflict: unable to delete {} (cannot be forced) - image is being used by running container {}",
        h("b2").short(),
        h("c6").short()
    );
    for force in [false, true] {
        let err = rmi(&v, "b2", force, false).unwrap_err();
        assert_eq!(err.to_string(), text, "force={force}");
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }
    // forced by name: the tag goes, the image stays
    let plan = rmi(&v, "cc:1", true, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![untagged("cc:1")],
            untag: vec![r("cc:1")],
            ..Default::default()
        }
    );
}

/// `base` (tagged `base:1`) ← `m1` (untagged) ← `m2` (untagged) ← `top` (tagged `top:1`).
fn chain_view() -> View {
    View::default()
        .layer("e1", 1000, 1001)
        .layer("e2", 200, 202)
        .layer("e3", 30, 33)
        .layer("e4", 4, 5)
        .image("ba5e", &["e1"], 1)
        .image("01", &["e1", "e2"], 2)
        .parent("ba5e")
        .image("02", &["e1", "e2", "e3"], 3)
        .parent("01")
        .image("70b", &["e1", "e2", "e3", "e4"], 4)
        .parent("02")
        .tag("base:1", "ba5e")
        .tag("top:1", "70b")
}

#[test]
fn rmi_child_image_conflict() {
    let v = chain_view().0;
    for (input, force) in [("02", false), ("02", true), ("ba5e", true)] {
        let err = rmi(&v, input, force, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "conflict: unable to delete {} (cannot be forced) - image has dependent child images",
                h(input).short()
            ),
            "{input} force={force}"
        );
        assert_eq!(err.kind(), ErrorKind::Conflict);
    }
    // by name: untagged, kept for its children
    let plan = rmi(&v, "base:1", false, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![untagged("base:1")],
            untag: vec![r("base:1")],
            ..Default::default()
        }
    );
}

#[test]
fn rmi_prunes_untagged_parents() {
    let v = chain_view().0;
    let plan = rmi(&v, "top:1", false, false).unwrap();
    let plan = images_only(&v, plan);
    // the tagged base stops the walk
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![
                untagged("top:1"),
                deleted("70b"),
                deleted("02"),
                deleted("01")
            ],
            untag: vec![r("top:1")],
            delete_images: hs(&["70b", "02", "01"]),
            retain_images: vec![],
            delete_layers: hs(&["e2", "e3", "e4"]),
            bytes_freed: 300 + 202 + 33 + 5,
        }
    );
    let plan = rmi(&v, "top:1", false, true).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![untagged("top:1"), deleted("70b")],
            untag: vec![r("top:1")],
            delete_images: hs(&["70b"]),
            retain_images: vec![],
            delete_layers: hs(&["e4"]),
            bytes_freed: 100 + 5,
        }
    );
    // a container on a parent stops the walk there
    let v = chain_view().container("c1", "01", false).0;
    let plan = rmi(&v, "top:1", false, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(
        plan.events,
        vec![untagged("top:1"), deleted("70b"), deleted("02")]
    );
    assert_eq!(plan.delete_layers, hs(&["e3", "e4"]));
    assert_eq!(plan.bytes_freed, 200 + 33 + 5);
    // a second child stops it too
    let v = chain_view()
        .image("5b", &["e1", "e2"], 9)
        .parent("01")
        .tag("side:1", "5b")
        .0;
    let plan = rmi(&v, "top:1", false, false).unwrap();
    let plan = images_only(&v, plan);
    assert_eq!(plan.delete_images, hs(&["70b", "02"]));
}

#[test]
fn rmi_not_found_and_invalid() {
    let v = rmi_view().0;
    let err = rmi(&v, "bb:9", false, false).unwrap_err();
    assert_eq!(
        (err.to_string().as_str(), err.kind()),
        ("No such image: bb:9", ErrorKind::NotFound)
    );
    let err = rmi(&v, "bb", false, false).unwrap_err();
    assert_eq!(
        (err.to_string().as_str(), err.kind()),
        ("No such image: bb:latest", ErrorKind::NotFound)
    );
    let err = rmi(&v, "BB", false, false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err.to_string(),
        image_ref::parse_any("BB").unwrap_err().to_string()
    );
}

// ---------------------------------------------------------------- prune

/// `keep` tagged; `old` dangling (layer e2 shared with `keep`, e3 its own); `used` dangling
/// with a stopped container; `m` untagged parent of tagged `kid`; `dig` with only a digest
/// reference; labels on `old` and `dig`.
fn prune_view() -> View {
    View::default()
        .layer("e1", 1000, 1001)
        .layer("e2", 200, 202)
        .layer("e3", 30, 33)
        .layer("e4", 4, 5)
        .layer("e5", 6, 7)
        .image("cee9", &["e1", "e2"], 50)
        .image("01d", &["e2", "e3"], 10)
        .label("env", "dev")
        .image("05ed", &["e1"], 20)
        .image("0a", &["e4"], 30)
        .image("0b", &["e4", "e5"], 40)
        .parent("0a")
        .image("d19", &["e5"], 15)
        .manifest("d0", 9)
        .label("env", "prod")
        .label("keep", "")
        .tag("keep:1", "cee9")
        .tag("kid:1", "0b")
        .tag(&format!("dig@{}", h("d0")), "d19")
        .container("c1", "05ed", false)
}

fn prune(v: &StoreView, all: bool, until: Option<i64>, labels: &[&str]) -> RmiPlan {
    let labels = labels.iter().map(|l| l.to_string()).collect();
    plan_prune(v, &PruneOptions { all, until, labels }).unwrap()
}

#[test]
fn prune_dangling() {
    let v = prune_view().0;
    let dig = format!("dig@{}", h("d0"));
    let plan = prune(&v, false, None, &[]);
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![deleted("01d"), untagged(&dig), deleted("d19")],
            untag: vec![r(&dig)],
            delete_images: hs(&["01d", "d19"]),
            retain_images: vec![],
            // e2 is kept by `keep`, e5 by `kid`
            delete_layers: hs(&["e3"]),
            bytes_freed: 100 + 100 + 9 + 33,
        }
    );
}

#[test]
fn prune_all() {
    let v = prune_view().0;
    let dig = format!("dig@{}", h("d0"));
    let plan = prune(&v, true, None, &[]);
    let plan = images_only(&v, plan);
    assert_eq!(
        plan,
        RmiPlan {
            events: vec![
                deleted("01d"),
                untagged("kid:1"),
                deleted("0b"),
                deleted("0a"),
                untagged("keep:1"),
                deleted("cee9"),
                untagged(&dig),
                deleted("d19"),
            ],
            untag: vec![r("kid:1"), r("keep:1"), r(&dig)],
            delete_images: hs(&["01d", "0b", "0a", "cee9", "d19"]),
            retain_images: vec![],
            // e1 stays for the image the container uses
            delete_layers: hs(&["e2", "e3", "e4", "e5"]),
            bytes_freed: 500 + 9 + 202 + 33 + 5 + 7,
        }
    );
}

#[test]
fn prune_until_and_labels() {
    let v = prune_view().0;
    let dig = format!("dig@{}", h("d0"));
    // created at or before 10 only
    assert_eq!(prune(&v, false, Some(10), &[]).delete_images, hs(&["01d"]));
    assert_eq!(
        prune(&v, false, Some(9), &[]).delete_images,
        Vec::<Digest>::new()
    );
    assert_eq!(
        prune(&v, true, Some(40), &[]).delete_images,
        hs(&["01d", "0b", "0a", "d19"])
    );
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["env"], vec!["01d", "d19"]),
        (vec!["env=dev"], vec!["01d"]),
        (vec!["env", "keep"], vec!["d19"]),
        (vec!["!env=dev"], vec!["d19"]),
        (vec!["!keep"], vec!["01d"]),
        // label! excludes only when all its values hold
        (vec!["!keep", "!env=dev"], vec!["01d", "d19"]),
        (vec!["!keep", "!env=prod"], vec!["01d"]),
        (vec!["nolabel"], vec![]),
    ];
    for (labels, want) in cases {
        assert_eq!(
            prune(&v, false, None, &labels).delete_images,
            hs(&want),
            "{labels:?}"
        );
    }
    let plan = prune(&v, false, None, &["env=prod"]);
    let plan = images_only(&v, plan);
    assert_eq!(plan.events, vec![untagged(&dig), deleted("d19")]);
    assert_eq!(plan.bytes_freed, 109);
}

#[test]
fn prune_all_parent_before_child_untags_then_deletes() {
    // a tagged parent sorts before its tagged child: first only untagged, then pruned with it
    let v = View::default()
        .layer("e1", 10, 10)
        .layer("e2", 20, 20)
        .image("0a", &["e1"], 1)
        .image("0b", &["e1", "e2"], 2)
        .parent("0a")
        .tag("p:1", "0a")
        .tag("c:1", "0b")
        .0;
    let plan = prune(&v, true, None, &[]);
    let plan = images_only(&v, plan);
    assert_eq!(
        plan.events,
        vec![
            untagged("p:1"),
            untagged("c:1"),
            deleted("0b"),
            deleted("0a")
        ]
    );
    assert_eq!(plan.delete_layers, hs(&["e1", "e2"]));
    assert_eq!(plan.bytes_freed, 230);
}

#[test]
fn prune_nothing() {
    let v = View::default()
        .layer("e1", 10, 10)
        .image("0a", &["e1"], 1)
        .tag("a:1", "0a")
        .0;
    assert_eq!(prune(&v, false, None, &[]), RmiPlan::default());
    assert_eq!(
        plan_prune(&StoreView::default(), &PruneOptions::default()).unwrap(),
        RmiPlan::default()
    );
}

// ---------------------------------------------------------------- disk usage

#[test]
fn disk_usage_counts_layers_once() {
    let v = prune_view().0;
    let du = disk_usage(&v);
    // Docker's measure of every layer once, which the rows add up from; what the store
    // occupies (layers as stored, configs) is told apart
    assert_eq!(du.layers_size, 1000 + 200 + 30 + 4 + 6);
    assert_eq!(du.stored_bytes, 1001 + 202 + 33 + 5 + 7 + 6 * 100 + 9);
    // the untagged parent `0a` is hidden, as in `docker images`
    let rows: Vec<(Digest, u64, u64, u64, u64)> = du
        .images
        .iter()
        .map(|i| {
            (
                i.id.clone(),
                i.size,
                i.shared_size,
                i.unique_size,
                i.containers,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (h("cee9"), 1200, 1200, 0, 0),
            (h("0b"), 10, 10, 0, 0),
            (h("05ed"), 1000, 1000, 0, 1),
            (h("d19"), 6, 6, 0, 0),
            (h("01d"), 230, 200, 30, 0),
        ]
    );
    assert_eq!(du.images[0].repo_tags, ["keep:1"]);
    assert_eq!(du.images[0].created, 50);
    assert_eq!(du.active, 1);
    assert_eq!(du.reclaimable, 1240);

    let v = View::default()
        .layer("e1", 100, 100)
        .layer("e2", 50, 50)
        .image("0a", &["e1", "e2"], 1)
        .image("0b", &["e1"], 2)
        .container("c1", "0a", true)
        .0;
    let du = disk_usage(&v);
    assert_eq!((du.layers_size, du.active, du.reclaimable), (150, 1, 100));
    assert_eq!(
        (
            du.images[1].size,
            du.images[1].shared_size,
            du.images[1].unique_size
        ),
        (150, 100, 50)
    );
    assert_eq!(
        disk_usage(&StoreView::default()),
        DiskUsage {
            layers_size: 0,
            stored_bytes: 0,
            images: vec![],
            active: 0,
            reclaimable: 0
        }
    );
}

#[test]
fn dangling_and_refcounts() {
    let v = prune_view().layer("e9", 1, 1).0;
    let dangling: Vec<&str> = ["cee9", "01d", "05ed", "0a", "0b", "d19", "99"]
        .into_iter()
        .filter(|id| is_dangling(&v, &h(id)))
        .collect();
    assert_eq!(dangling, ["01d", "05ed"]);
    let counts: Vec<(Digest, usize)> = layer_refcounts(&v).into_iter().collect();
    assert_eq!(
        counts,
        vec![
            (h("e1"), 2),
            (h("e2"), 2),
            (h("e3"), 1),
            (h("e4"), 2),
            (h("e5"), 2),
            (h("e9"), 0)
        ]
    );
}

#[test]
fn rmi_prints_freed_layer_chains() {
    // base: e1; app: e1 e2 e3 (child of nothing); other: e1 e2
    let v = View::default()
        .layer("e1", 10, 10)
        .layer("e2", 20, 20)
        .layer("e3", 30, 30)
        .image("b1", &["e1"], 1)
        .tag("base:1", "b1")
        .image("a1", &["e1", "e2", "e3"], 2)
        .tag("app:1", "a1")
        .image("c1", &["e1", "e2"], 3)
        .tag("other:1", "c1")
        .0;
    let chain = |ls: &[&str]| {
        RmiEvent::Deleted(
            oci_model::chain_id(&ls.iter().map(|l| h(l)).collect::<Vec<_>>()).unwrap(),
        )
    };
    // only the top chain of app is its own: e1+e2 is shared with other, e1 with base
    let plan = rmi(&v, "app:1", false, false).unwrap();
    assert_eq!(
        plan.events,
        vec![untagged("app:1"), deleted("a1"), chain(&["e1", "e2", "e3"])]
    );
    // deleting other frees e1+e2 as a chain, but not layer e2's bytes' chain below it
    let plan = rmi(&v, "other:1", false, false).unwrap();
    assert_eq!(plan.events, vec![untagged("other:1"), deleted("c1")]);
    let v2 = View::default()
        .layer("e1", 10, 10)
        .layer("e2", 20, 20)
        .image("c1", &["e1", "e2"], 3)
        .tag("other:1", "c1")
        .0;
    let plan = rmi(&v2, "other:1", false, false).unwrap();
    assert_eq!(
        plan.events,
        vec![
            untagged("other:1"),
            deleted("c1"),
            chain(&["e1", "e2"]),
            chain(&["e1"])
        ]
    );
}

// ---------------------------------------------------------------- ancestry

#[test]
fn descends_from_follows_parents() {
    let v = View::default()
        .layer("e1", 10, 10)
        .image("a1", &["e1"], 1)
        .image("b1", &["e1"], 2)
        .parent("a1")
        .image("c1", &["e1"], 3)
        .parent("b1")
        .image("d1", &["e1"], 4)
        .0;
    assert!(v.descends_from(&h("c1"), &h("a1")));
    assert!(v.descends_from(&h("c1"), &h("c1")));
    assert!(v.descends_from(&h("b1"), &h("a1")));
    assert!(!v.descends_from(&h("a1"), &h("c1")));
    assert!(!v.descends_from(&h("d1"), &h("a1")));
    // A loop in the records ends.
    let l = View::default()
        .image("e2", &[], 1)
        .parent("f2")
        .image("f2", &[], 2)
        .parent("e2")
        .0;
    assert!(!l.descends_from(&h("e2"), &h("a1")));
}
