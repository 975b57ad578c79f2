//! The native engine seen from Python: `streams._native.NativeEngine`.
//!
//! One call per fetched batch: `process_batch(values)` decodes every record against the
//! contract, applies the events in order and returns the encoded outputs and the dead
//! letters. State is read and written as the Python engine's JSON state format.

use std::io::Write;

use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::decode;
use crate::engine::config::{EngineConfig, Tier, TierBounds};
use crate::engine::output::Output;
use crate::engine::scoring::CohortBook;
use crate::engine::state::AccountState;
use crate::engine::batch::{process_records, RawRecord};
use crate::engine::Engine;

/// What settling an account gives: its re-published profile and its state to write back.
type Settled<'py> = (Option<Bound<'py, PyTuple>>, Option<Bound<'py, PyBytes>>);

/// A record's key and value as Python holds them.
type HeldRecord<'py> = (Option<Bound<'py, PyBytes>>, Option<Bound<'py, PyBytes>>);

#[pyclass(module = "streams._native", unsendable)]
pub struct NativeEngine {
    engine: Engine,
    /// The input partition each account was last processed from (`forget_partitions`).
    partition_of: std::collections::HashMap<String, i32>,
}

fn tier_table(value: &Bound<'_, PyAny>, name: &str) -> PyResult<[f64; 5]> {
    let table = value.cast::<PyDict>().map_err(|_| PyTypeError::new_err(format!("{name} must be a dict by tier")))?;
    let mut out = [0.0; 5];
    for tier in Tier::ALL {
        let item = table
            .get_item(tier.as_str())?
            .ok_or_else(|| PyValueError::new_err(format!("{name} has no value for tier {:?}", tier.as_str())))?;
        out[tier.index()] = item.extract()?;
    }
    Ok(out)
}

/// An `EngineConfig` from `dataclasses.asdict(streams.core.config.EngineConfig(...))`.
fn config_from(fields: &Bound<'_, PyDict>) -> PyResult<EngineConfig> {
    let mut c = EngineConfig::default();
    for (key, value) in fields.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "allowed_lateness_s" => c.allowed_lateness_s = value.extract()?,
            "reorder_delay_s" => c.reorder_delay_s = value.extract()?,
            "max_buffered_observations" => c.max_buffered_observations = value.extract()?,
            "hourly_buckets_kept" => c.hourly_buckets_kept = value.extract()?,
            "daily_buckets_kept" => c.daily_buckets_kept = value.extract()?,
            "max_posts_tracked" => c.max_posts_tracked = value.extract()?,
            "post_max_age_s" => c.post_max_age_s = value.extract()?,
            "short_window_s" => c.short_window_s = value.extract()?,
            "long_window_s" => c.long_window_s = value.extract()?,
            "sigma_k" => c.sigma_k = value.extract()?,
            "short_min_relative" => c.short_min_relative = value.extract()?,
            "long_min_relative" => c.long_min_relative = value.extract()?,
            "min_excess_followers" => c.min_excess_followers = value.extract()?,
            "min_baseline_rates" => c.min_baseline_rates = value.extract()?,
            "prior_sigma_relative_per_hour" => c.prior_sigma_relative_per_hour = value.extract()?,
            "episode_cooldown_s" => c.episode_cooldown_s = value.extract()?,
            "viral_multiple" => c.viral_multiple = value.extract()?,
            "viral_min_interactions" => c.viral_min_interactions = value.extract()?,
            "viral_lookback_s" => c.viral_lookback_s = value.extract()?,
            "conversion_prior" => c.conversion_prior = tier_table(&value, &key)?,
            "conversion_prior_weight" => c.conversion_prior_weight = value.extract()?,
            "conversion_window_s" => c.conversion_window_s = value.extract()?,
            "good_post_multiple" => c.good_post_multiple = value.extract()?,
            "explained_tolerance" => c.explained_tolerance = value.extract()?,
            "post_maturity_s" => c.post_maturity_s = value.extract()?,
            "classification_hold_s" => c.classification_hold_s = value.extract()?,
            "unobserved_gap_s" => c.unobserved_gap_s = value.extract()?,
            "audience_hold_s" => c.audience_hold_s = value.extract()?,
            "audience_log_odds" => c.audience_log_odds = value.extract()?,
            "newcomer_engagement" => c.newcomer_engagement = value.extract()?,
            "tiers" => {
                let t = value.cast::<PyDict>().map_err(|_| PyTypeError::new_err("tiers must be a dict"))?;
                let bound = |name: &str| -> PyResult<i64> {
                    t.get_item(name)?.ok_or_else(|| PyValueError::new_err(format!("tiers has no {name}")))?.extract()
                };
                c.tiers = TierBounds {
                    micro_from: bound("micro_from")?,
                    mid_from: bound("mid_from")?,
                    macro_from: bound("macro_from")?,
                    mega_from: bound("mega_from")?,
                };
            }
            "typical_engagement" => c.typical_engagement = tier_table(&value, &key)?,
            "cohort_prior_weight" => c.cohort_prior_weight = value.extract()?,
            "min_posts_for_profile" => c.min_posts_for_profile = value.extract()?,
            "material_score_change" => c.material_score_change = value.extract()?,
            "weight_engagement" => c.weight_engagement = value.extract()?,
            "weight_niche_focus" => c.weight_niche_focus = value.extract()?,
            "weight_consistency" => c.weight_consistency = value.extract()?,
            "weight_authenticity" => c.weight_authenticity = value.extract()?,
            "suspicion_memory_s" => c.suspicion_memory_s = value.extract()?,
            other => return Err(PyValueError::new_err(format!("unknown engine setting {other:?}"))),
        }
    }
    Ok(c)
}

