//! Typed views of the catalogue: one struct per documented message and one newtype
//! per constants table, generated from the data sheet (`tools/gen_cti.py`).
//!
//! The dynamic [`Message`] stays the wire truth (it keeps field order and unknown tags
//! byte for byte); the typed structs convert to and from it:
//!
//! ```
//! use cce::cti::typed::{AgentState, SetAgentStateReq, TypedMessage};
//! let req = SetAgentStateReq {
//!     agent_state: AgentState::AGENT_STATE_AVAILABLE,
//!     agent_instrument: cce::cti::codec::CtiString::new("5001"),
//!     ..Default::default()
//! };
//! let msg = req.to_message(24)?;
//! assert_eq!(SetAgentStateReq::from_message(&msg)?, req);
//! # Ok::<(), cce::cti::codec::CodecError>(())
//! ```

#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
mod generated;

use bytes::Bytes;

pub use generated::*;

use crate::cti::codec::{
    int_value, CodecError, CtiString, Floating, Message, NamedArray, NamedVar, Value,
};
use crate::cti::spec::{WireType, TABLES};

/// A value of a constants table (enumeration or mask), keeping unknown values.
pub trait ConstValue: Copy {
    /// Index of the table in [`crate::cti::spec::TABLES`].
    const TABLE: usize;
    /// The numeric value.
    fn raw(self) -> u32;
    /// Wraps a numeric value (known or not).
    fn from_raw(v: u32) -> Self;
    /// The constant's name (for masks, the `|`-joined bit names), if known.
    fn name(self) -> Option<String> {
        crate::cti::spec::describe(&[Self::TABLE as u16], self.raw())
    }
}

fn debug_const<T: ConstValue>(v: T, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match v.name() {
        Some(n) => write!(f, "{n}({})", v.raw()),
        None => write!(
            f,
            "{}({})",
            TABLES.get(T::TABLE).map_or("?", |t| t.name),
            v.raw()
        ),
    }
}

/// A message type with a typed struct.
pub trait TypedMessage: Sized {
    /// Canonical message name.
    const NAME: &'static str;
    /// MessageType number.
    const TYPE: u32;
    /// Reads the typed form from a decoded message of this type.
    fn from_message(m: &Message) -> Result<Self, CodecError>;
    /// Builds the dynamic form for protocol `version` (counts are computed).
    fn to_message(&self, version: u32) -> Result<Message, CodecError>;
}

/// Conversion between a Rust field type and a wire [`Value`].
pub trait FieldValue: Sized + Clone {
    /// Reads the value, `None` if the variant does not fit.
    fn from_value(v: &Value) -> Option<Self>;
    /// Builds the value for a field of wire type `ty`, `None` if it does not fit.
    fn to_value(&self, ty: WireType) -> Option<Value>;
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn from_value(v: &Value) -> Option<Self> {
                v.as_i64().and_then(|x| <$t>::try_from(x).ok())
            }
            fn to_value(&self, ty: WireType) -> Option<Value> {
                int_value(ty, i64::from(*self))
            }
        }
    )*};
}
int_field!(u8, i8, u16, i16, i32);

impl FieldValue for u32 {
    fn from_value(v: &Value) -> Option<Self> {
        v.as_u32()
    }
    fn to_value(&self, ty: WireType) -> Option<Value> {
        int_value(ty, i64::from(*self))
    }
}

impl FieldValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        v.as_u32().map(|x| x != 0)
    }
    fn to_value(&self, ty: WireType) -> Option<Value> {
        int_value(ty, i64::from(*self))
    }
}

impl<T: ConstValue> FieldValue for T {
    fn from_value(v: &Value) -> Option<Self> {
        v.as_u32().map(T::from_raw)
    }
    fn to_value(&self, ty: WireType) -> Option<Value> {
        // INT fields keep their bit pattern (NULL values are 0xFFFFFFFF).
        let raw = self.raw();
        match ty {
            WireType::Int => Some(Value::Int(raw as i32)),
            _ => int_value(ty, i64::from(raw)),
        }
    }
}

impl FieldValue for CtiString {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    fn to_value(&self, _: WireType) -> Option<Value> {
        Some(Value::Str(self.clone()))
    }
}

impl FieldValue for Bytes {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Unspec(b) => Some(b.clone()),
            _ => None,
        }
    }
    fn to_value(&self, _: WireType) -> Option<Value> {
        Some(Value::Unspec(self.clone()))
    }
}

impl FieldValue for NamedVar {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::NamedVar(n) => Some(n.clone()),
            _ => None,
        }
    }
    fn to_value(&self, _: WireType) -> Option<Value> {
        Some(Value::NamedVar(self.clone()))
    }
}

