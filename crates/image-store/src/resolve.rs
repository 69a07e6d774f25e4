//! Which image a name, ID, ID prefix or digest means (moby's `GetImage`).

use crate::errors::StoreError;
use crate::model::StoreView;
use image_ref::{AnyReference, Reference};
use oci_model::Digest;

/// The image an input names, and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The image ID.
    pub id: Digest,
    /// True when found by ID, ID prefix or `sha256:` digest; false when found by a reference.
    pub by_id: bool,
    /// The normalised reference that matched (`:latest` added when there was no tag or digest);
    /// `None` when found by ID.
    pub reference: Option<Reference>,
}

/// Finds the image `input` names, as moby's `GetImage` does: a 64-hex ID or `sha256:` digest
/// means that image; otherwise the input is looked up as a reference (`name:tag`, default tag
/// `latest`, or `name@digest`), and failing that as an unambiguous prefix of an image ID
/// (bare hex or `sha256:<hex prefix>`).
///
/// Errors: the reference's own text when `input` does not parse; `No such image: <x>` (with
/// `x` the familiar form, `:latest` added to bare names) when nothing, or more than one ID,
/// matches.
pub fn resolve(view: &StoreView, input: &str) -> Result<Resolved, StoreError> {
    match image_ref::parse_any(input)? {
        AnyReference::Id(id) => {
            if image_exists(view, &id) {
                Ok(Resolved {
                    id,
                    by_id: true,
                    reference: None,
                })
            } else {
                Err(StoreError::NoSuchImage(id.to_string()))
            }
        }
        AnyReference::Named(named) => {
            if let Some((id, reference)) = lookup_reference(view, &named) {
                return Ok(Resolved {
                    id,
                    by_id: false,
                    reference: Some(reference),
                });
            }
            if let Some(id) = search_id(view, input) {
                return Ok(Resolved {
                    id,
                    by_id: true,
                    reference: None,
                });
            }
            Err(StoreError::NoSuchImage(
                named.with_default_tag().familiar_string(),
            ))
        }
    }
}

fn image_exists(view: &StoreView, id: &Digest) -> bool {
    view.images.iter().any(|i| i.id == *id)
}

/// The reference store's `Get`: a digest wins over a tag; a bare name means `:latest`.
/// Only references to images that exist count.
fn lookup_reference(view: &StoreView, named: &Reference) -> Option<(Digest, Reference)> {
    match named.digest() {
        Some(digest) => lookup_digest(view, named, digest),
        None => {
            let wanted = named.clone().with_default_tag();
            view.tags
                .iter()
                .find(|t| t.reference == wanted && image_exists(view, &t.image))
                .map(|t| (t.image.clone(), wanted))
        }
    }
}

/// `name@digest`: a stored digest reference, or an image pulled with that manifest digest
/// that has a reference of the same repository.
fn lookup_digest(
    view: &StoreView,
    named: &Reference,
    digest: &Digest,
) -> Option<(Digest, Reference)> {
    let name = named.name();
    let stored = view.tags.iter().find(|t| {
        t.reference.digest() == Some(digest)
            && t.reference.name() == name
            && image_exists(view, &t.image)
    });
    if let Some(t) = stored {
        return Some((t.image.clone(), t.reference.clone()));
    }
    view.images
        .iter()
        .filter(|i| i.manifest.as_ref().is_some_and(|(m, _)| m == digest))
        .find(|i| {
            view.tags
                .iter()
                .any(|t| t.image == i.id && t.reference.name() == name)
        })
        .map(|i| (i.id.clone(), named.with_digest(digest.clone())))
}

/// moby's `digestset.Lookup` over image IDs: `input` is a hex prefix, or `sha256:` and a hex
/// prefix; exactly one ID must match.
pub(crate) fn search_id(view: &StoreView, input: &str) -> Option<Digest> {
    let prefix = match input.split_once(':') {
        Some(("sha256", hex)) => hex,
        Some(_) => return None,
        None => input,
    };
    if prefix.is_empty() {
        return None;
    }
    let mut matches = view
        .images
        .iter()
        .filter(|i| i.id.hex().starts_with(prefix));
    let first = matches.next()?;
    if prefix.len() == 64 {
        return Some(first.id.clone());
    }
    matches.all(|i| i.id == first.id).then(|| first.id.clone())
}

/// moby's `isImageIDPrefix`: `input` is a prefix of `sha256:<hex>` or of `<hex>`.
pub(crate) fn is_id_prefix(id: &Digest, input: &str) -> bool {
    id.to_string().starts_with(input) || id.hex().starts_with(input)
}
