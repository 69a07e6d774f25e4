//! Engine events for HTTP clients: Docker's `GET /events` (one JSON object per line) and the
//! dashboard's `GET /api/events` (Server-Sent Events).
//!
//! One forwarder thread per engine drains [`engine::Engine::subscribe`] into a
//! `tokio::sync::broadcast` channel and a ring of recent events (for `since`); every HTTP
//! subscriber is a broadcast receiver. A relay thread has the engine pass on, every
//! [`RELAY_EVERY`], the events other processes using the store recorded (the CLI's tags,
//! pulls, removals), so the streams show every change to the store, not only this server's. A subscriber that falls more than the channel's
//! capacity behind loses the oldest events rather than slowing the engine down.

use crate::params::first;
use crate::{ApiError, AppState};
use api_types::EventDto;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

const CAPACITY: usize = 1024;
/// How often the events of other processes are looked for.
pub(crate) const RELAY_EVERY: Duration = Duration::from_millis(250);
const REPLAY: usize = 1024;

/// The fan-out point for one engine's events.
#[derive(Clone)]
pub(crate) struct Hub {
    inner: Arc<HubInner>,
}

struct HubInner {
    tx: broadcast::Sender<engine::Event>,
    recent: Mutex<VecDeque<engine::Event>>,
}

impl Hub {
    /// Starts the forwarder and relay threads for `engine`. They end when the engine (and with
    /// it the sending side of its subscription) is dropped.
    pub(crate) fn start(engine: &Arc<engine::Engine>) -> Hub {
        let (tx, _) = broadcast::channel(CAPACITY);
        let inner = Arc::new(HubInner {
            tx,
            recent: Mutex::new(VecDeque::new()),
        });
        let rx = engine.subscribe();
        let fwd = inner.clone();
        std::thread::Builder::new()
            .name("strata-events".into())
            .spawn(move || {
                for ev in rx {
                    let mut recent = fwd.recent.lock().unwrap_or_else(|e| e.into_inner());
                    if recent.len() == REPLAY {
                        recent.pop_front();
                    }
                    recent.push_back(ev.clone());
                    // Sent under the lock so a new subscriber sees each event exactly once:
                    // either in its replay snapshot or on its receiver.
                    let _ = fwd.tx.send(ev);
                }
            })
            .expect("spawn the event forwarder thread");
        let weak = Arc::downgrade(engine);
        // Marks where the relay starts: earlier events are not replayed.
        let _ = engine.relay_other_processes_events();
        std::thread::Builder::new()
            .name("strata-event-relay".into())
            .spawn(move || loop {
                std::thread::sleep(RELAY_EVERY);
                let Some(engine) = weak.upgrade() else { return };
                let _ = engine.relay_other_processes_events();
            })
            .expect("spawn the event relay thread");
        Hub { inner }
    }

    /// The buffered events, and a receiver for everything after them.
    fn subscribe(&self) -> (Vec<engine::Event>, broadcast::Receiver<engine::Event>) {
        let recent = self.inner.recent.lock().unwrap_or_else(|e| e.into_inner());
        (recent.iter().cloned().collect(), self.inner.tx.subscribe())
    }
}

/// Docker's `events.Message` for an engine event.
fn docker_message(e: &engine::Event) -> Value {
    docker_api::event_message(&docker_api::EventFacts {
        kind: &e.kind,
        action: &e.action,
        id: &e.id,
        attributes: &e.attributes,
        time_nano: e.time_nano,
    })
}

/// `since`/`until` of `GET /events`: unix seconds with optional fraction, or RFC 3339.
fn parse_time(s: &str) -> Result<i128, ApiError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Some((secs, frac)) = s.split_once('.') {
        if let (Ok(secs), true) = (
            secs.parse::<i64>(),
            frac.bytes().all(|b| b.is_ascii_digit()),
        ) {
            let mut nanos = frac.to_string();
            nanos.truncate(9);
            while nanos.len() < 9 {
                nanos.push('0');
            }
            return Ok(secs as i128 * 1_000_000_000 + nanos.parse::<i128>().unwrap_or(0));
        }
    }
    let secs = docker_format::parse_timestamp(s, now).map_err(ApiError::bad_request)?;
    Ok(secs as i128 * 1_000_000_000)
}

