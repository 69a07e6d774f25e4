//! `--format`: `table`, `json`, or a template of `{{.Field}}` references.

use std::collections::BTreeMap;

/// One row's fields by name (`ID`, `Repository`, …), in the order JSON output uses.
pub type Row = BTreeMap<String, String>;

/// A parsed `--format` value.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    /// One JSON object per row.
    Json,
    /// A template; `table` adds a header row and aligns columns.
    Template {
        /// `table …` form.
        table: bool,
        /// The template text with `\t` and `\n` escapes applied.
        text: String,
    },
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

enum Piece {
    Text(String),
    Field(String),
    Json(Option<String>),
}

impl Format {
    /// Parses a `--format` value (`table`, `table {{.ID}}\t{{.Size}}`, `json`, `{{.ID}}`).
    /// `default_table` is the template `table` alone means.
    pub fn parse(s: &str, default_table: &str) -> Format {
        let s = s.trim();
        if s == "json" {
            return Format::Json;
        }
        let (table, text) = match s.strip_prefix("table") {
            Some("") => (
                true,
                default_table.trim_start_matches("table").trim().to_string(),
            ),
            Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim().to_string()),
            _ => (false, s.to_string()),
        };
        Format::Template {
            table,
            text: text.replace("\\t", "\t").replace("\\n", "\n"),
        }
    }

    fn pieces(text: &str) -> Result<Vec<Piece>, FormatError> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push(Piece::Text(rest[..start].to_string()));
            let end = rest[start..].find("}}").ok_or_else(|| {
                FormatError(format!(
                    "template parsing error: unclosed action in {text:?}"
                ))
            })?;
            let action = rest[start + 2..start + end].trim();
            rest = &rest[start + end + 2..];
            if let Some(f) = action.strip_prefix('.') {
                out.push(Piece::Field(f.to_string()));
            } else if let Some(arg) = action.strip_prefix("json") {
                let arg = arg.trim();
                match arg {
                    "." => out.push(Piece::Json(None)),
                    a if a.starts_with('.') => out.push(Piece::Json(Some(a[1..].to_string()))),
                    _ => {
                        return Err(FormatError(format!(
                            "template: unsupported action {{{{{action}}}}}"
                        )))
                    }
                }
            } else {
                return Err(FormatError(format!(
                    "template: unsupported action {{{{{action}}}}}"
                )));
            }
        }
        out.push(Piece::Text(rest.to_string()));
        Ok(out)
    }

    /// Renders inspect documents (`inspect -f`): a field is reached by its dotted path into the
    /// document (`{{.State.Status}}`, `{{.Config.Labels.app}}`) as Go's templates reach into
    /// nested objects; a string prints as its text, any other value as compact JSON, and
    /// `{{json .Config.Cmd}}` prints the value's JSON (`["sh","-c"]`). One line per document.
    pub fn render_documents(&self, docs: &[serde_json::Value]) -> Result<String, FormatError> {
        let text = match self {
            Format::Json => "{{json .}}",
            Format::Template { text, .. } => text.as_str(),
        };
        let pieces = Self::pieces(text)?;
        fn at<'d>(
            doc: &'d serde_json::Value,
            path: &str,
        ) -> Result<&'d serde_json::Value, FormatError> {
            path.split('.').try_fold(doc, |v, key| {
                v.get(key)
                    .ok_or_else(|| FormatError(format!("template: can't evaluate field {key}")))
            })
        }
        let mut out = String::new();
        for doc in docs {
            for p in &pieces {
                match p {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Field(f) => match at(doc, f)? {
                        serde_json::Value::String(s) => out.push_str(s),
                        v => out.push_str(&v.to_string()),
                    },
                    Piece::Json(None) => out.push_str(&doc.to_string()),
                    Piece::Json(Some(f)) => out.push_str(&at(doc, f)?.to_string()),
                }
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Renders rows; `headers` maps field names to column titles (`ID` → `IMAGE ID`).
    pub fn render(&self, rows: &[Row], headers: &[(&str, &str)]) -> Result<String, FormatError> {
        match self {
            Format::Json => {
                let mut out = String::new();
                for r in rows {
                    out.push_str(&serde_json::to_string(r).expect("strings serialise"));
                    out.push('\n');
                }
                Ok(out)
            }
            Format::Template { table, text } => {
                let pieces = Self::pieces(text)?;
                let expand = |r: &Row| -> Result<String, FormatError> {
                    let mut s = String::new();
                    for p in &pieces {
                        match p {
                            Piece::Text(t) => s.push_str(t),
                            Piece::Field(f) => s.push_str(r.get(f).ok_or_else(|| {
                                FormatError(format!("template: can't evaluate field {f}"))
                            })?),
                            Piece::Json(None) => {
                                s.push_str(&serde_json::to_string(r).expect("serialise"))
                            }
                            Piece::Json(Some(f)) => s.push_str(
                                &serde_json::to_string(r.get(f).ok_or_else(|| {
                                    FormatError(format!("template: can't evaluate field {f}"))
                                })?)
                                .expect("serialise"),
                            ),
                        }
                    }
                    Ok(s)
                };
                if !table {
                    let mut out = String::new();
                    for r in rows {
                        out.push_str(&expand(r)?);
                        out.push('\n');
                    }
                    return Ok(out);
                }
                let header: Row = headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let mut t = crate::Table::new();
                let mut header_row = Row::new();
                for p in &pieces {
                    if let Piece::Field(f) = p {
                        header_row.insert(
                            f.clone(),
                            header.get(f).cloned().unwrap_or_else(|| f.to_uppercase()),
                        );
                    }
                }
                t.line(&expand(&header_row)?);
                for r in rows {
                    for l in expand(r)?.split('\n') {
                        t.line(l);
                    }
                }
                Ok(t.render())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn templates() {
        let rows = vec![row(&[("ID", "abc"), ("Tag", "1")])];
        let f = Format::parse("{{.ID}}:{{.Tag}}", "");
        assert_eq!(f.render(&rows, &[]).unwrap(), "abc:1\n");
        let f = Format::parse("table {{.ID}}\\t{{.Tag}}", "");
        assert_eq!(
            f.render(&rows, &[("ID", "IMAGE ID")]).unwrap(),
            "IMAGE ID   TAG\nabc        1\n"
        );
        assert_eq!(
            Format::parse("json", "").render(&rows, &[]).unwrap(),
            "{\"ID\":\"abc\",\"Tag\":\"1\"}\n"
        );
        assert_eq!(
            Format::parse("{{json .Tag}}", "")
                .render(&rows, &[])
                .unwrap(),
            "\"1\"\n"
        );
        assert!(Format::parse("{{.Nope}}", "").render(&rows, &[]).is_err());
    }

    #[test]
    fn inspect_documents_are_reached_by_dotted_paths() {
        let doc = serde_json::json!({
            "Id": "abc",
            "State": {"Status": "running", "Running": true, "Pid": 42},
            "Net": {"Mode": "bridge"},
            "Config": {"Labels": {"app": "web"}, "Cmd": ["sh", "-c", "x"]}
        });
        let f = Format::parse(
            "{{.Id}} {{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.Net.Mode}} {{.Config.Labels.app}} {{json .Config.Cmd}} {{.Config.Cmd}}",
            "",
        );
        assert_eq!(
            f.render_documents(std::slice::from_ref(&doc)).unwrap(),
            "abc running true 42 bridge web [\"sh\",\"-c\",\"x\"] [\"sh\",\"-c\",\"x\"]\n"
        );
        let err = Format::parse("{{.State.Nope}}", "")
            .render_documents(&[doc])
            .unwrap_err();
        assert_eq!(err.0, "template: can't evaluate field Nope");
    }
}