fn encoded<'py>(py: Python<'py>, outputs: &[Output]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for output in outputs {
        list.append(PyBytes::new(py, &output.to_json_bytes()))?;
    }
    Ok(list)
}

/// An output as `process_records` describes it: `("alert", key, value, classification,
/// niches, detected_at)` or `("profile", key, value, primary_niche, tier,
/// median_engagement_rate)`, the fields the worker's metrics read beside the encoded value.
fn described<'py>(py: Python<'py>, output: &Output) -> PyResult<Bound<'py, PyTuple>> {
    let value = PyBytes::new(py, &output.to_json_bytes());
    match output {
        Output::Alert(a) => (
            "alert",
            PyBytes::new(py, a.account_id.as_bytes()),
            value,
            a.classification.as_str(),
            a.niches.clone(),
            a.detected_at,
        )
            .into_pyobject(py),
        Output::Profile(p) => (
            "profile",
            PyBytes::new(py, p.account_id.as_bytes()),
            value,
            p.primary_niche.clone(),
            p.tier.as_str(),
            p.median_engagement_rate,
        )
            .into_pyobject(py),
    }
}

/// `,"name":value` appended to a JSON object being written, with serde_json's escaping
/// and number format (the bytes `serde_json::json!` gives).
macro_rules! json_field {
    ($out:expr, $name:literal, $value:expr) => {{
        let out: &mut Vec<u8> = $out;
        out.extend_from_slice(concat!(",\"", $name, "\":").as_bytes());
        serde_json::to_writer(&mut *out, $value).map_err(|e| PyValueError::new_err(e.to_string()))
    }};
}

#[pymethods]
impl NativeEngine {
    /// `config`: `dataclasses.asdict(EngineConfig(...))` (defaults when omitted);
    /// `niches`: `(name, tags)` pairs.
    #[new]
    #[pyo3(signature = (config=None, niches=Vec::new(), record_mentions=true))]
    fn new(config: Option<&Bound<'_, PyDict>>, niches: Vec<(String, Vec<String>)>, record_mentions: bool) -> PyResult<Self> {
        let config = match config {
            Some(fields) => config_from(fields)?,
            None => EngineConfig::default(),
        };
        let mut engine = Engine::new(config);
        engine.record_mentions = record_mentions;
        for (name, tags) in niches {
            engine.matcher.set_niche(&name, &tags);
        }
        Ok(NativeEngine { engine, partition_of: std::collections::HashMap::new() })
    }

