//! Client-side routes under `/ui/` (the server answers every `/ui/…` page path with
//! `index.html`; `/images/…` belongs to the Docker API). Image and container pages are
//! addressed by ID, which never holds a `.`, so the server treats them as pages.

/// A page of the dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The images table.
    Images,
    /// One image: stack, config, tags, history, inspect.
    Image(String),
    /// One image's union explorer.
    ImageFiles(String),
    /// The containers list.
    Containers,
    /// One container: its stack with the writable layer, files, commit.
    Container(String),
    /// Two images side by side (`?a=&b=`): shared base, stacks, differing paths.
    Compare,
    /// Layer sharing and disk usage.
    Sharing,
    /// The teaching sandbox.
    Sandbox,
    /// Build an image from a Dockerfile.
    Build,
    /// Anything else.
    NotFound(String),
}

/// Percent-decoding of a path segment or a query value.
pub(crate) fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Route {
    /// The route of a location path (`/ui/images/sha256:…`).
    pub fn parse(path: &str) -> Route {
        // a query or fragment (`?layer=2`) belongs to the page, not to the route
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let p = path.trim_end_matches('/');
        let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        match parts.as_slice() {
            [] | ["ui"] | ["ui", "images"] | ["index.html"] => Route::Images,
            ["ui", "images", id] => Route::Image(decode(id)),
            ["ui", "images", id, "files"] => Route::ImageFiles(decode(id)),
            ["ui", "containers"] => Route::Containers,
            ["ui", "containers", id] => Route::Container(decode(id)),
            ["ui", "compare"] => Route::Compare,
            ["ui", "sharing"] => Route::Sharing,
            ["ui", "sandbox"] => Route::Sandbox,
            ["ui", "build"] => Route::Build,
            _ => Route::NotFound(path.to_string()),
        }
    }

    /// The location path of the route.
    pub fn href(&self) -> String {
        match self {
            Route::Images => "/ui/images".into(),
            Route::Image(id) => format!("/ui/images/{id}"),
            Route::ImageFiles(id) => format!("/ui/images/{id}/files"),
            Route::Containers => "/ui/containers".into(),
            Route::Container(id) => format!("/ui/containers/{id}"),
            Route::Compare => "/ui/compare".into(),
            Route::Sharing => "/ui/sharing".into(),
            Route::Sandbox => "/ui/sandbox".into(),
            Route::Build => "/ui/build".into(),
            Route::NotFound(p) => p.clone(),
        }
    }

    /// The navigation section it belongs to (for `aria-current`).
    pub fn section(&self) -> &'static str {
        match self {
            Route::Images | Route::Image(_) | Route::ImageFiles(_) | Route::Compare => "images",
            Route::Containers | Route::Container(_) => "containers",
            Route::Sharing => "sharing",
            Route::Sandbox => "sandbox",
            Route::Build => "build",
            Route::NotFound(_) => "",
        }
    }

    /// The document title.
    pub fn title(&self) -> String {
        let short = |id: &str| docker_format::truncate_id(id);
        match self {
            Route::Images => "Images · Strata".into(),
            Route::Image(id) => format!("Image {} · Strata", short(id)),
            Route::ImageFiles(id) => format!("Files of {} · Strata", short(id)),
            Route::Containers => "Containers · Strata".into(),
            Route::Container(id) => format!("Container {} · Strata", short(id)),
            Route::Compare => "Compare images · Strata".into(),
            Route::Sharing => "Sharing and disk · Strata".into(),
            Route::Sandbox => "Layer sandbox · Strata".into(),
            Route::Build => "Build · Strata".into(),
            Route::NotFound(_) => "Not found · Strata".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_does_not_change_the_route() {
        let id = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            Route::parse(&format!("/ui/images/{id}/files?layer=2")),
            Route::ImageFiles(id.clone())
        );
        assert_eq!(
            Route::parse(&format!("/ui/images/{id}#x")),
            Route::Image(id)
        );
    }

    #[test]
    fn routes_round_trip() {
        let id = format!("sha256:{}", "a".repeat(64));
        for r in [
            Route::Images,
            Route::Image(id.clone()),
            Route::ImageFiles(id.clone()),
            Route::Containers,
            Route::Container("0123abcd".into()),
            Route::Sharing,
            Route::Sandbox,
            Route::Build,
        ] {
            assert_eq!(Route::parse(&r.href()), r);
        }
        assert_eq!(Route::parse("/"), Route::Images);
        assert_eq!(Route::parse("/ui/"), Route::Images);
        assert_eq!(
            Route::parse("/ui/images/sha256%3Aab"),
            Route::Image("sha256:ab".into())
        );
        assert_eq!(Route::parse("/ui/nope"), Route::NotFound("/ui/nope".into()));
        assert_eq!(Route::Image(id).title(), "Image aaaaaaaaaaaa · Strata");
        assert_eq!(Route::Container("x".into()).section(), "containers");
        assert_eq!(decode("a%2"), "a%2");
    }
}
