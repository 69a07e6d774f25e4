//! An image's relatives, read from the layer map (`/api/layers`: each image's diff IDs, base
//! first): the images each of its layers is shared with, its parent (the image whose whole
//! stack is the longest strict prefix of its own, as `FROM` leaves it) and its children (the
//! images whose parent it is), and the containers made from it.
//!
//! Only the images the list shows count as relatives: an intermediate image (a classic
//! build's step, hidden as `docker images` hides it) is counted, never named, and a built
//! image's parent is the image it was built `FROM`, not its last build step.
//!
//! Pure. Images are named by their first tag, or `<none>:<none>` with a short ID.

use crate::wire::{ContainerDto, ImageSummaryDto, LayerMapDto, LostTagDto};
use docker_format::truncate_id;
use std::collections::BTreeSet;

/// An image as a link: its ID and how people call it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    /// `sha256:…`.
    pub id: String,
    /// `app:1.0`, or `<none>:<none> (1a2b3c4d5e6f)`.
    pub name: String,
}

/// What the image page shows about an image's relatives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lineage {
    /// Per layer (bottom first): the other images that use it.
    pub users: Vec<Vec<Named>>,
    /// Per layer (bottom first): how many intermediate images use it besides.
    pub hidden_users: Vec<usize>,
    /// The image its stack was built on, when one is stored.
    pub parent: Option<Named>,
    /// The images built directly on it.
    pub children: Vec<Named>,
}

/// `app:1.0`, or `<none>:<none> (1a2b3c4d5e6f)` for an untagged image.
pub fn image_name(id: &str, images: &[ImageSummaryDto]) -> String {
    match images.iter().find(|i| i.id == id) {
        Some(i) if !i.repo_tags.is_empty() => i.repo_tags[0].clone(),
        _ => format!("<none>:<none> ({})", truncate_id(id)),
    }
}

fn named(id: &str, images: &[ImageSummaryDto]) -> Named {
    Named {
        id: id.to_string(),
        name: image_name(id, images),
    }
}

fn is_strict_prefix(short: &[String], long: &[String]) -> bool {
    !short.is_empty() && short.len() < long.len() && long.starts_with(short)
}

/// The parent of `layers` among `map`'s images that `shown` accepts: the longest strict
/// prefix (several images with the same stack, e.g. a re-tagged copy: the one with the
/// smallest ID, so the answer does not depend on the map's order).
fn parent_of<'a>(
    map: &'a LayerMapDto,
    id: &str,
    layers: &[String],
    shown: &impl Fn(&str) -> bool,
) -> Option<&'a str> {
    map.images
        .iter()
        .filter(|(other, ls)| other.as_str() != id && shown(other) && is_strict_prefix(ls, layers))
        .max_by(|(a, la), (b, lb)| la.len().cmp(&lb.len()).then(b.cmp(a)))
        .map(|(other, _)| other.as_str())
}

/// The images of `map` other than `id` whose stacks hold layer `l`.
fn sharers<'a>(map: &'a LayerMapDto, id: &'a str, l: &'a String) -> impl Iterator<Item = &'a str> {
    map.images
        .iter()
        .filter(move |(other, ls)| other.as_str() != id && ls.contains(l))
        .map(|(other, _)| other.as_str())
}

/// The relatives of image `id`. `images` is the list the Images page shows; empty (not
/// loaded yet), every image of the map counts as shown.
pub fn lineage(id: &str, map: &LayerMapDto, images: &[ImageSummaryDto]) -> Lineage {
    let Some(layers) = map.images.get(id) else {
        return Lineage::default();
    };
    let listed: BTreeSet<&str> = images.iter().map(|i| i.id.as_str()).collect();
    let shown = |other: &str| listed.is_empty() || listed.contains(other);
    let (users, hidden_users) = layers
        .iter()
        .map(|l| {
            let (named_ones, hidden): (Vec<&str>, Vec<&str>) =
                sharers(map, id, l).partition(|o| shown(o));
            let named_ones: Vec<Named> = named_ones.into_iter().map(|o| named(o, images)).collect();
            (named_ones, hidden.len())
        })
        .unzip();
    let parent = parent_of(map, id, layers, &shown).map(|p| named(p, images));
    let children = map
        .images
        .iter()
        .filter(|(other, ls)| {
            other.as_str() != id && shown(other) && parent_of(map, other, ls, &shown) == Some(id)
        })
        .map(|(other, _)| named(other, images))
        .collect();
    Lineage {
        users,
        hidden_users,
        parent,
        children,
    }
}

