//! `GET /containers/{id}/stats` (one sample, or one a second while `stream`) and
//! `POST /containers/{id}/update` over the engine's `container_stats` and `update_container`.

use crate::docker::run::channel_body;
use crate::params::{first, truthy};
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/stats", get(stats))
        .route("/containers/{id}/update", post(update))
}

/// The engine's sample as `docker-api` takes it.
fn facts(s: &engine::StatsSample) -> docker_api::StatsFacts {
    let cg = &s.cgroup;
    docker_api::StatsFacts {
        read: s.read.clone(),
        memory_usage: cg.memory_usage,
        memory_limit: s.memory_limit(),
        memory_stat: cg.memory_stat.clone(),
        cpu: (cg.cpu_total, cg.cpu_user, cg.cpu_system),
        system_cpu: s.system_cpu.0,
        online_cpus: s.system_cpu.1,
        throttling: cg.throttling,
        pids: (cg.pids_current, cg.pids_limit.unwrap_or(0)),
        blkio: cg.blkio.clone(),
        networks: s.networks.clone(),
    }
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: with `stream` (the default), one JSON
/// document a second until the container stops or the client leaves; without it, one
/// document whose `precpu_stats` is a sample taken a second before (none with `one-shot`),
/// as moby answers `docker stats --no-stream`.
async fn stats(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let stream = first(&q, "stream").is_none_or(|v| truthy(Some(v)));
    let one_shot = truthy(first(&q, "one-shot"));
    let id2 = id.clone();
    let (cid, name, first_sample) = st
        .run(move |e| {
            let c = e.container(&id2)?;
            let s = e.container_stats(&c.id)?;
            Ok((c.id, c.name, s))
        })
        .await?;
    let (tx, rx) = mpsc::channel(4);
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(e) = st2.engine() else { return };
        let send = |v: serde_json::Value| {
            let mut line = v.to_string();
            line.push('\n');
            tx.blocking_send(Ok(Bytes::from(line))).is_ok()
        };
        let mut pre = facts(&first_sample);
        if !stream {
            if one_shot || !first_sample.running {
                let _ = send(docker_api::stats_json(&cid, &name, &pre, None));
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
            if let Ok(s) = e.container_stats(&cid) {
                let _ = send(docker_api::stats_json(&cid, &name, &facts(&s), Some(&pre)));
            }
            return;
        }
        if !send(docker_api::stats_json(&cid, &name, &pre, None)) {
            return;
        }
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let Ok(s) = e.container_stats(&cid) else {
                return;
            };
            let cur = facts(&s);
            if !send(docker_api::stats_json(&cid, &name, &cur, Some(&pre))) || !s.running {
                return;
            }
            pre = cur;
        }
    });
    Ok(([(CONTENT_TYPE, "application/json")], channel_body(rx)).into_response())
}

/// moby's `UpdateConfig`: the fields Strata applies, and the rest, refused when set.
#[derive(Deserialize, Default)]
struct UpdateBody {
    #[serde(rename = "MemorySwap", default)]
    memory_swap: Option<i64>,
    #[serde(rename = "MemoryReservation", default)]
    memory_reservation: Option<i64>,
    #[serde(rename = "CpuShares", default)]
    cpu_shares: Option<i64>,
    #[serde(rename = "CpusetCpus", default)]
    cpuset_cpus: Option<String>,
    #[serde(rename = "CpusetMems", default)]
    cpuset_mems: Option<String>,
    #[serde(rename = "RestartPolicy", default)]
    restart_policy: Option<UpdateRestartPolicy>,
    #[serde(flatten)]
    rest: std::collections::BTreeMap<String, serde_json::Value>,
    #[serde(rename = "Memory", default)]
    memory: Option<i64>,
    #[serde(rename = "NanoCpus", default)]
    nano_cpus: Option<i64>,
    #[serde(rename = "CpuQuota", default)]
    cpu_quota: Option<i64>,
    #[serde(rename = "CpuPeriod", default)]
    cpu_period: Option<i64>,
    #[serde(rename = "PidsLimit", default)]
    pids_limit: Option<i64>,
}

/// moby's `RestartPolicy` in an update (an empty name: unchanged).
#[derive(Deserialize, Default)]
struct UpdateRestartPolicy {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "MaximumRetryCount", default)]
    maximum_retry_count: i64,
}

/// `POST /containers/{id}/update` → `{"Warnings": []}`. As moby reads it, a zero or empty
/// field leaves its limit as it is.
async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<UpdateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(crate::params::json_error)?;
    crate::docker::containers::refuse_unhandled("UpdateConfig", &b.rest)?;
    let o = engine::UpdateOptions {
        memory: b.memory.filter(|m| *m != 0),
        nano_cpus: b.nano_cpus.filter(|n| *n != 0),
        cpu_quota: b.cpu_quota.filter(|q| *q != 0),
        cpu_period: b.cpu_period.filter(|p| *p != 0),
        pids_limit: b.pids_limit.filter(|p| *p != 0),
        memory_swap: b.memory_swap.filter(|s| *s != 0),
        memory_reservation: b.memory_reservation.filter(|r| *r != 0),
        cpu_shares: b.cpu_shares.filter(|s| *s != 0),
        cpuset_cpus: b.cpuset_cpus.filter(|s| !s.is_empty()),
        cpuset_mems: b.cpuset_mems.filter(|s| !s.is_empty()),
        restart: b
            .restart_policy
            .filter(|r| !r.name.is_empty())
            .map(|r| engine::RestartPolicy {
                name: r.name,
                max_retries: r.maximum_retry_count,
            }),
    };
    st.run(move |e| e.update_container(&id, &o)).await?;
    Ok(Json(json!({ "Warnings": [] })).into_response())
}
