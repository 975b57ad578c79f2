//! Decoded events as the contract's pydantic models (schemas/events.py), built without
//! validating them again: the instance gets the `__dict__` and `model_fields_set` that
//! `model_validate_json` would give it, and timestamps carry pydantic-core's `TzInfo`.
//!
//! The events of one batch that carry the same fields share one `model_fields_set` set
//! (pydantic copies that set before it changes it, in `model_copy`), and one `TzInfo` per
//! offset: a post costs one dict, one list of tags and the instance.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDateTime, PyDict, PySet, PyString, PyTzInfo};

use crate::decode::{Event, Field, PostEvent, Present, SnapshotEvent, FIELD_COUNT};
use crate::timestamp::Timestamp;

/// What is looked up once per interpreter: the model classes and the names of their fields.
pub struct Models {
    post: Py<PyAny>,
    snapshot: Py<PyAny>,
    new_object: Py<PyAny>,
    set_attribute: Py<PyAny>,
    tz_info: Py<PyAny>,
    names: Vec<Py<PyString>>,
    gc_disable: Py<PyAny>,
    gc_enable: Py<PyAny>,
    gc_is_enabled: Py<PyAny>,
    /// Each model's `__dict__` with its keys in field order (copied, then filled in).
    post_template: Py<PyDict>,
    snapshot_template: Py<PyDict>,
    kind_post: Py<PyString>,
    kind_snapshot: Py<PyString>,
    dict_attr: Py<PyString>,
    fields_set_attr: Py<PyString>,
    extra_attr: Py<PyString>,
    private_attr: Py<PyString>,
}

static MODELS: PyOnceLock<Models> = PyOnceLock::new();

fn load(py: Python<'_>) -> PyResult<Models> {
    let events = py.import("schemas.events")?;
    let object = py.import("builtins")?.getattr("object")?;
    let gc = py.import("gc")?;
    let names: Vec<Py<PyString>> = Field::ALL.iter().map(|f| PyString::intern(py, f.name()).unbind()).collect();
    let template = |fields: &[Field]| -> PyResult<Py<PyDict>> {
        let d = PyDict::new(py);
        for f in fields {
            d.set_item(names[*f as usize].bind(py), py.None())?;
        }
        Ok(d.unbind())
    };
    use Field::*;
    let post_template = template(&[
        SchemaVersion, Kind, PostId, Platform, AccountId, Handle, PostedAt, ObservedAt, Followers, Following, Likes, Comments,
        Shares, Views, Tags, Text,
    ])?;
    let snapshot_template = template(&[SchemaVersion, Kind, Platform, AccountId, Handle, ObservedAt, Followers, Following, PostsCount])?;
    Ok(Models {
        post: events.getattr("Post")?.unbind(),
        snapshot: events.getattr("AccountSnapshot")?.unbind(),
        new_object: object.getattr("__new__")?.unbind(),
        set_attribute: object.getattr("__setattr__")?.unbind(),
        tz_info: py.import("pydantic_core")?.getattr("TzInfo")?.unbind(),
        names,
        gc_disable: gc.getattr("disable")?.unbind(),
        gc_enable: gc.getattr("enable")?.unbind(),
        gc_is_enabled: gc.getattr("isenabled")?.unbind(),
        post_template,
        snapshot_template,
        kind_post: PyString::intern(py, "post").unbind(),
        kind_snapshot: PyString::intern(py, "snapshot").unbind(),
        dict_attr: PyString::intern(py, "__dict__").unbind(),
        fields_set_attr: PyString::intern(py, "__pydantic_fields_set__").unbind(),
        extra_attr: PyString::intern(py, "__pydantic_extra__").unbind(),
        private_attr: PyString::intern(py, "__pydantic_private__").unbind(),
    })
}

/// Builds the models of one batch (time zones are shared within it).
pub struct Builder<'py> {
    py: Python<'py>,
    models: &'py Models,
    zones: HashMap<i32, Bound<'py, PyTzInfo>>,
    fields_sets: HashMap<Present, Bound<'py, PySet>>,
}

/// The cyclic collector paused while a batch's events are built (none of them can be part
/// of a cycle), and resumed as it was, also when building fails.
pub struct CollectorPause<'py> {
    py: Python<'py>,
    resume: bool,
}

impl<'py> CollectorPause<'py> {
    pub fn new(py: Python<'py>) -> PyResult<Self> {
        let m = MODELS.get_or_try_init(py, || load(py))?;
        let resume = m.gc_is_enabled.bind(py).call0()?.is_truthy()?;
        if resume {
            m.gc_disable.bind(py).call0()?;
        }
        Ok(CollectorPause { py, resume })
    }
}

impl Drop for CollectorPause<'_> {
    fn drop(&mut self) {
        if let (true, Some(m)) = (self.resume, MODELS.get(self.py)) {
            // Re-enabling the collector does not fail; if it did, the error stays pending.
            let _ = m.gc_enable.bind(self.py).call0();
        }
    }
}