/// The containers made from image `id`, by name.
pub fn containers_of<'a>(id: &str, containers: &'a [ContainerDto]) -> Vec<&'a ContainerDto> {
    let mut out: Vec<&ContainerDto> = containers.iter().filter(|c| c.image == id).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// How the image lost tag `t` at `until`, seen at `now`: `was app:1 until 3 minutes ago; the
/// tag moved to` and the image it moved to (named, with its short ID when the name is a tag),
/// or `was app:1 until 3 minutes ago; the tag was removed` and none.
pub fn lost_tag_text(
    t: &LostTagDto,
    now: i64,
    images: &[ImageSummaryDto],
) -> (String, Option<Named>) {
    let when = format!(
        "was {} until {} ago",
        t.reference,
        docker_format::human_duration(now - t.until)
    );
    if t.taken_by.is_empty() {
        return (format!("{when}; the tag was removed"), None);
    }
    let mut to = named(&t.taken_by, images);
    if !to.name.starts_with("<none>") {
        to.name = format!("{} ({})", to.name, truncate_id(&t.taken_by));
    }
    (format!("{when}; the tag moved to"), Some(to))
}

/// `shared by 3 images: app:1, app:2 and <none>:<none> (1a2b3c4d5e6f)`, or `only this image`;
/// `hidden` intermediate images using the layer too are counted after the names.
pub fn users_text(users: &[Named], hidden: usize) -> String {
    let text = match users {
        [] => "only this image".to_string(),
        [one] => format!("shared by 2 images: this one and {}", one.name),
        many => {
            let names: Vec<&str> = many.iter().map(|n| n.name.as_str()).collect();
            format!(
                "shared by {} images: this one, {} and {}",
                many.len() + 1,
                names[..names.len() - 1].join(", "),
                names[names.len() - 1]
            )
        }
    };
    match hidden {
        0 => text,
        1 => format!("{text} (and 1 intermediate image of a build)"),
        n => format!("{text} (and {n} intermediate images of builds)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn id(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn map(images: &[(char, &[&str])]) -> LayerMapDto {
        LayerMapDto {
            layers: Vec::new(),
            images: images
                .iter()
                .map(|(c, ls)| (id(*c), ls.iter().map(|l| l.to_string()).collect()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn summary(c: char, tags: &[&str]) -> ImageSummaryDto {
        ImageSummaryDto {
            id: id(c),
            repo_tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn parent_children_and_who_shares_each_layer() {
        // a: base; b on a; c on b; d on a; e unrelated; f the same stack as b (a re-tag copy)
        let m = map(&[
            ('a', &["L1"]),
            ('b', &["L1", "L2"]),
            ('c', &["L1", "L2", "L3"]),
            ('d', &["L1", "L4"]),
            ('e', &["L9"]),
        ]);
        let images = [
            summary('a', &["base:1"]),
            summary('b', &["app:1"]),
            summary('c', &[]),
            summary('d', &["tool:1", "tool:latest"]),
        ];
        let b = lineage(&id('b'), &m, &images);
        assert_eq!(b.parent.as_ref().map(|p| p.name.as_str()), Some("base:1"));
        let kids: Vec<&str> = b.children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(kids, [format!("<none>:<none> ({})", "c".repeat(12))]);
        let users: Vec<Vec<&str>> = b
            .users
            .iter()
            .map(|u| u.iter().map(|n| n.name.as_str()).collect())
            .collect();
        assert_eq!(
            users,
            [
                vec![
                    "base:1",
                    &format!("<none>:<none> ({})", "c".repeat(12)),
                    "tool:1"
                ],
                vec![&format!("<none>:<none> ({})", "c".repeat(12))[..]],
            ]
        );
        let a = lineage(&id('a'), &m, &images);
        assert_eq!(a.parent, None);
        let kids: Vec<&str> = a.children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(kids, ["app:1", "tool:1"], "c's parent is b, not a");
        assert_eq!(
            lineage(&id('e'), &m, &images),
            Lineage {
                users: vec![vec![]],
                hidden_users: vec![0],
                parent: None,
                children: vec![]
            }
        );
        assert_eq!(lineage(&id('z'), &m, &images), Lineage::default());
    }

    /// A classic build leaves one intermediate image per step, hidden from the list: base, then
    /// steps s1 and s2 (hidden), then the tagged app. The app's parent is the base it was built
    /// FROM, the base's child is the app, and the steps are counted, never named.
    #[test]
    fn intermediate_images_are_counted_not_named() {
        let m = map(&[
            ('a', &["L1"]),
            ('b', &["L1", "L2"]),
            ('c', &["L1", "L2", "L3"]),
            ('d', &["L1", "L2", "L3"]),
        ]);
        // b and c are the build's steps; d is the tagged result (same stack as its last step)
        let images = [summary('a', &["base:1"]), summary('d', &["app:1"])];
        let app = lineage(&id('d'), &m, &images);
        assert_eq!(app.parent.as_ref().map(|p| p.name.as_str()), Some("base:1"));
        let users: Vec<Vec<&str>> = app
            .users
            .iter()
            .map(|u| u.iter().map(|n| n.name.as_str()).collect())
            .collect();
        assert_eq!(users, [vec!["base:1"], vec![], vec![]]);
        assert_eq!(app.hidden_users, [2, 2, 1]);
        let base = lineage(&id('a'), &m, &images);
        let kids: Vec<&str> = base.children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(kids, ["app:1"]);
        assert_eq!(base.hidden_users, [2]);
    }

    #[test]
    fn an_equal_stack_is_no_parent() {
        let m = map(&[('a', &["L1"]), ('b', &["L1"]), ('c', &["L1", "L2"])]);
        let l = lineage(&id('a'), &m, &[]);
        assert_eq!(l.parent, None);
        // c's parent is one of the equal stacks, always the same one
        let c = lineage(&id('c'), &m, &[]);
        assert_eq!(c.parent.map(|p| p.id), Some(id('a')));
        assert_eq!(lineage(&id('b'), &m, &[]).children, vec![]);
    }

    #[test]
    fn users_in_words() {
        let n = |s: &str| Named {
            id: String::new(),
            name: s.into(),
        };
        assert_eq!(users_text(&[], 0), "only this image");
        assert_eq!(
            users_text(&[n("a:1")], 0),
            "shared by 2 images: this one and a:1"
        );
        assert_eq!(
            users_text(&[n("a:1"), n("b:1"), n("c:1")], 0),
            "shared by 4 images: this one, a:1, b:1 and c:1"
        );
        assert_eq!(
            users_text(&[], 1),
            "only this image (and 1 intermediate image of a build)"
        );
        assert_eq!(
            users_text(&[n("a:1")], 3),
            "shared by 2 images: this one and a:1 (and 3 intermediate images of builds)"
        );
    }

    #[test]
    fn containers_of_the_image() {
        let c = |name: &str, image: char| ContainerDto {
            name: name.into(),
            image: id(image),
            ..Default::default()
        };
        let all = [c("zeta", 'a'), c("alpha", 'a'), c("other", 'b')];
        let names: Vec<&str> = containers_of(&id('a'), &all)
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(names, ["alpha", "zeta"]);
    }

    #[test]
    fn a_lost_tag_says_where_it_went() {
        let images = [summary('b', &["app:1"])];
        let moved = LostTagDto {
            reference: "app:1".into(),
            until: 1_000,
            taken_by: id('b'),
        };
        let (text, to) = lost_tag_text(&moved, 1_180, &images);
        assert_eq!(text, "was app:1 until 3 minutes ago; the tag moved to");
        let to = to.unwrap();
        assert_eq!(
            (to.id.as_str(), to.name.as_str()),
            (id('b').as_str(), &*format!("app:1 ({})", "b".repeat(12)))
        );
        let removed = LostTagDto {
            taken_by: String::new(),
            ..moved
        };
        assert_eq!(
            lost_tag_text(&removed, 1_002, &images),
            (
                "was app:1 until 2 seconds ago; the tag was removed".to_string(),
                None
            )
        );
    }
}
