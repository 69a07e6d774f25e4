//! moby's `StatsResponse` (`GET /containers/{id}/stats`): what the docker CLI's `stats`
//! computes its columns from (CPU % from two samples, memory less the inactive file cache).

use serde_json::{json, Map, Value};

/// One sample of a container's cgroups and network counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFacts {
    /// When it was read, RFC 3339 with nanoseconds (Docker's zero time for none).
    pub read: String,
    /// Memory in use, bytes.
    pub memory_usage: u64,
    /// The memory limit (the host's memory when the container has none).
    pub memory_limit: u64,
    /// `memory.stat`.
    pub memory_stat: Vec<(String, u64)>,
    /// CPU time of the container, ns: total, user, kernel.
    pub cpu: (u64, u64, u64),
    /// The host's CPU time, ns.
    pub system_cpu: u64,
    /// Online CPUs.
    pub online_cpus: u32,
    /// CFS periods, throttled periods, throttled time (ns).
    pub throttling: (u64, u64, u64),
    /// Processes, and the limit (0: none).
    pub pids: (u64, u64),
    /// (major, minor, `read`/`write`, bytes).
    pub blkio: Vec<(u64, u64, String, u64)>,
    /// Interfaces: name, rx bytes/packets/errors/dropped, tx bytes/packets/errors/dropped.
    pub networks: Vec<(String, [u64; 8])>,
}

fn cpu_json(s: &StatsFacts) -> Value {
    json!({
        "cpu_usage": {
            "total_usage": s.cpu.0,
            "usage_in_kernelmode": s.cpu.2,
            "usage_in_usermode": s.cpu.1,
        },
        "system_cpu_usage": s.system_cpu,
        "online_cpus": s.online_cpus,
        "throttling_data": {
            "periods": s.throttling.0,
            "throttled_periods": s.throttling.1,
            "throttled_time": s.throttling.2,
        }
    })
}

/// The stats JSON of container `id` named `name` from `cur`, with `pre` (the previous
/// sample) as `precpu_stats` and `preread`.
pub fn stats_json(id: &str, name: &str, cur: &StatsFacts, pre: Option<&StatsFacts>) -> Value {
    let zero = StatsFacts {
        read: "0001-01-01T00:00:00Z".into(),
        ..Default::default()
    };
    let pre = pre.unwrap_or(&zero);
    let stat: Map<String, Value> = cur
        .memory_stat
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let blkio: Vec<Value> = cur
        .blkio
        .iter()
        .map(|(major, minor, op, value)| {
            json!({"major": major, "minor": minor, "op": op, "value": value})
        })
        .collect();
    let mut v = json!({
        "id": id,
        "name": format!("/{name}"),
        "read": cur.read,
        "preread": pre.read,
        "pids_stats": if cur.pids.1 > 0 {
            json!({"current": cur.pids.0, "limit": cur.pids.1})
        } else {
            json!({"current": cur.pids.0})
        },
        "blkio_stats": {
            "io_service_bytes_recursive": blkio,
            "io_serviced_recursive": null,
            "io_queue_recursive": null,
            "io_service_time_recursive": null,
            "io_wait_time_recursive": null,
            "io_merged_recursive": null,
            "io_time_recursive": null,
            "sectors_recursive": null
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_json(cur),
        "precpu_stats": cpu_json(pre),
        "memory_stats": {
            "usage": cur.memory_usage,
            "limit": cur.memory_limit,
            "stats": stat,
        },
    });
    if !cur.networks.is_empty() {
        let nets: Map<String, Value> = cur
            .networks
            .iter()
            .map(|(n, c)| {
                (
                    n.clone(),
                    json!({
                        "rx_bytes": c[0], "rx_packets": c[1], "rx_errors": c[2], "rx_dropped": c[3],
                        "tx_bytes": c[4], "tx_packets": c[5], "tx_errors": c[6], "tx_dropped": c[7],
                    }),
                )
            })
            .collect();
        v["networks"] = Value::Object(nets);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_shape() {
        let cur = StatsFacts {
            read: "2026-01-01T00:00:01.5Z".into(),
            memory_usage: 4096,
            memory_limit: 8 << 20,
            memory_stat: vec![("total_inactive_file".into(), 1024)],
            cpu: (300, 200, 100),
            system_cpu: 9000,
            online_cpus: 2,
            pids: (2, 100),
            blkio: vec![(8, 0, "read".into(), 512)],
            networks: vec![("eth0".into(), [1, 2, 3, 4, 5, 6, 7, 8])],
            ..Default::default()
        };
        let v = stats_json("abc", "web", &cur, None);
        assert_eq!(v["name"], "/web");
        assert_eq!(v["preread"], "0001-01-01T00:00:00Z");
        assert_eq!(v["memory_stats"]["stats"]["total_inactive_file"], 1024);
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 300);
        assert_eq!(v["cpu_stats"]["online_cpus"], 2);
        assert_eq!(v["precpu_stats"]["cpu_usage"]["total_usage"], 0);
        assert_eq!(v["pids_stats"], json!({"current": 2, "limit": 100}));
        assert_eq!(
            v["blkio_stats"]["io_service_bytes_recursive"][0],
            json!({"major": 8, "minor": 0, "op": "read", "value": 512})
        );
        assert_eq!(v["networks"]["eth0"]["tx_dropped"], 8);
        let v = stats_json("abc", "web", &StatsFacts::default(), Some(&cur));
        assert_eq!(v["precpu_stats"]["system_cpu_usage"], 9000);
        assert!(v.get("networks").is_none());
        assert_eq!(v["pids_stats"], json!({"current": 0}));
    }
}