impl FieldValue for NamedArray {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::NamedArray(n) => Some(n.clone()),
            _ => None,
        }
    }
    fn to_value(&self, _: WireType) -> Option<Value> {
        Some(Value::NamedArray(self.clone()))
    }
}

fn check_name(m: &Message, name: &'static str) -> Result<(), CodecError> {
    if m.name() == name {
        Ok(())
    } else {
        Err(CodecError::BadValue {
            message: m.name(),
            field: "MessageType".into(),
            reason: format!("expected {name}"),
        })
    }
}

fn bad_type(m: &Message, field: &str) -> CodecError {
    CodecError::BadValue {
        message: m.name(),
        field: field.to_owned(),
        reason: "value does not fit the typed field".into(),
    }
}

fn fixed<T: FieldValue>(m: &Message, field: &str) -> Result<T, CodecError> {
    let v = m.get(field).ok_or_else(|| CodecError::NoSuchField {
        message: m.name(),
        field: field.to_owned(),
    })?;
    T::from_value(v).ok_or_else(|| bad_type(m, field))
}

fn opt_fixed<T: FieldValue>(m: &Message, field: &str) -> Result<Option<T>, CodecError> {
    m.get(field)
        .map(|v| T::from_value(v).ok_or_else(|| bad_type(m, field)))
        .transpose()
}

fn one<T: FieldValue>(m: &Message, field: &str) -> Result<Option<T>, CodecError> {
    opt_fixed(m, field)
}

fn many<T: FieldValue>(m: &Message, field: &str) -> Result<Vec<T>, CodecError> {
    m.get_all(field)
        .into_iter()
        .map(|v| T::from_value(v).ok_or_else(|| bad_type(m, field)))
        .collect()
}

fn unknown_fields(m: &Message) -> Vec<(u16, Bytes)> {
    m.floating()
        .iter()
        .filter_map(|f| match f {
            Floating::Unknown { tag, data } => Some((*tag, data.clone())),
            Floating::Known { .. } => None,
        })
        .collect()
}

fn fixed_type(m: &Message, field: &str) -> Option<WireType> {
    match m.body() {
        crate::cti::codec::Body::Fields { layout, .. } => {
            layout.iter().find(|f| f.name == field).map(|f| f.ty)
        }
        crate::cti::codec::Body::Raw(_) => None,
    }
}

fn set_fixed<T: FieldValue>(m: &mut Message, field: &str, v: T) -> Result<(), CodecError> {
    let ty = fixed_type(m, field).ok_or_else(|| CodecError::NoSuchField {
        message: m.name(),
        field: field.to_owned(),
    })?;
    let value = v.to_value(ty).ok_or_else(|| bad_type(m, field))?;
    let n = value.as_i64().ok_or_else(|| bad_type(m, field))?;
    m.set_int(field, n)?;
    Ok(())
}

fn set_opt_fixed<T: FieldValue>(
    m: &mut Message,
    field: &str,
    v: Option<T>,
) -> Result<(), CodecError> {
    match (v, fixed_type(m, field)) {
        (None, _) => Ok(()),
        (Some(v), Some(_)) => set_fixed(m, field, v),
        (Some(_), None) => Err(CodecError::BadValue {
            message: m.name(),
            field: field.to_owned(),
            reason: "field does not exist in this protocol version".into(),
        }),
    }
}

fn float_type(m: &Message, field: &str) -> Result<WireType, CodecError> {
    m.spec()
        .float_by_name(field)
        .map(|(_, f)| f.ty)
        .ok_or_else(|| CodecError::NoSuchField {
            message: m.name(),
            field: field.to_owned(),
        })
}

fn put_one<T: FieldValue>(m: &mut Message, field: &str, v: &Option<T>) -> Result<(), CodecError> {
    if let Some(v) = v {
        let ty = float_type(m, field)?;
        let value = v.to_value(ty).ok_or_else(|| bad_type(m, field))?;
        m.put_floating(field, value)?;
    }
    Ok(())
}

fn put_many<T: FieldValue>(m: &mut Message, field: &str, v: &[T]) -> Result<(), CodecError> {
    if v.is_empty() {
        return Ok(());
    }
    let ty = float_type(m, field)?;
    for x in v {
        let value = x.to_value(ty).ok_or_else(|| bad_type(m, field))?;
        m.push_floating(field, value)?;
    }
    Ok(())
}

fn put_unknown(m: &mut Message, unknown: &[(u16, Bytes)]) -> Result<(), CodecError> {
    for (tag, data) in unknown {
        m.push_unknown(*tag, data.clone())?;
    }
    Ok(())
}
