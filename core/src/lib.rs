//! `streams._native`: nichewatch's native core, seen from Python.
//!
//! The face is small on purpose: one call per fetched batch of a partition. Behind it,
//! a module per concern: `json` (strict RFC 8259 reading), `timestamp` (RFC 3339),
//! `decode` (the input contract and its dead-letter reasons), `pyevents` (the decoded
//! events as the contract's pydantic models), `pyrepr` (Python's repr for reasons).

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

pub mod decode;
pub mod engine;
pub mod json;
mod printable;
mod pyengine;
mod pyevents;
pub mod pyrepr;
pub mod timestamp;

pub(crate) fn wall_clock_us(now: Option<f64>) -> i64 {
    let seconds = now.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()));
    (seconds * 1e6).round() as i64
}

/// Decode a batch of `posts.raw` / `accounts.snapshots` values (`None` for a tombstone).
///
/// Returns `(events, dead_letters)`: `events[i]` is the `Post` or `AccountSnapshot` of
/// `values[i]`, or `None` when it was refused; `dead_letters` holds `(i, reason,
/// reason_class)` for each refused value, in order. `now` is the wall clock (epoch
/// seconds) the "not more than a day ahead" rule reads; the current time when omitted.
#[pyfunction]
#[pyo3(signature = (values, now=None))]
fn decode_batch<'py>(py: Python<'py>, values: &Bound<'py, PyAny>, now: Option<f64>) -> PyResult<Bound<'py, PyTuple>> {
    let now_us = wall_clock_us(now);
    let mut builder = pyevents::Builder::new(py)?;
    let _paused = pyevents::CollectorPause::new(py)?;
    let events = PyList::empty(py);
    let dead = PyList::empty(py);
    for (i, item) in values.try_iter()?.enumerate() {
        let item = item?;
        let raw = if item.is_none() { None } else { Some(item.cast::<PyBytes>()?.as_bytes()) };
        match decode::decode(raw, now_us) {
            Ok(event) => events.append(builder.event(&event)?)?,
            Err(rejected) => {
                events.append(py.None())?;
                dead.append((i, rejected.reason, rejected.class.as_str()))?;
            }
        }
    }
    PyTuple::new(py, [events.into_any(), dead.into_any()])
}

/// Check a batch against the contract without building the events: the dead letters
/// `(i, reason, reason_class)` that `decode_batch` would give.
#[pyfunction]
#[pyo3(signature = (values, now=None))]
fn validate_batch<'py>(py: Python<'py>, values: &Bound<'py, PyAny>, now: Option<f64>) -> PyResult<Bound<'py, PyList>> {
    let now_us = wall_clock_us(now);
    let dead = PyList::empty(py);
    for (i, item) in values.try_iter()?.enumerate() {
        let item = item?;
        let raw = if item.is_none() { None } else { Some(item.cast::<PyBytes>()?.as_bytes()) };
        if let Err(rejected) = decode::decode(raw, now_us) {
            dead.append((i, rejected.reason, rejected.class.as_str()))?;
        }
    }
    Ok(dead)
}

/// An account state in either format (compact, or the JSON of format 1) as format 1
/// JSON, what `streams.core.state.AccountState.from_bytes` reads.
#[pyfunction]
fn state_as_json<'py>(py: Python<'py>, raw: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let config = engine::config::EngineConfig::default();
    let state = engine::state::AccountState::from_bytes(raw, &config)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.0))?;
    Ok(PyBytes::new(py, &state.to_json_bytes()))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(validate_batch, m)?)?;
    m.add_class::<pyengine::NativeEngine>()?;
    m.add_function(wrap_pyfunction!(state_as_json, m)?)?;
    m.add("MAX_PAYLOAD_BYTES", decode::MAX_PAYLOAD_BYTES)?;
    Ok(())
}
