//! [`Ev`]: a message the simulator sends, described once and encoded for each
//! session's protocol version.
//!
//! Fields are named as in the catalogue. When a session's version has no such fixed
//! field, or the floating field's tag is newer than the version, the field is left
//! out; a name the catalogue does not know at all is an error (a simulator bug that
//! the tests catch through [`super::CtiSimulator::encode_errors`]).

use bytes::Bytes;

use crate::cti::codec::{int_value, CodecError, CtiString, Message, NamedArray, NamedVar, Value};
use crate::cti::spec::{self, WireType, TAGS_REMOVED};

use super::consts::k;

/// One field value of an [`Ev`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// An integer (fixed field, numeric floating field, or one list element).
    Int(i64),
    /// Text (a STRING floating field or one list element).
    Str(String),
    /// Opaque bytes (UNSPEC).
    Bytes(Bytes),
    /// A named variable.
    Var(String, String),
    /// A named array element.
    Array(u8, String, String),
}

/// A version-independent message: its name and field values in wire order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ev {
    /// Canonical message name.
    pub name: &'static str,
    fields: Vec<(&'static str, Val)>,
}

impl Ev {
    /// An empty message called `name`.
    pub fn new(name: &'static str) -> Self {
        Ev {
            name,
            fields: Vec::with_capacity(16),
        }
    }

    /// Sets (or appends, for list fields) an integer field.
    pub fn int(mut self, field: &'static str, v: impl Into<i64>) -> Self {
        self.fields.push((field, Val::Int(v.into())));
        self
    }

    /// Sets an integer field to the value of a named constant of `table`.
    pub fn k(self, field: &'static str, table: &str, name: &str) -> Self {
        let v = k(table, name);
        self.int(field, v)
    }

    /// Sets (or appends) a text field.
    pub fn s(mut self, field: &'static str, text: impl Into<String>) -> Self {
        self.fields.push((field, Val::Str(text.into())));
        self
    }

    /// Sets a text field when `text` is given.
    pub fn opt_s(self, field: &'static str, text: Option<&str>) -> Self {
        match text {
            Some(t) => self.s(field, t),
            None => self,
        }
    }

    /// Sets an opaque field.
    pub fn bytes(mut self, field: &'static str, data: Bytes) -> Self {
        self.fields.push((field, Val::Bytes(data)));
        self
    }

    /// Appends a named variable.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.fields
            .push(("NamedVariable", Val::Var(name.into(), value.into())));
        self
    }

    /// Appends a named array element.
    pub fn array(mut self, index: u8, name: &str, value: &str) -> Self {
        self.fields
            .push(("NamedArray", Val::Array(index, name.into(), value.into())));
        self
    }

    /// Appends the fields of `other`.
    pub fn extend(&mut self, other: Ev) {
        self.fields.extend(other.fields);
    }

    /// The last value given for `field`.
    pub fn get(&self, field: &str) -> Option<&Val> {
        self.fields
            .iter()
            .rev()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    /// The last integer given for `field`.
    pub fn get_int(&self, field: &str) -> Option<i64> {
        match self.get(field) {
            Some(Val::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// Builds the message for protocol `version`.
    pub fn build(&self, version: u32) -> Result<Message, CodecError> {
        let mut m = Message::new(self.name, version)?;
        let spec = m.spec();
        let layout = spec.layout(version).map(|l| l.fields).unwrap_or(&[]);
        for (name, val) in &self.fields {
            if layout.iter().any(|f| f.name == *name) {
                if let Val::Int(v) = val {
                    m.set_int(name, *v)?;
                    continue;
                }
                return Err(bad(spec.name, name, "fixed fields take integers"));
            }
            let Some((_, f)) = spec.float_by_name(name) else {
                if spec
                    .layouts
                    .iter()
                    .any(|l| l.fields.iter().any(|f| f.name == *name))
                {
                    continue; // a fixed field of another version
                }
                return Err(CodecError::NoSuchField {
                    message: spec.name,
                    field: (*name).to_owned(),
                });
            };
            let Some(tag) = f.tag else { continue };
            let in_version = spec::tag_by_value(tag).is_none_or(|t| t.since <= version)
                && !TAGS_REMOVED
                    .iter()
                    .any(|(t, removed)| *t == tag && *removed <= version);
            if !in_version || (version < spec::WIDE_FLOATING_SINCE && tag > 255) {
                continue;
            }
            let max = f.max_at(version).map(usize::from);
            let value = match val {
                Val::Int(v) => int_value(f.ty, *v)
                    .ok_or_else(|| bad(spec.name, name, "integer out of range"))?,
                Val::Str(s) => {
                    let text = clip(s, max.map(|m| m.saturating_sub(1)));
                    Value::Str(
                        CtiString::new(text)
                            .ok_or_else(|| bad(spec.name, name, "text must be ASCII"))?,
                    )
                }
                Val::Bytes(b) => {
                    let n = max.map_or(b.len(), |m| m.min(b.len()));
                    Value::Unspec(b.slice(..n))
                }
                Val::Var(n, v) => Value::NamedVar(NamedVar {
                    name: n.clone(),
                    value: v.clone(),
                }),
                Val::Array(i, n, v) => Value::NamedArray(NamedArray {
                    index: *i,
                    name: n.clone(),
                    value: v.clone(),
                }),
            };
            if f.ty == WireType::Time && !matches!(value, Value::Time(_)) {
                return Err(bad(spec.name, name, "expected a time"));
            }
            if f.repeat.is_some() {
                m.push_floating(name, value)?;
            } else {
                m.put_floating(name, value)?;
            }
        }
        Ok(m)
    }
}

fn clip(s: &str, max: Option<usize>) -> &str {
    match max {
        Some(m) if s.len() > m => {
            let mut end = m;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            &s[..end]
        }
        _ => s,
    }
}

fn bad(message: &'static str, field: &str, reason: &str) -> CodecError {
    CodecError::BadValue {
        message,
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_missing_from_a_version_are_left_out() {
        let ev = Ev::new("OPEN_CONF")
            .int("InvokeID", 7)
            .int("SessionType", 1)
            .s("AgentID", "1001");
        let v15 = ev.build(15).unwrap();
        assert_eq!(v15.u32("InvokeID"), Some(7));
        assert!(v15.get("SessionType").is_none());
        let v24 = ev.build(24).unwrap();
        assert_eq!(v24.u32("SessionType"), Some(1));
        assert_eq!(v24.str("AgentID"), Some("1001"));
    }

    #[test]
    fn unknown_field_names_are_errors() {
        assert!(Ev::new("OPEN_CONF")
            .int("NoSuchField", 1)
            .build(24)
            .is_err());
    }

    #[test]
    fn long_text_is_clipped_to_the_field_maximum() {
        let long = "9".repeat(100);
        let m = Ev::new("BEGIN_CALL_EVENT")
            .s("ANI", &long)
            .build(24)
            .unwrap();
        assert!(m.str("ANI").unwrap().len() < 100);
    }
}
