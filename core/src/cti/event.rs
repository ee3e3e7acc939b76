//! A received CTI message as an owned, cheap-to-move handle over its bytes.
//!
//! [`Event`] keeps the received body (`Bytes`, shared with the read buffer) and what
//! validating it once found (catalogue entry, fixed layout, where the floating part
//! starts); typed getters read straight from the bytes. The owned [`Message`] and the
//! JSON text are produced only when asked for.
//!
//! ```
//! use cce::cti::codec::{encode, json, Message, DecodeOptions};
//! use cce::cti::Event;
//! let mut m = Message::new("AGENT_STATE_EVENT", 24)?;
//! m.set_int("AgentState", 3)?.set_str("AgentID", "1001")?;
//! let wire = encode(&m, 24)?;
//! let ev = Event::parse(30, wire.slice(8..), 24, DecodeOptions::default())?;
//! assert_eq!(ev.name(), "AGENT_STATE_EVENT");
//! assert_eq!(ev.u32("AgentState"), Some(3));
//! assert_eq!(ev.str("AgentID"), Some("1001"));
//! assert_eq!(ev.json(), json::to_json_string(&m));
//! assert_eq!(ev.to_message()?, m);
//! # Ok::<(), cce::cti::codec::CodecError>(())
//! ```

use bytes::Bytes;

use super::codec::json_write;
use super::codec::view_read_u32 as read_u32;
use super::codec::{CodecError, DecodeOptions, FieldRef, Message, MessageRef};
use super::spec::{MessageSpec, WireType};

/// A number of wire type `ty` from its bit pattern, as the JSON form shows it.
fn number_json(ty: WireType, v: u32) -> serde_json::Value {
    use serde_json::Value as Json;
    match ty {
        WireType::Char => Json::from(v as i8),
        WireType::Short => Json::from(v as i16),
        WireType::Int => Json::from(v as i32),
        WireType::Bool if v <= 1 => Json::Bool(v == 1),
        _ => Json::from(v),
    }
}

/// A validated received message: its body bytes plus the offsets validation found.
#[derive(Clone)]
pub struct Event {
    body: Bytes,
    parts: super::codec::ViewParts,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name())
            .field("version", &self.parts.version)
            .field("len", &self.body.len())
            .finish()
    }
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.parts.spec.msg_type == other.parts.spec.msg_type
            && self.parts.version == other.parts.version
            && self.body == other.body
    }
}

impl Eq for Event {}

impl Event {
    /// Validates the body of a message of type `msg_type` read at `version` (exactly as
    /// [`MessageRef::parse`] does) and keeps it.
    pub fn parse(
        msg_type: u32,
        body: Bytes,
        version: u32,
        opts: DecodeOptions,
    ) -> Result<Self, CodecError> {
        let parts = MessageRef::parse(msg_type, &body, version, opts)?.parts();
        Ok(Event { body, parts })
    }

    /// An event holding an owned message (one built locally rather than received):
    /// its encoded bytes, validated tolerantly.
    pub fn from_message(msg: &Message, version: u32) -> Result<Self, CodecError> {
        let wire = super::codec::encode(msg, version)?;
        let header = super::codec::HEADER_LEN;
        Self::parse(
            msg.msg_type(),
            wire.slice(header..),
            version,
            DecodeOptions::tolerant(),
        )
    }

