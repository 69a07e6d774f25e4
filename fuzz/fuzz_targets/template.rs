//! The `--format` engine: `Format::parse` and `render` on any format text and rows. Properties:
//! nothing panics; `json` prints each row as one JSON object that reads back as the row;
//! output is bounded by the template and the rows: each execution by the engine's budget
//! (256 KiB + 64 × (template + row bytes)), an aligned table by 1 MiB + 16 × its unaligned
//! text (see the bound below for why `pad`, `printf` and `range` need this form).
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
        Format::Template { text, table } => {
            // Each execution (a row, and a table's header row) stops with an error once its
            // output, the text its functions make and its steps pass the engine's budget,
            // 256 KiB + 64 × (template bytes + data bytes): `pad` and `printf` widths (up to
            // 10,000 each) and `range` (loops over the data, nested or not) make output that
            // is not bounded by the template and the rows alone, so the old bound (each action
            // at most the row's JSON) no longer holds. A row's data bytes are at most its
            // JSON; the header row's are the template's field names and their titles (a name
            // upper-cased is at most 3 bytes per byte). A table is then refused when aligning
            // it would make more than 1 MiB + 16 × the unaligned text.
            let budget = |data: usize| 256 * 1024 + 64 * (text.len() + data);
            let mut unaligned: usize = rows
                .iter()
                .map(|r| budget(serde_json::to_string(r).unwrap().len() + 8) + 1)
                .sum();
            let bound = if *table {
                let header = serde_json::to_string(&header_row(&headers)).unwrap().len();
                unaligned += budget(8 * text.len() + header + 8);
                (1 << 20) + 16 * unaligned
            } else {
                unaligned
            };
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
