//! moby's `registry.SearchResult`, as `GET /images/search` answers.

use serde_json::{json, Value};

/// One repository a registry's search found.
#[derive(Debug, Clone, Copy)]
pub struct SearchFacts<'a> {
    /// `registry/repository`.
    pub name: &'a str,
    /// Its description.
    pub description: &'a str,
    /// Stars (registries other than Docker Hub keep none).
    pub stars: u64,
    /// An official image.
    pub official: bool,
}

/// Docker's search result JSON (`is_automated` is always false: the field is deprecated).
pub fn search_result(r: &SearchFacts<'_>) -> Value {
    json!({ "name": r.name, "description": r.description, "star_count": r.stars, "is_official": r.official, "is_automated": false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).expect("JSON")
    }

    #[test]
    fn shape() {
        let v = search_result(&SearchFacts {
            name: "localhost:5000/bb",
            description: "tags: 1",
            stars: 0,
            official: false,
        });
        assert_eq!(
            v,
            parse(
                r#"{"description":"tags: 1","is_automated":false,"is_official":false,"name":"localhost:5000/bb","star_count":0}"#
            )
        );
    }
}
