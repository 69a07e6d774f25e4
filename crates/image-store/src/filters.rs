//! moby's filter arguments: a key maps to a set of values.

use crate::errors::StoreError;
use std::collections::{BTreeMap, BTreeSet};

/// `key=value` filters grouped by key; repeated values count once.
#[derive(Debug, Default)]
pub(crate) struct Filters<'a> {
    /// Keys in the order first given (errors name the first bad one).
    order: Vec<&'a str>,
    fields: BTreeMap<&'a str, BTreeSet<&'a str>>,
}

impl<'a> Filters<'a> {
    /// Groups `pairs` by key.
    pub(crate) fn new<I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Filters<'a> {
        let mut f = Filters::default();
        for (k, v) in pairs {
            if !f.fields.contains_key(k) {
                f.order.push(k);
            }
            f.fields.entry(k).or_default().insert(v);
        }
        f
    }

    /// Fails with `invalid filter '<key>'` for the first key not in `accepted`.
    pub(crate) fn validate(&self, accepted: &[&str]) -> Result<(), StoreError> {
        match self.order.iter().find(|k| !accepted.contains(k)) {
            Some(k) => Err(StoreError::invalid_filter(k, None)),
            None => Ok(()),
        }
    }

    /// True when the key was given.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    /// The values of `key`, sorted.
    pub(crate) fn values(&self, key: &str) -> impl Iterator<Item = &'a str> + '_ {
        self.fields.get(key).into_iter().flatten().copied()
    }

    /// moby's `GetBoolOrDefault`: `true`/`1` or `false`/`0`; none of them, or both, is an error.
    pub(crate) fn bool_or(&self, key: &str, default: bool) -> Result<bool, StoreError> {
        let values: Vec<&str> = self.values(key).collect();
        if !self.contains(key) {
            return Ok(default);
        }
        Ok(filter_bool(key, &values)?.unwrap_or(default))
    }

    /// moby's `MatchKVList`: every `k` or `k=v` value of `key` holds in `labels`
    /// (true when the key was not given).
    pub(crate) fn match_kv(&self, key: &str, labels: &BTreeMap<String, String>) -> bool {
        let Some(values) = self.fields.get(key) else {
            return true;
        };
        if labels.is_empty() {
            return false;
        }
        values.iter().all(|value| match value.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(*value),
        })
    }
}

/// moby's `GetBoolOrDefault` for the values of one boolean filter (`dangling`,
/// `is-official`, …): `None` when none is given, `true`/`1` or `false`/`0` (not both), else
/// `invalid filter 'key=[values]'`. Every boolean filter of every front door is read with it.
pub fn filter_bool(key: &str, values: &[&str]) -> Result<Option<bool>, StoreError> {
    if values.is_empty() {
        return Ok(None);
    }
    let is_true = values.iter().any(|v| matches!(*v, "true" | "1"));
    let is_false = values.iter().any(|v| matches!(*v, "false" | "0"));
    if is_true == is_false {
        return Err(StoreError::invalid_filter(key, Some(values)));
    }
    Ok(Some(is_true))
}
