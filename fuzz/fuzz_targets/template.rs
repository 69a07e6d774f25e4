//! The `--format` engine: `Format::parse` and `render` on any format text and rows. Properties:
//! nothing panics; `json` prints each row as one JSON object that reads back as the row;
//! output is bounded by the template and the rows (a line is at most every cell of every
//! line padded to the widest, so no input makes it grow beyond that).
//!
//! Input: `format \x01 default-table \x01 row \x01 row …`, a row being `key=value` pairs
//! separated by `\x02`. Every row also has `ID` and `Repository`.
#![no_main]

use docker_format::{Format, Row};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = s.split('\u{1}');
    let format = parts.next().unwrap_or("");
    let default_table = parts.next().unwrap_or("table {{.ID}}\t{{.Repository}}");
    let rows: Vec<Row> = parts
        .take(16)
        .map(|r| {
            let mut row = Row::new();
            row.insert("ID".into(), "0123456789ab".into());
            row.insert("Repository".into(), "busybox".into());
            for kv in r.split('\u{2}') {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                row.insert(k.into(), v.into());
            }
            row
        })
        .collect();
    let headers = [("ID", "IMAGE ID"), ("Repository", "REPOSITORY")];
    let f = Format::parse(format, default_table);
    let Ok(out) = f.render(&rows, &headers) else {
        return;
    };
    match &f {
        Format::Json => {
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), rows.len());
            for (line, row) in lines.iter().zip(&rows) {
                let back: Row = serde_json::from_str(line).expect("json output reads back");
                assert_eq!(&back, row);
            }
        }
        Format::Template { text, .. } => {
            // Every action expands to at most the row's JSON (the longest thing one action
            // can print); every line of a table is at most all of that padded.
            let actions = text.matches("{{").count();
            // The header row holds the template's field names (JSON escapes a byte in up
            // to 6) as keys and values.
            let widest_row = rows
                .iter()
                .map(|r| {
                    serde_json::to_string(r).unwrap().len()
                        + r.values().map(String::len).max().unwrap_or(0)
                })
                .max()
                .unwrap_or(0)
                + serde_json::to_string(&header_row(&headers)).unwrap().len()
                + 12 * text.len();
            // Headers of unknown fields are their names upper-cased (at most 3 bytes per byte).
            let expansion = (rows.len() + 1) * (4 * text.len() + actions * widest_row + 1);
            let cells = text.matches('\t').count() + 1;
            let lines = out.matches('\n').count().max(1);
            let bound = lines * (expansion + 10 * cells) + expansion;
            assert!(
                out.len() <= bound,
                "{} bytes of output for a {}-byte template and {} rows (bound {bound})",
                out.len(),
                text.len(),
                rows.len()
            );
        }
    }
});

fn header_row(headers: &[(&str, &str)]) -> Row {
    headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
