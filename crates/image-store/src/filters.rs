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
        let Some(values) = self.fields.get(key) else {
            return Ok(default);
        };
        let is_true = values.contains("true") || values.contains("1");
        let is_false = values.contains("false") || values.contains("0");
        if is_true == is_false {
            let v: Vec<&str> = values.iter().copied().collect();
            return Err(StoreError::invalid_filter(key, Some(&v)));
        }
        Ok(is_true)
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
