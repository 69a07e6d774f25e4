//! `--change` / `-c` instructions (`CMD`, `ENV`, …) applied to an image's execution config,
//! as `docker import -c` and `docker commit -c` do.

use crate::{EngineError, Result};
use oci_model::ExecConfig;
use std::collections::BTreeMap;

/// Applies Dockerfile-style change lines to `cfg`, in order.
pub fn apply_changes(cfg: &mut ExecConfig, changes: &[String]) -> Result<()> {
    for line in changes {
        apply_one(cfg, line.trim())?;
    }
    Ok(())
}

fn apply_one(cfg: &mut ExecConfig, line: &str) -> Result<()> {
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let keyword = word.to_ascii_uppercase();
    let need_args = || -> Result<()> {
        if rest.is_empty() {
            Err(EngineError::invalid(format!(
                "{keyword} requires at least one argument"
            )))
        } else {
            Ok(())
        }
    };
    match keyword.as_str() {
        "CMD" => {
            need_args()?;
            cfg.cmd = Some(command_form(rest)?);
        }
        "ENTRYPOINT" => {
            need_args()?;
            cfg.entrypoint = Some(command_form(rest)?);
        }
        "ENV" => {
            need_args()?;
            let env = cfg.env.get_or_insert_with(Vec::new);
            for (k, v) in key_values(rest, "ENV")? {
                env.retain(|e| e.split('=').next() != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            need_args()?;
            let labels = cfg.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in key_values(rest, "LABEL")? {
                labels.insert(k, v);
            }
        }
        "EXPOSE" => {
            need_args()?;
            let ports = cfg.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in rest.split_whitespace() {
                let p = if p.contains('/') {
                    p.to_string()
                } else {
                    format!("{p}/tcp")
                };
                let (num, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                if num.is_empty()
                    || !num.split('-').all(|n| n.parse::<u16>().is_ok())
                    || proto.is_empty()
                {
                    return Err(EngineError::invalid(format!(
                        "invalid containerPort: {num}"
                    )));
                }
                ports.insert(p.to_ascii_lowercase(), serde_json::json!({}));
            }
        }
        "VOLUME" => {
            need_args()?;
            let vols = cfg.volumes.get_or_insert_with(BTreeMap::new);
            let list = if rest.starts_with('[') {
                json_array(rest)?
            } else {
                words(rest)
            };
            for v in list {
                vols.insert(v, serde_json::json!({}));
            }
        }
        "USER" => {
            need_args()?;
            cfg.user = Some(rest.to_string());
        }
        "WORKDIR" => {
            need_args()?;
            let base = cfg.working_dir.clone().unwrap_or_else(|| "/".into());
            cfg.working_dir = Some(if rest.starts_with('/') {
                rest.to_string()
            } else {
                format!("{}/{}", base.trim_end_matches('/'), rest)
            });
        }
        "STOPSIGNAL" => {
            need_args()?;
            cfg.stop_signal = Some(rest.to_string());
        }
        "ONBUILD" => {
            need_args()?;
            let list = cfg
                .extra
                .entry("OnBuild".into())
                .or_insert_with(|| serde_json::json!([]));
            if let Some(a) = list.as_array_mut() {
                a.push(serde_json::Value::String(rest.to_string()));
            }
        }
        _ => {
            return Err(EngineError::invalid(format!(
                "{word} is not a valid change command"
            )))
        }
    }
    Ok(())
}

/// JSON exec form (`["a","b"]`) or shell form (`/bin/sh -c "…"`).
fn command_form(rest: &str) -> Result<Vec<String>> {
    if rest.starts_with('[') {
        if let Ok(v) = json_array(rest) {
            return Ok(v);
        }
    }
    Ok(vec!["/bin/sh".into(), "-c".into(), rest.to_string()])
}

fn json_array(s: &str) -> Result<Vec<String>> {
    serde_json::from_str::<Vec<String>>(s)
        .map_err(|e| EngineError::invalid(format!("invalid JSON array {s:?}: {e}")))
}

/// Shell-like words with simple double/single quotes.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                any = true;
            }
            (_, '\\') if quote != Some('\'') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `k=v k2="v 2"` or the legacy `k v w` form.
fn key_values(rest: &str, what: &str) -> Result<Vec<(String, String)>> {
    let ws = words(rest);
    if !ws[0].contains('=') {
        let (k, v) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if v.trim().is_empty() && what == "ENV" {
            return Err(EngineError::invalid(format!(
                "{what} must have two arguments"
            )));
        }
        let v = words(v).join(" ");
        return Ok(vec![(k.to_string(), v)]);
    }
    ws.into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(EngineError::invalid(format!(
                "{what} names can not be blank"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(changes: &[&str], expect: &str) {
        let mut cfg = ExecConfig::default();
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        match apply_changes(&mut cfg, &changes) {
            Ok(()) => assert_eq!(serde_json::to_string(&cfg).unwrap(), expect),
            Err(e) => assert_eq!(format!("error: {e}"), expect),
        }
    }

    #[test]
    fn changes() {
        check(
            &[r#"CMD ["sh","-c","echo hi"]"#],
            r#"{"Cmd":["sh","-c","echo hi"]}"#,
        );
        check(&["CMD echo hi"], r#"{"Cmd":["/bin/sh","-c","echo hi"]}"#);
        check(
            &["ENV A=1 B=\"x y\"", "ENV A 2"],
            r#"{"Env":["B=x y","A=2"]}"#,
        );
        check(
            &["EXPOSE 80 53/udp"],
            r#"{"ExposedPorts":{"53/udp":{},"80/tcp":{}}}"#,
        );
        check(
            &["LABEL a=b", "WORKDIR /app", "WORKDIR sub", "USER nobody"],
            r#"{"User":"nobody","WorkingDir":"/app/sub","Labels":{"a":"b"}}"#,
        );
        check(
            &["VOLUME /data /logs"],
            r#"{"Volumes":{"/data":{},"/logs":{}}}"#,
        );
        check(&["FROM x"], "error: FROM is not a valid change command");
        check(&["CMD"], "error: CMD requires at least one argument");
        check(&["EXPOSE abc"], "error: invalid containerPort: abc");
    }
}