    /// A borrowed view of the bytes (no validation again).
    #[inline]
    pub fn view(&self) -> MessageRef<'_> {
        MessageRef::from_parts(self.parts, &self.body)
    }

    /// Catalogue entry.
    pub fn spec(&self) -> &'static MessageSpec {
        self.parts.spec
    }

    /// MessageType.
    pub fn msg_type(&self) -> u32 {
        self.parts.spec.msg_type
    }

    /// Canonical message name.
    pub fn name(&self) -> &'static str {
        self.parts.spec.name
    }

    /// Protocol version the body was read at.
    pub fn version(&self) -> u32 {
        self.parts.version
    }

    /// The body bytes as received (header excluded).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// A fixed field's value or the first occurrence of a numeric floating field,
    /// as its unsigned bit pattern.
    pub fn u32(&self, field: &str) -> Option<u32> {
        self.view().u32(field)
    }

    /// [`Event::u32`] as a signed value: a CHAR or SHORT sign-extended, INT as is.
    pub fn i32(&self, field: &str) -> Option<i32> {
        self.u32(field).map(|v| v as i32)
    }

    /// A numeric field that fits 16 bits unsigned (USHORT, UCHAR, BOOL).
    pub fn u16(&self, field: &str) -> Option<u16> {
        self.u32(field).and_then(|v| u16::try_from(v).ok())
    }

    /// The text of a STRING field (first occurrence).
    pub fn str(&self, field: &str) -> Option<&str> {
        self.view().str(field)
    }

    /// The InvokeID of a message that has one.
    pub fn invoke_id(&self) -> Option<u32> {
        self.u32("InvokeID")
    }

    /// Every floating field in wire order.
    pub fn fields(&self) -> impl Iterator<Item = FieldRef<'_>> + '_ {
        self.view().fields()
    }

    /// The named variables (`NamedVariable` fields): name and value, in wire order.
    pub fn named_vars(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.fields().filter_map(|f| f.named_var())
    }

    /// The named arrays (`NamedArray` fields): index, name and value, in wire order.
    pub fn named_arrays(&self) -> impl Iterator<Item = (u8, &str, &str)> + '_ {
        self.fields().filter_map(|f| f.named_array())
    }

    /// The owned message (decoded from the bytes on each call).
    pub fn to_message(&self) -> Result<Message, CodecError> {
        self.view().to_owned_message()
    }

    /// Appends the JSON text of the message to `out` (byte-identical to
    /// [`json::to_json_string`](super::codec::json::to_json_string) of the owned message).
    pub fn write_json(&self, out: &mut String) {
        json_write::write_json(&self.view(), out);
    }

    /// One key of the message's JSON form (what `json::to_json(..).get(key)` gives),
    /// read from the bytes for numbers and strings; `None` when absent.
    pub fn field_json(&self, key: &str) -> Option<serde_json::Value> {
        use serde_json::Value as Json;
        let view = self.view();
        match key {
            "MessageType" => return Some(Json::from(self.msg_type())),
            "MessageName" => return Some(Json::from(self.name())),
            _ => {}
        }
        if view.plain() && view.spec().documented && !key.ends_with("_name") {
            if let Some((f, data)) = view.fixed().find(|(f, _)| f.name == key) {
                return Some(match read_u32(f.ty, data) {
                    Some(v) => number_json(f.ty, v),
                    None => Json::from(""),
                });
            }
            match view.spec().float_by_name(key) {
                None => return None,
                Some((_, fs)) if fs.repeat.is_none() => {
                    let f = view.field(key)?;
                    match (fs.ty, f.u32()) {
                        (WireType::String, _) => return Some(Json::from(f.str().unwrap_or(""))),
                        (_, Some(v)) => return Some(number_json(fs.ty, v)),
                        _ => {}
                    }
                }
                Some(_) => {}
            }
        }
        // Lists, `_name` companions and unusual shapes: the owned rendering.
        let m = self.to_message().ok()?;
        match super::codec::json::to_json(&m) {
            Json::Object(mut o) => o.remove(key),
            _ => None,
        }
    }

    /// The JSON text of the message.
    pub fn json(&self) -> String {
        let mut out = String::with_capacity(64 + self.body.len() * 3);
        self.write_json(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cti::codec::{encode, json, Value};

    fn event_of(m: &Message, version: u32) -> Event {
        Event::from_message(m, version).expect("event")
    }

    #[test]
    fn getters_read_the_bytes() {
        let mut m = Message::new("BEGIN_CALL_EVENT", 24).expect("msg");
        m.set_int("ConnectionCallID", 77)
            .and_then(|m| m.set_str("ConnectionDeviceID", "5001"))
            .expect("set");
        m.push_floating(
            "NamedVariable",
            Value::NamedVar(crate::cti::codec::NamedVar {
                name: "user.a".into(),
                value: "x\"y".into(),
            }),
        )
        .expect("named var");
        let ev = event_of(&m, 24);
        assert_eq!(ev.u32("ConnectionCallID"), Some(77));
        assert_eq!(ev.i32("ConnectionCallID"), Some(77));
        assert_eq!(ev.str("ConnectionDeviceID"), Some("5001"));
        assert_eq!(ev.str("NoSuchField"), None);
        assert_eq!(ev.named_vars().collect::<Vec<_>>(), [("user.a", "x\"y")]);
        assert_eq!(ev.named_arrays().count(), 0);
        assert_eq!(ev.to_message().expect("owned"), m);
        assert_eq!(ev.json(), json::to_json_string(&m));
        let whole = json::to_json(&m);
        for key in [
            "MessageType",
            "MessageName",
            "ConnectionCallID",
            "ConnectionDeviceID",
            "ConnectionDeviceIDType",
            "ConnectionDeviceIDType_name",
            "NamedVariable",
            "ANI",
            "NoSuchField",
        ] {
            assert_eq!(ev.field_json(key), whole.get(key).cloned(), "{key}");
        }
        let wire = encode(&m, 24).expect("encode");
        assert_eq!(ev.body()[..], wire[8..]);
    }
}
