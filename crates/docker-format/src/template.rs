//! `--format`: `table`, `json`, or a Go template (`{{.Field}}`, `{{range}}`, `{{json .}}`, …)
//! run by the `gotemplate` module.

use crate::gotemplate::{Mode, Template};
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

/// A template that does not parse or cannot run on the data (Go's message, as the docker CLI
/// prints it).
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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

    /// Renders inspect documents (`inspect -f`), one line per document, with Go's template
    /// language as the docker CLI runs it (see the `gotemplate` module): `{{.State.Status}}`,
    /// `{{range .Mounts}}{{.Source}} {{end}}`, `{{index .Config.Labels "k"}}`,
    /// `{{join .Config.Cmd " "}}`, `{{json .Config}}`. Values print as Go prints the decoded
    /// JSON (`[sh -c]`, `map[a:b]`); a key the document lacks prints `<no value>`, as on the
    /// docker CLI's fallback to the raw map, and a field of a string or of null is an error.
    pub fn render_documents(&self, docs: &[serde_json::Value]) -> Result<String, FormatError> {
        let text = match self {
            Format::Json => "{{json .}}",
            Format::Template { text, .. } => text.as_str(),
        };
        let t = Template::parse(text)?;
        let mut out = String::new();
        for doc in docs {
            out.push_str(&t.execute(doc, Mode::Documents)?);
            out.push('\n');
        }
        Ok(out)
    }

    /// Renders rows; `headers` maps field names to column titles (`ID` → `IMAGE ID`). A
    /// template may use the whole language; a field the rows lack is an error (`can't evaluate
    /// field Nope`), as on the docker CLI's row structs. A `table` template's header row is
    /// the template run on the titles of the fields it uses (`{{upper .Status}}` → `STATUS`:
    /// Docker's functions other than `pad` leave a header as it is), and the lines are
    /// aligned as `tabwriter` aligns them (refused when alignment would make more than 1 MiB
    /// plus 16 times the unaligned text).
    pub fn render(&self, rows: &[Row], headers: &[(&str, &str)]) -> Result<String, FormatError> {
        let (table, text) = match self {
            Format::Json => {
                let mut out = String::new();
                for r in rows {
                    out.push_str(&serde_json::to_string(r).expect("strings serialise"));
                    out.push('\n');
                }
                return Ok(out);
            }
            Format::Template { table, text } => (*table, text),
        };
        let t = Template::parse(text)?;
        let as_value = |r: &Row| {
            serde_json::Value::Object(
                r.iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )
        };
        if !table {
            let mut out = String::new();
            for r in rows {
                out.push_str(&t.execute(&as_value(r), Mode::Rows)?);
                out.push('\n');
            }
            return Ok(out);
        }
        let header_row: Row = t
            .fields()
            .into_iter()
            .map(|f| {
                let title = headers
                    .iter()
                    .find(|(k, _)| *k == f)
                    .map_or_else(|| f.to_uppercase(), |(_, v)| v.to_string());
                (f, title)
            })
            .collect();
        let mut table = crate::Table::new();
        let header = t.execute(&as_value(&header_row), Mode::Header)?;
        let mut unaligned = header.len();
        table.line(&header);
        for r in rows {
            let line = t.execute(&as_value(r), Mode::Rows)?;
            unaligned += line.len() + 1;
            for l in line.split('\n') {
                table.line(l);
            }
        }
        let limit = (1 << 20) + 16 * unaligned;
        if table.rendered_len() > limit {
            return Err(FormatError(format!(
                "template: the aligned table would be more than {limit} bytes"
            )));
        }
        Ok(table.render())
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
        let err = Format::parse("{{.Nope}}", "")
            .render(&rows, &[])
            .unwrap_err();
        assert_eq!(
            err.0,
            "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope"
        );
    }

    #[test]
    fn table_headers_come_from_fields_also_inside_functions() {
        let rows = vec![
            row(&[("Names", "web"), ("Status", "Up 2 hours")]),
            row(&[("Names", "db"), ("Status", "Exited (0)")]),
        ];
        let f = Format::parse("table {{.Names}}\\t{{upper .Status}}", "");
        assert_eq!(
            f.render(&rows, &[("Names", "NAMES")]).unwrap(),
            "NAMES     STATUS\nweb       UP 2 HOURS\ndb        EXITED (0)\n"
        );
        // pad is not a header function: it pads the header as it pads the column.
        let f = Format::parse("table {{pad .Names 1 1}}|{{printf \"%.3s\" .Status}}", "");
        assert_eq!(
            f.render(&rows, &[]).unwrap(),
            " NAMES |STA\n web |Up \n db |Exi\n"
        );
    }

    #[test]
    fn rows_run_the_whole_language() {
        let rows = vec![row(&[
            ("Repository", "bb"),
            ("Tag", "1"),
            ("ID", "0123456789ab"),
        ])];
        let f = Format::parse(
            "{{.Repository}}:{{.Tag}} {{.ID | printf \"%.4s\"}} {{if eq .Tag \"1\"}}one{{end}}",
            "",
        );
        assert_eq!(f.render(&rows, &[]).unwrap(), "bb:1 0123 one\n");
        assert_eq!(
            Format::parse("{{json .}}", "").render(&rows, &[]).unwrap(),
            "{\"ID\":\"0123456789ab\",\"Repository\":\"bb\",\"Tag\":\"1\"}\n"
        );
    }

    #[test]
    fn parse_errors_are_gos_behind_dockers_prefix() {
        let rows = vec![row(&[("ID", "a")])];
        for (t, want) in [
            ("{{.ID", "template parsing error: template: :1: unclosed action"),
            ("{{nope .ID}}", "template parsing error: template: :1: function \"nope\" not defined"),
            ("{{define \"x\"}}{{end}}", "template parsing error: template: :1: {{define}} is not supported: a --format template is a single template, without define, template or block"),
        ] {
            assert_eq!(Format::parse(t, "").render(&rows, &[]).unwrap_err().0, want, "{t}");
        }
    }

    #[test]
    fn aligned_tables_stay_bounded() {
        // One wide cell and many short lines: alignment would pad every line to it.
        let wide = "x".repeat(100_000);
        let rows = vec![row(&[("A", &wide), ("B", &"\t\n".repeat(20_000))])];
        let err = Format::parse("table {{.A}}\\t\\n{{.B}}", "")
            .render(&rows, &[])
            .unwrap_err();
        assert!(
            err.0.contains("aligned table would be more than"),
            "{}",
            err.0
        );
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
            "abc running true 42 bridge web [\"sh\",\"-c\",\"x\"] [sh -c x]\n"
        );
        // A key the document lacks is Go's <no value>; a field of a string is an error.
        let f = Format::parse("{{.State.Nope}}", "");
        assert_eq!(
            f.render_documents(std::slice::from_ref(&doc)).unwrap(),
            "<no value>\n"
        );
        let err = Format::parse("{{.Id.Nope}}", "")
            .render_documents(&[doc])
            .unwrap_err();
        assert_eq!(
            err.0,
            "template: :1:2: executing \"\" at <.Id.Nope>: can't evaluate field Nope in type string"
        );
    }
}