impl<'py> Builder<'py> {
    pub fn new(py: Python<'py>) -> PyResult<Self> {
        let models = MODELS.get_or_try_init(py, || load(py))?;
        Ok(Builder { py, models, zones: HashMap::new(), fields_sets: HashMap::new() })
    }

    pub fn event(&mut self, event: &Event) -> PyResult<Bound<'py, PyAny>> {
        match event {
            Event::Post(p) => self.post(p),
            Event::Snapshot(s) => self.snapshot(s),
        }
    }

    fn name(&self, field: Field) -> &Bound<'py, PyString> {
        self.models.names[field as usize].bind(self.py)
    }

    fn zone(&mut self, offset_s: i32) -> PyResult<Bound<'py, PyTzInfo>> {
        if let Some(z) = self.zones.get(&offset_s) {
            return Ok(z.clone());
        }
        let z = self.models.tz_info.bind(self.py).call1((offset_s,))?.cast_into::<PyTzInfo>()?;
        self.zones.insert(offset_s, z.clone());
        Ok(z)
    }

    fn datetime(&mut self, t: &Timestamp) -> PyResult<Bound<'py, PyDateTime>> {
        let zone = self.zone(t.offset_s)?;
        PyDateTime::new(self.py, i32::from(t.year), t.month, t.day, t.hour, t.minute, t.second, t.microsecond, Some(&zone))
    }

    fn post(&mut self, p: &PostEvent) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let d = self.models.post_template.bind(py).copy()?;
        d.set_item(self.name(Field::SchemaVersion), 1)?;
        d.set_item(self.name(Field::Kind), self.models.kind_post.bind(py))?;
        d.set_item(self.name(Field::PostId), &p.post_id)?;
        d.set_item(self.name(Field::Platform), &p.platform)?;
        d.set_item(self.name(Field::AccountId), &p.account_id)?;
        d.set_item(self.name(Field::Handle), &p.handle)?;
        let (posted_at, observed_at) = (self.datetime(&p.posted_at)?, self.datetime(&p.observed_at)?);
        d.set_item(self.name(Field::PostedAt), posted_at)?;
        d.set_item(self.name(Field::ObservedAt), observed_at)?;
        d.set_item(self.name(Field::Followers), p.followers)?;
        d.set_item(self.name(Field::Following), p.following)?;
        d.set_item(self.name(Field::Likes), p.likes)?;
        d.set_item(self.name(Field::Comments), p.comments)?;
        d.set_item(self.name(Field::Shares), p.shares)?;
        d.set_item(self.name(Field::Views), p.views)?;
        d.set_item(self.name(Field::Tags), &p.tags)?;
        d.set_item(self.name(Field::Text), &p.text)?;
        self.instance(self.models.post.bind(py), d, p.present)
    }

    fn snapshot(&mut self, s: &SnapshotEvent) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let d = self.models.snapshot_template.bind(py).copy()?;
        d.set_item(self.name(Field::SchemaVersion), 1)?;
        d.set_item(self.name(Field::Kind), self.models.kind_snapshot.bind(py))?;
        d.set_item(self.name(Field::Platform), &s.platform)?;
        d.set_item(self.name(Field::AccountId), &s.account_id)?;
        d.set_item(self.name(Field::Handle), &s.handle)?;
        let observed_at = self.datetime(&s.observed_at)?;
        d.set_item(self.name(Field::ObservedAt), observed_at)?;
        d.set_item(self.name(Field::Followers), s.followers)?;
        d.set_item(self.name(Field::Following), s.following)?;
        d.set_item(self.name(Field::PostsCount), s.posts_count)?;
        self.instance(self.models.snapshot.bind(py), d, s.present)
    }

    /// `object.__new__(cls)` with the state pydantic keeps on a model instance.
    fn fields_set(&mut self, present: Present) -> PyResult<Bound<'py, PySet>> {
        if let Some(set) = self.fields_sets.get(&present) {
            return Ok(set.clone());
        }
        let py = self.py;
        let set = PySet::empty(py)?;
        for (i, name) in self.models.names.iter().enumerate().take(FIELD_COUNT) {
            if present & (1 << i) != 0 {
                set.add(name.bind(py))?;
            }
        }
        self.fields_sets.insert(present, set.clone());
        Ok(set)
    }

    fn instance(&mut self, cls: &Bound<'py, PyAny>, fields: Bound<'py, PyDict>, present: Present) -> PyResult<Bound<'py, PyAny>> {
        let fields_set = self.fields_set(present)?;
        let py = self.py;
        let m = self.models;
        let instance = m.new_object.bind(py).call1((cls,))?;
        let set = m.set_attribute.bind(py);
        set.call1((&instance, m.dict_attr.bind(py), fields))?;
        set.call1((&instance, m.fields_set_attr.bind(py), fields_set))?;
        set.call1((&instance, m.extra_attr.bind(py), py.None()))?;
        set.call1((&instance, m.private_attr.bind(py), py.None()))?;
        Ok(instance)
    }
}