/// The filters `docker events` can send that this server applies: `type`, `event` (action),
/// `image` and `container` (by ID or name).
#[derive(Default, Debug)]
struct Filters {
    by_key: BTreeMap<String, Vec<String>>,
}

impl Filters {
    fn parse(raw: Option<&str>) -> Result<Filters, ApiError> {
        let mut f = Filters::default();
        for (k, v) in crate::params::parse_filters(raw)? {
            match k.as_str() {
                "type" | "event" | "image" | "container" => f.by_key.entry(k).or_default().push(v),
                _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
            }
        }
        Ok(f)
    }

    fn matches(&self, e: &engine::Event) -> bool {
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| {
            self.by_key
                .get(key)
                .is_none_or(|vs| vs.iter().any(|v| pred(v)))
        };
        let names = |v: &str| {
            e.id == v
                || e.id
                    .strip_prefix("sha256:")
                    .is_some_and(|h| h.starts_with(v.trim_start_matches("sha256:")))
                || e.attributes
                    .get("name")
                    .is_some_and(|n| n == v || n.strip_suffix(":latest") == Some(v))
                || e.attributes.get("image").is_some_and(|n| n == v)
        };
        // pull progress is the dashboard's (SSE); Docker's /events has no such type
        e.kind != "pull"
            && any("type", &|v| e.kind == v)
            && any("event", &|v| e.action == v)
            && any("image", &|v| {
                e.kind == "image" && names(v)
                    || e.kind == "container" && e.attributes.get("image").is_some_and(|i| i == v)
            })
            && any("container", &|v| {
                e.kind == "container"
                    && (e.id == v
                        || e.id.starts_with(v)
                        || e.attributes.get("name").is_some_and(|n| n == v))
            })
    }
}

