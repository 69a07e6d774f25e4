//! `history` and `inspect`.

use crate::Exit;
use clap::Args;
use docker_format::{ellipsis, human_duration, human_size, Format, Row};
use engine::Engine;
use serde_json::Value;

#[derive(Args)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long = "human", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    human: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Format output using a custom template
    #[arg(long = "format")]
    format: Option<String>,
    /// IMAGE
    image: String,
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `time.Unix(t, 0).Format(time.RFC3339)` in UTC.
pub fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

const HISTORY_TABLE: &str =
    "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const HISTORY_HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
];

pub fn history(engine: &Engine, a: HistoryArgs) -> anyhow::Result<()> {
    let rows = engine.history(&a.image)?;
    let now = now();
    let mut out = Vec::new();
    for r in &rows {
        let id = match &r.id {
            None => "<missing>".to_string(),
            Some(d) if a.no_trunc => d.to_string(),
            Some(d) => d.short().to_string(),
        };
        let by = r.created_by.replace('\t', " ");
        let mut row = Row::new();
        row.insert("ID".into(), id);
        row.insert(
            "CreatedSince".into(),
            if a.human {
                format!("{} ago", human_duration(now - r.created))
            } else {
                rfc3339(r.created)
            },
        );
        row.insert("CreatedAt".into(), rfc3339(r.created));
        row.insert(
            "CreatedBy".into(),
            if a.no_trunc { by } else { ellipsis(&by, 45) },
        );
        row.insert(
            "Size".into(),
            if a.human {
                human_size(r.size)
            } else {
                r.size.to_string()
            },
        );
        row.insert("Comment".into(), r.comment.clone());
        out.push(row);
    }
    if a.quiet {
        for r in &out {
            println!("{}", r["ID"]);
        }
        return Ok(());
    }
    let fmt = Format::parse(a.format.as_deref().unwrap_or(HISTORY_TABLE), HISTORY_TABLE);
    print!(
        "{}",
        fmt.render(&out, HISTORY_HEADERS)
            .map_err(|e| anyhow::anyhow!("{e}"))?
    );
    Ok(())
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template (only `json` and field references)
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    /// IMAGE...
    #[arg(required = true)]
    images: Vec<String>,
}

/// Prints JSON as the docker CLI does (4-space indent).
pub fn print_json(v: &Value) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(v, &mut ser)?;
    buf.push(b'\n');
    std::io::Write::write_all(&mut std::io::stdout().lock(), &buf)?;
    Ok(())
}

/// Prints inspect results: a JSON array, or each through `--format`.
/// A template row of `v`: each field by its dotted path (`NetworkSettings.IPAddress`), so a
/// `--format` reaches nested fields as Go's templates do.
fn fields(v: &Value, prefix: &str, row: &mut Row) {
    let Some(obj) = v.as_object() else {
        return;
    };
    for (k, v) in obj {
        let key = format!("{prefix}{k}");
        row.insert(
            key.clone(),
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string()),
        );
        if v.is_object() {
            fields(v, &format!("{key}."), row);
        }
    }
}

pub fn print_values(found: &[Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None => print_json(&Value::Array(found.to_vec()))?,
        Some(f) => {
            for v in found {
                let mut row = Row::new();
                fields(v, "", &mut row);
                print!(
                    "{}",
                    Format::parse(f, "")
                        .render(&[row], &[])
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                );
            }
        }
    }
    Ok(())
}

pub fn inspect(engine: &Engine, a: InspectArgs) -> anyhow::Result<()> {
    let mut found = Vec::new();
    let mut failed = false;
    let mut errors = Vec::new();
    for name in &a.images {
        match engine.inspect(name) {
            Ok(d) => found.push(docker_api::image_inspect(&docker_api::ImageFacts {
                id: &d.id,
                repo_tags: &d.repo_tags,
                repo_digests: &d.repo_digests,
                parent: d.parent.as_ref(),
                size: d.size,
                config: &d.config,
            })),
            Err(e) => {
                failed = true;
                errors.push(e);
            }
        }
    }
    print_values(&found, a.format.as_deref())?;
    for e in &errors {
        crate::report(e);
    }
    if failed {
        return Err(Exit(1).into());
    }
    Ok(())
}