    /// Decode and apply a batch of `posts.raw` / `accounts.snapshots` values in order.
    ///
    /// Returns `(outputs, dead_letters)`: the encoded alerts and profiles (contract
    /// JSON, in the order they were raised) and `(i, reason, reason_class)` per refused value.
    #[pyo3(signature = (values, now=None))]
    fn process_batch<'py>(
        &mut self,
        py: Python<'py>,
        values: &Bound<'py, PyAny>,
        now: Option<f64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let now_us = crate::wall_clock_us(now);
        let dead = PyList::empty(py);
        let mut outputs = Vec::new();
        for (i, item) in values.try_iter()?.enumerate() {
            let item = item?;
            let raw = if item.is_none() { None } else { Some(item.cast::<PyBytes>()?.as_bytes()) };
            match decode::decode(raw, now_us) {
                Ok(event) => self.engine.process(&event, &mut outputs),
                Err(rejected) => dead.append((i, rejected.reason, rejected.class.as_str()))?,
            }
        }
        PyTuple::new(py, [encoded(py, &outputs)?.into_any(), dead.into_any()])
    }

    /// One fetched batch of a partition of the input topics, as the worker sees it
    /// (crate::engine::batch): `records` are `(key, value)` pairs or objects with `key`
    /// and `value` attributes (aiokafka's ConsumerRecord); `load(account_id)` gives
    /// the table's state of an account the engine does not hold (bytes in either state
    /// format, or None); `wall` is the clock for latencies (now when omitted).
    ///
    /// Returns `(outputs, dead_letters, rekeyed, counts, post_latencies,
    /// snapshot_latencies, changed, bad_states)`: outputs are `("alert", key, value,
    /// classification, niches, detected_at)` or `("profile", key, value, primary_niche,
    /// tier, median_engagement_rate)`; rekeyed `(position, account_id)`; counts
    /// `(platform, niche, outcome, events)`; changed `(key, compact state)` of every
    /// account written; bad_states `(account_id, reason)` of table entries that were not
    /// a state (the account starts afresh).
    #[pyo3(signature = (records, partition=0, now=None, wall=None, load=None))]
    fn process_records<'py>(
        &mut self,
        py: Python<'py>,
        records: &Bound<'py, PyAny>,
        partition: i32,
        now: Option<f64>,
        wall: Option<f64>,
        load: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let now_us = crate::wall_clock_us(now);
        let wall = wall.unwrap_or(now_us as f64 / 1e6);
        let (key_name, value_name) = (pyo3::intern!(py, "key"), pyo3::intern!(py, "value"));
        let mut held: Vec<HeldRecord<'py>> = Vec::new();
        for item in records.try_iter()? {
            let item = item?;
            // A (key, value) pair, or a consumed record as aiokafka hands it over.
            let pair: HeldRecord<'py> = match item.cast::<PyTuple>() {
                Ok(pair) => pair.extract()?,
                Err(_) => (item.getattr(key_name)?.extract()?, item.getattr(value_name)?.extract()?),
            };
            held.push(pair);
        }
        let raw: Vec<RawRecord<'_>> =
            held.iter().map(|(k, v)| (k.as_ref().map(|b| b.as_bytes()), v.as_ref().map(|b| b.as_bytes()))).collect();
        let mut bad_states: Vec<(String, String)> = Vec::new();
        let mut failure: Option<PyErr> = None;
        let config = self.engine.config.clone();
        let mut loaded: Vec<String> = Vec::new(); // held from now on: forgotten with their partition
        let mut loader = |account_id: &str| -> Option<AccountState> {
            let load = load?;
            match load.call1((account_id,)) {
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
                Ok(found) if found.is_none() => None,
                Ok(found) => match found.cast::<PyBytes>() {
                    Err(_) => {
                        bad_states.push((account_id.to_owned(), "table entry is not bytes".into()));
                        None
                    }
                    Ok(bytes) => match AccountState::from_bytes(bytes.as_bytes(), &config) {
                        Ok(state) if state.account_id == account_id => {
                            loaded.push(state.account_id.clone());
                            Some(state)
                        }
                        Ok(state) => {
                            bad_states.push((account_id.to_owned(), format!("state of another account ({:?})", state.account_id)));
                            None
                        }
                        Err(e) => {
                            bad_states.push((account_id.to_owned(), e.0));
                            None
                        }
                    },
                },
            }
        };
        let outcome = process_records(&mut self.engine, &raw, now_us, wall, &mut loader);
        if let Some(e) = failure {
            return Err(e);
        }
        let outputs = PyList::empty(py);
        for output in &outcome.outputs {
            outputs.append(described(py, output)?)?;
        }
        let dead = PyList::empty(py);
        for (i, reason, class) in &outcome.dead_letters {
            dead.append((*i, reason, *class))?;
        }
        let counts = PyList::empty(py);
        for ((platform, niche, kind), n) in &outcome.counts {
            counts.append((platform, niche, kind.as_str(), *n))?;
        }
        for account_id in loaded {
            self.partition_of.insert(account_id, partition);
        }
        let changed = PyList::empty(py);
        for account_id in &outcome.changed {
            self.partition_of.insert(account_id.clone(), partition);
            if let Some(state) = self.engine.store.get(account_id) {
                changed.append((PyBytes::new(py, account_id.as_bytes()), PyBytes::new(py, &state.to_compact())))?;
            }
        }
        let parts: [Bound<'py, PyAny>; 8] = [
            outputs.into_any(),
            dead.into_any(),
            PyList::new(py, &outcome.rekeyed)?.into_any(),
            counts.into_any(),
            PyList::new(py, &outcome.post_latencies)?.into_any(),
            PyList::new(py, &outcome.snapshot_latencies)?.into_any(),
            changed.into_any(),
            PyList::new(py, &bad_states)?.into_any(),
        ];
        PyTuple::new(py, parts)
    }

    /// Note the mentions in a batch of input values (any partition's): records without
    /// an `@` are not decoded, refused ones are the accounts agent's to dead-letter.
    /// Returns how many posts were read.
    fn record_mentions(&mut self, values: &Bound<'_, PyAny>) -> PyResult<usize> {
        let now_us = crate::wall_clock_us(None);
        let mut read = 0;
        for item in values.try_iter()? {
            let item = item?;
            if item.is_none() {
                continue;
            }
            let raw = item.cast::<PyBytes>()?.as_bytes();
            if !raw.contains(&b'@') {
                continue;
            }
            if let Ok(decode::Event::Post(post)) = decode::decode(Some(raw), now_us) {
                if post.text.is_some() {
                    self.engine.mentions.record(
                        &post.account_id,
                        post.text.as_deref(),
                        post.posted_at.epoch_us as f64 / 1e6,
                        post.followers,
                        Some(post.observed_at.epoch_us as f64 / 1e6),
                    );
                    read += 1;
                }
            }
        }
        Ok(read)
    }

    /// The mentions the book keeps of a handle: (by_account, posted ts, by_followers, first seen ts).
    fn mentions_of(&self, handle: &str) -> Vec<(String, i64, i64, i64)> {
        self.engine.mentions.mentions_of(handle).iter().map(|m| (m.by_account.clone(), m.ts, m.by_followers, m.seen_ts)).collect()
    }

    /// Queue new posts' tag observations from now on (`take_tag_observations`).
    fn share_tags(&mut self) {
        self.engine.tag_outbox.get_or_insert_with(Vec::new);
    }

    /// The queued tag observations, oldest first, each encoded as a
    /// `schemas.cluster.TagObservation` record (what a `TagObservations` record lists).
    fn take_tag_observation_parts<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        if let Some(outbox) = self.engine.tag_outbox.as_mut() {
            let mut part = Vec::with_capacity(256);
            for o in outbox.drain(..) {
                part.clear();
                write!(part, "{{\"schema_version\":{},\"kind\":\"tag_observation\"", crate::engine::output::SCHEMA_VERSION)?;
                json_field!(&mut part, "post_id", &o.post_id)?;
                json_field!(&mut part, "account_id", &o.account_id)?;
                json_field!(&mut part, "tags", &o.tags)?;
                json_field!(&mut part, "niches", &o.niches)?;
                json_field!(&mut part, "followers", &o.followers)?;
                json_field!(&mut part, "rate", &o.rate)?;
                json_field!(&mut part, "weight", &o.weight)?;
                json_field!(&mut part, "ts", &o.ts)?;
                part.push(b'}');
                list.append(PyBytes::new(py, &part))?;
            }
        }
        Ok(list)
    }

    fn take_tag_observations<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        if let Some(outbox) = self.engine.tag_outbox.as_mut() {
            for o in outbox.drain(..) {
                list.append((o.post_id, o.tags, o.niches, o.account_id, o.followers, o.rate, o.weight, o.ts))?;
            }
        }
        Ok(list)
    }

    /// Cohorts shared by a cluster from now on (streams/core/cohorts.py `ClusterCohorts`):
    /// percentiles come from the summaries given to `set_cohort_summary`, and an account
    /// moving between bins queues a contribution (`take_cohort_contributions`) instead of
    /// changing the histograms. The histograms held so far are dropped.
    fn cluster_cohorts(&mut self) {
        self.engine.cohorts = CohortBook::cluster();
    }

    /// The queued cohort contributions, oldest first: `(niche, account_id, tier, bin,
    /// version)`, tier and bin None when the account left the niche.
    fn take_cohort_contributions<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for c in self.engine.cohorts.take_outbox() {
            list.append((c.niche, c.account_id, c.tier.map(Tier::as_str), c.bin, c.version))?;
        }
        Ok(list)
    }

    /// `take_cohort_contributions`, each as `(key, value)` of a niches.cohort-contributions
    /// record: the niche, and the `schemas.cluster.CohortContribution` as its JSON.
    fn take_cohort_contribution_records<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        let mut value = Vec::with_capacity(160);
        for c in self.engine.cohorts.take_outbox() {
            value.clear();
            write!(value, "{{\"schema_version\":{},\"kind\":\"cohort_contribution\"", crate::engine::output::SCHEMA_VERSION)?;
            json_field!(&mut value, "niche", &c.niche)?;
            json_field!(&mut value, "account_id", &c.account_id)?;
            json_field!(&mut value, "tier", &c.tier.map(Tier::as_str))?;
            json_field!(&mut value, "bin", &c.bin)?;
            json_field!(&mut value, "version", &c.version)?;
            value.push(b'}');
            list.append((PyBytes::new(py, c.niche.as_bytes()), PyBytes::new(py, &value)))?;
        }
        Ok(list)
    }

    /// Replace a niche's histograms with the cluster's summary: `{tier: [counts by bin]}`.
    fn set_cohort_summary(&mut self, niche: &str, tiers: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut parsed = Vec::with_capacity(tiers.len());
        for (tier, counts) in tiers.iter() {
            let name: String = tier.extract()?;
            let tier = Tier::parse(&name).ok_or_else(|| PyValueError::new_err(format!("unknown tier {name:?}")))?;
            parsed.push((tier, counts.extract::<Vec<i64>>()?));
        }
        self.engine.cohorts.set_summary(niche, parsed);
        Ok(())
    }

    fn remove_cohort_niche(&mut self, niche: &str) {
        self.engine.cohorts.remove_niche(niche);
    }

    /// Every cohort histogram as `(niche, tier, counts)`, in the order it entered the book.
    fn cohort_histograms(&self) -> Vec<(String, &'static str, Vec<i64>)> {
        self.engine.cohorts.histograms().into_iter().map(|((niche, tier), counts)| (niche, tier.as_str(), counts)).collect()
    }

    /// Whether the engine holds the account's state.
    fn holds(&self, account_id: &str) -> bool {
        self.engine.store.contains_key(account_id)
    }

    /// Forget the accounts of partitions this worker no longer owns: their state is the
    /// next owner's, and read back from the table if they come back.
    fn forget_partitions(&mut self, partitions: Vec<i32>) -> usize {
        let gone: Vec<String> =
            self.partition_of.iter().filter(|(_, p)| partitions.contains(p)).map(|(a, _)| a.clone()).collect();
        for id in &gone {
            self.partition_of.remove(id);
            self.engine.store.remove(id);
        }
        gone.len()
    }

    /// Apply every buffered observation (end of a replay).
    fn flush<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut outputs = Vec::new();
        self.engine.flush(&mut outputs);
        encoded(py, &outputs)
    }

    /// Rescore an account against the cohorts as they are now; its profile if it moved.
    fn settle<'py>(&mut self, py: Python<'py>, account_id: &str, threshold: f64) -> Option<Bound<'py, PyBytes>> {
        let profile = self.engine.settle(account_id, threshold)?;
        Some(PyBytes::new(py, &Output::Profile(profile).to_json_bytes()))
    }

    /// `settle` as the worker needs it: `(output, state)` where output is the re-published
    /// profile as `process_records` describes outputs (or None), and state the compact
    /// state to write back when what is persisted of it changed (the profile, the last
    /// published score or the cohort entry; streams/core/engine.py `Engine.settle`), else None.
    fn settle_account<'py>(
        &mut self,
        py: Python<'py>,
        account_id: &str,
        threshold: f64,
    ) -> PyResult<Settled<'py>> {
        let Some(before) = self.engine.store.get(account_id).map(|s| (s.cohort_entry.clone(), s.last_profile.clone()))
        else {
            return Ok((None, None));
        };
        let profile = self.engine.settle(account_id, threshold).map(Output::Profile);
        let state = self.engine.store.get(account_id);
        let moved = state.is_some_and(|s| (s.cohort_entry.clone(), s.last_profile.clone()) != before);
        let compact = match state {
            Some(s) if profile.is_some() || moved => Some(PyBytes::new(py, &s.to_compact())),
            _ => None,
        };
        Ok((profile.as_ref().map(|p| described(py, p)).transpose()?, compact))
    }

    /// The account's state in the JSON format of the Python engine (format 1), or None.
    fn state<'py>(&self, py: Python<'py>, account_id: &str) -> Option<Bound<'py, PyBytes>> {
        self.engine.store.get(account_id).map(|s| PyBytes::new(py, &s.to_json_bytes()))
    }

    /// The account's state in the compact format (format 2), or None.
    fn compact_state<'py>(&self, py: Python<'py>, account_id: &str) -> Option<Bound<'py, PyBytes>> {
        self.engine.store.get(account_id).map(|s| PyBytes::new(py, &s.to_compact()))
    }

    /// Take over an account's state (either format); with `partition`, the account is
    /// forgotten with that partition (`forget_partitions`); with `account_id`, a state of
    /// another account is refused (ValueError) and nothing is loaded.
    #[pyo3(signature = (raw, partition=None, account_id=None))]
    fn load_state(&mut self, raw: &[u8], partition: Option<i32>, account_id: Option<&str>) -> PyResult<()> {
        let state = AccountState::from_bytes(raw, &self.engine.config).map_err(|e| PyValueError::new_err(e.0))?;
        if let Some(expected) = account_id {
            if state.account_id != expected {
                return Err(PyValueError::new_err(format!("state of another account ({:?})", state.account_id)));
            }
        }
        if let Some(partition) = partition {
            self.partition_of.insert(state.account_id.clone(), partition);
        }
        self.engine.store.insert(state.account_id.clone(), state);
        Ok(())
    }

    fn forget(&mut self, account_id: &str) -> PyResult<()> {
        self.partition_of.remove(account_id);
        self.engine.store.remove(account_id).map(|_| ()).ok_or_else(|| PyKeyError::new_err(account_id.to_owned()))
    }

    fn accounts(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.engine.store.keys().cloned().collect();
        ids.sort();
        ids
    }

    fn __len__(&self) -> usize {
        self.engine.store.len()
    }

    fn set_niche(&mut self, name: &str, tags: Vec<String>) {
        self.engine.matcher.set_niche(name, &tags);
    }

    fn remove_niche(&mut self, name: &str) -> bool {
        self.engine.matcher.remove_niche(name)
    }

    /// The normalised tags of a niche (empty for an unknown one).
    fn niche_tags(&self, name: &str) -> Vec<String> {
        self.engine.matcher.tags_of(name).iter().cloned().collect()
    }

    #[getter]
    fn niche_names(&self) -> Vec<String> {
        self.engine.matcher.niche_names()
    }

    /// The engine's counters, as `streams.core.engine.EngineStats` names them.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.engine.stats;
        let d = PyDict::new(py);
        d.set_item("events", s.events)?;
        d.set_item("posts", s.posts)?;
        d.set_item("snapshots", s.snapshots)?;
        d.set_item("late_dropped", s.late_dropped)?;
        let alerts = PyDict::new(py);
        alerts.set_item("suspected_purchase", s.suspected_purchase)?;
        alerts.set_item("organic_breakout", s.organic_breakout)?;
        d.set_item("alerts", alerts)?;
        d.set_item("profiles", s.profiles)?;
        Ok(d)
    }
}
