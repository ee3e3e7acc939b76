//! `libcce.Event`: one event as a lazy, read-only mapping over the core's event.
//!
//! A CTI event wraps [`cce::api::EventOut`]: `ev["AgentState"]` reads one field,
//! `ev.json` renders the exact JSON text, `ev.to_dict()` builds dicts natively (no
//! `json.loads`). GC and ECE events arrive as JSON text and are parsed once, natively,
//! on first access.

use std::sync::OnceLock;

use cce::api::EventOut;
use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping};
use serde_json::Value as Json;

/// What an event holds.
enum Body {
    /// A CTI event (or library event of a CTI session).
    Cti(EventOut),
    /// A GC or ECE event: its JSON text, parsed on first use.
    Text { json: String, value: OnceLock<Json> },
}

/// One event: a read-only mapping (`ev["AgentState"]`, `ev.get(k)`, `k in ev`,
/// `keys()`/`items()`/`values()`), with `name`, `type`, `last`, `json` and `to_dict()`.
#[pyclass(module = "libcce", name = "Event", frozen, mapping)]
pub(crate) struct PyEvent {
    body: Body,
    last: bool,
    /// The whole event as JSON, for whole-event views (`keys()`, `to_dict()`, ...).
    value: OnceLock<Json>,
}

impl PyEvent {
    /// Wraps a CTI event.
    pub(crate) fn cti(ev: EventOut) -> Self {
        PyEvent {
            last: ev.last,
            body: Body::Cti(ev),
            value: OnceLock::new(),
        }
    }

    /// Wraps a GC or ECE event given as JSON text.
    pub(crate) fn text(json: String, last: bool) -> Self {
        PyEvent {
            body: Body::Text {
                json,
                value: OnceLock::new(),
            },
            last,
            value: OnceLock::new(),
        }
    }

    /// The whole event as a JSON value (computed once).
    fn whole(&self) -> &Json {
        match &self.body {
            Body::Cti(ev) => self.value.get_or_init(|| ev.to_value()),
            Body::Text { json, value } => value.get_or_init(|| {
                serde_json::from_str(json).unwrap_or_else(|_| Json::Object(Default::default()))
            }),
        }
    }

    /// One key's value, `None` when absent.
    fn field(&self, key: &str) -> Option<Json> {
        match &self.body {
            Body::Cti(ev) => {
                if let Some(v) = self.value.get() {
                    return v.get(key).cloned();
                }
                match key {
                    "MessageName" => Some(Json::String(ev.name().to_owned())),
                    "MessageType" => Some(Json::from(ev.msg_type)),
                    _ => ev.field_json(key),
                }
            }
            Body::Text { .. } => self.whole().get(key).cloned(),
        }
    }

    fn keys_vec(&self) -> Vec<&str> {
        match self.whole() {
            Json::Object(m) => m.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Converts a JSON value to Python objects (dict, list, str, int, float, bool, None).
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Json) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Json::Null => py.None().into_bound(py),
        Json::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Json::String(s) => s.into_pyobject(py)?.into_any(),
        Json::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Json::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

#[pymethods]
impl PyEvent {
    /// `MessageName` for CTI events, `event` for GC events, `type` for ECE events.
    #[getter]
    fn name(&self) -> Option<String> {
        match &self.body {
            Body::Cti(ev) => Some(ev.name().to_owned()),
            Body::Text { .. } => {
                let w = self.whole();
                w.get("event")
                    .or_else(|| w.get("type"))
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            }
        }
    }

    /// The CTI `MessageType` (0 for library events); None for GC and ECE events.
    #[getter(r#type)]
    fn msg_type(&self) -> Option<u32> {
        match &self.body {
            Body::Cti(ev) => Some(ev.msg_type),
            Body::Text { .. } => None,
        }
    }

    /// True for the last event of its session (`SESSION_CLOSED`, GC `Closed`).
    #[getter]
    fn last(&self) -> bool {
        self.last
    }

    /// The event's JSON text, exactly as the C ABI delivers it.
    #[getter]
    fn json(&self) -> String {
        match &self.body {
            Body::Cti(ev) => ev.json().to_owned(),
            Body::Text { json, .. } => json.clone(),
        }
    }

    /// The event as a new dict (nested objects as dicts and lists).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.whole())
    }

    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        if let (Body::Cti(ev), "MessageName") = (&self.body, key) {
            return Ok(pyo3::types::PyString::new(py, ev.name()).into_any());
        }
        match self.field(key) {
            Some(v) => to_py(py, &v),
            None => Err(PyKeyError::new_err(key.to_owned())),
        }
    }

    /// The value of `key`, or `default` when absent.
    #[pyo3(signature = (key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let found = match key.extract::<String>() {
            Ok(k) => self.field(&k),
            Err(_) => None,
        };
        match found {
            Some(v) => to_py(py, &v),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        match key.extract::<String>() {
            Ok(k) => match &self.body {
                Body::Cti(ev) if self.value.get().is_none() => {
                    k == "MessageName" || k == "MessageType" || ev.field_json(&k).is_some()
                }
                _ => self.whole().get(&k).is_some(),
            },
            Err(_) => false,
        }
    }

    fn __len__(&self) -> usize {
        self.whole().as_object().map_or(0, |m| m.len())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyList::new(py, self.keys_vec())?
            .into_any()
            .try_iter()?
            .into_any())
    }

    /// The keys, in JSON order.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.keys_vec())
    }

    /// The values, in key order.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        if let Some(m) = self.whole().as_object() {
            for v in m.values() {
                list.append(to_py(py, v)?)?;
            }
        }
        Ok(list)
    }

    /// The (key, value) pairs, in key order.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        if let Some(m) = self.whole().as_object() {
            for (k, v) in m {
                list.append((k, to_py(py, v)?))?;
            }
        }
        Ok(list)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        if let Ok(o) = other.cast::<PyEvent>() {
            return Ok(self.whole() == o.get().whole());
        }
        if other.cast::<PyMapping>().is_ok() || other.cast::<PyDict>().is_ok() {
            return self.to_dict(py)?.eq(other);
        }
        Ok(false)
    }

    fn __ne__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        self.__eq__(py, other).map(|eq| !eq)
    }

    fn __hash__(&self) -> PyResult<isize> {
        Err(PyTypeError::new_err("unhashable type: 'libcce.Event'"))
    }

    fn __repr__(&self) -> String {
        format!("libcce.Event({})", self.json())
    }
}