/// `GET /events?since=&until=&filters=`: the replayable recent events after `since`, then
/// live ones until `until` (or the client goes away). Headers go out at once, so
/// `docker events` starts listening immediately.
pub(crate) async fn docker_events(
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let since = first(&q, "since")
        .filter(|s| !s.is_empty())
        .map(parse_time)
        .transpose()?;
    let until = first(&q, "until")
        .filter(|s| !s.is_empty())
        .map(parse_time)
        .transpose()?;
    let filters = Filters::parse(first(&q, "filters"))?;
    let hub = st.hub()?;
    let (replay, rx) = hub.subscribe();
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let mut replay: Vec<engine::Event> = match since {
        Some(s) => replay
            .into_iter()
            .filter(|e| e.time_nano >= s && until.is_none_or(|u| e.time_nano <= u))
            .collect(),
        None => Vec::new(),
    };
    // The ring holds events in arrival order, and another process's events (a monitor's
    // `die`) arrive with the relay, up to a tick after later ones of this process (the
    // `destroy` of an `rm -f`): a replay is in the order they happened, as Docker's log is.
    replay.sort_by_key(|e| e.time_nano);
    let done_now = until.is_some_and(|u| u <= now);
    let line = |e: &engine::Event| {
        Ok::<_, Infallible>(axum::body::Bytes::from(format!("{}\n", docker_message(e))))
    };
    let head: Vec<_> = replay
        .iter()
        .filter(|e| filters.matches(e))
        .map(line)
        .collect();
    let live = futures_util::StreamExt::take_until(live_stream(rx, until, done_now), st.stopped());
    let filtered = futures_util::StreamExt::filter_map(live, move |e| {
        let out = filters.matches(&e).then(|| line(&e));
        async move { out }
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(
        futures_util::stream::iter(head),
        filtered,
    ));
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// Live events from a broadcast receiver, ending at `until` (unix nanoseconds) if given.
fn live_stream(
    rx: broadcast::Receiver<engine::Event>,
    until: Option<i128>,
    done: bool,
) -> impl Stream<Item = engine::Event> + Send + 'static {
    let deadline = until.map(|u| {
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let wait = u.saturating_sub(now).max(0) as u64;
        tokio::time::Instant::now() + Duration::from_nanos(wait)
    });
    futures_util::stream::unfold((rx, done), move |(mut rx, done)| async move {
        if done {
            return None;
        }
        loop {
            let next = async {
                match deadline {
                    Some(d) => tokio::time::timeout_at(d, rx.recv()).await.ok(),
                    None => Some(rx.recv().await),
                }
            };
            match next.await {
                None => return None,
                Some(Ok(e)) => return Some((e, (rx, false))),
                Some(Err(broadcast::error::RecvError::Lagged(_))) => continue,
                Some(Err(broadcast::error::RecvError::Closed)) => return None,
            }
        }
    })
}

/// One engine event as the dashboard receives it (the `data:` of an SSE message).
fn event_dto(e: &engine::Event) -> EventDto {
    EventDto {
        kind: e.kind.clone(),
        action: e.action.clone(),
        id: e.id.clone(),
        attributes: e.attributes.clone(),
        time_nano: e.time_nano as i64,
    }
}

/// `GET /api/events`: the engine's events as Server-Sent Events (`event: <Type>`,
/// `data: <json>`), with a keep-alive comment every 15 seconds.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    responses((status = 200, description = "`text/event-stream`: `event: <Type>` and `data: <EventDto JSON>` per event; `:keep-alive` comments every 15 s", content_type = "text/event-stream", body = EventDto)),
)]
pub(crate) async fn api_events(State(st): State<AppState>) -> Result<Response, ApiError> {
    let hub = st.hub()?;
    let (_, rx) = hub.subscribe();
    let live = futures_util::StreamExt::take_until(live_stream(rx, None, false), st.stopped());
    let stream = futures_util::StreamExt::map(live, |e| {
        let data = serde_json::to_string(&event_dto(&e)).unwrap_or_default();
        Ok::<_, Infallible>(SseEvent::default().event(e.kind.clone()).data(data))
    });
    Ok(Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000_000_000);
        assert_eq!(
            parse_time("1700000000.5").unwrap(),
            1_700_000_000_500_000_000
        );
        assert_eq!(
            parse_time("1700000000.000000001").unwrap(),
            1_700_000_000_000_000_001
        );
    }

    #[test]
    fn message_is_docker_apis() {
        let e = engine::Event::new("image", "tag", "sha256:ab").with("name", "bb:2");
        let m = docker_message(&e);
        assert_eq!(m["Type"], "image");
        assert_eq!(m["Actor"]["Attributes"]["name"], "bb:2");
        assert_eq!(m["timeNano"].as_i64().unwrap() as i128, e.time_nano);
    }

    #[test]
    fn filters() {
        let e = engine::Event::new("image", "tag", "sha256:abcdef").with("name", "bb:2");
        let f = |s: &str| Filters::parse(Some(s)).unwrap().matches(&e);
        assert!(f(r#"{"type":{"image":true}}"#));
        assert!(!f(r#"{"type":{"container":true}}"#));
        assert!(f(r#"{"event":{"tag":true,"untag":true}}"#));
        assert!(!f(r#"{"event":{"untag":true}}"#));
        assert!(f(r#"{"image":{"bb:2":true}}"#));
        assert!(f(r#"{"image":{"abcd":true}}"#));
        assert!(!f(r#"{"container":{"x":true}}"#));
        assert!(Filters::parse(Some(r#"{"nope":{"x":true}}"#)).is_err());
    }
}
