//! `history` and `inspect`.

use crate::Exit;
use clap::Args;
use docker_format::{Format, Row};
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

pub use docker_format::rfc3339;

pub fn history(engine: &Engine, a: HistoryArgs) -> anyhow::Result<()> {
    let rows = engine.history(&a.image)?;
    let out: Vec<Row> = rows
        .iter()
        .map(|r| {
            docker_api::history_row(
                &docker_api::HistoryFacts {
                    id: r.id.as_ref(),
                    created: r.created,
                    created_by: &r.created_by,
                    tags: &r.tags,
                    size: r.size,
                    comment: &r.comment,
                },
                a.human,
                a.no_trunc,
                now(),
            )
        })
        .collect();
    if a.quiet {
        for r in &out {
            println!("{}", r["ID"]);
        }
        return Ok(());
    }
    let table = docker_api::HISTORY_TABLE;
    let fmt = Format::parse(a.format.as_deref().unwrap_or(table), table);
    print!(
        "{}",
        fmt.render(&out, docker_api::HISTORY_HEADERS)
            .map_err(|e| anyhow::anyhow!("{e}"))?
    );
    Ok(())
}

#[derive(Args)]
pub struct InspectArgs {
    /// Format output using a custom template (only `json` and field references)
    #[arg(short = 'f', long = "format")]
    format: Option<String>,
    /// NAME... (`inspect`: a container or an image; `image inspect`: an image)
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
pub fn print_values(found: &[Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None => print_json(&Value::Array(found.to_vec()))?,
        Some(f) => {
            print!(
                "{}",
                Format::parse(f, "")
                    .render_documents(found)
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            );
        }
    }
    Ok(())
}

/// `image inspect`: images only.
pub fn inspect(engine: &Engine, a: InspectArgs) -> anyhow::Result<()> {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.images {
        match engine.inspect(name) {
            Ok(d) => found.push(strata_server::image_inspect_json(&d)),
            Err(e) => errors.push(e),
        }
    }
    print_values(&found, a.format.as_deref())?;
    for e in &errors {
        crate::report(e);
    }
    if !errors.is_empty() {
        return Err(Exit(1).into());
    }
    Ok(())
}

/// `inspect`: each name as the docker CLI looks it up without `--type`, a container first,
/// then an image; neither is "No such object".
pub fn inspect_any(engine: &Engine, a: InspectArgs) -> anyhow::Result<()> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &a.images {
        if let Ok(c) = engine.container(name) {
            found.push(crate::containers::container_json(engine, &c));
        } else if let Ok(d) = engine.inspect(name) {
            found.push(strata_server::image_inspect_json(&d));
        } else {
            missing.push(name);
        }
    }
    print_values(&found, a.format.as_deref())?;
    for name in &missing {
        eprintln!("Error: No such object: {name}");
    }
    if !missing.is_empty() {
        return Err(Exit(1).into());
    }
    Ok(())
}
