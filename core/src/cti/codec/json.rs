//! JSON rendering of messages, shared by the C ABI, Python and Node.
//!
//! Shape: `{"MessageType": 30, "MessageName": "AGENT_STATE_EVENT", <field>: <value>, ...}`.
//! Field names are the data sheet's. Numbers are numbers; a field described by a
//! constants table also gets `<field>_name` (the enum name, or `|`-joined mask bits).
//! BOOL is `true`/`false`; STRING is a string; UNSPEC is lowercase hex; an
//! ApplicationPathID received in its 5-byte APPPATHID form is 10 lowercase hex digits. Repeated
//! floating fields are arrays; `NamedVariable` is `[{"Name", "Value"}]` and
//! `NamedArray` is `[{"Index", "Name", "Value"}]`. Tags the catalogue does not know
//! are in `_unknown: [{"tag", "data"}]` (hex); an undocumented message's body is `_body` (hex).
//!
//! Three keys keep what a received message needs to re-encode byte-identically:
//! * `_order`: present when the floating fields arrived in another order than the
//!   data sheet's (with unknown tags last): the field name of every floating field in
//!   wire order, `"_unknown"` for each entry of `_unknown`. [`from_json`] restores it.
//! * `_warnings`: what a tolerant decode accepted (see
//!   [`Message::warnings`](super::Message::warnings)); a message rebuilt with them is
//!   encoded with its counts as given.
//! * `{"_raw": "<hex>"}` as the value of a known field whose length did not fit its
//!   type (a tolerant decode keeps its bytes).

use serde_json::{Map, Value as Json};

use super::message::{int_value, Body, Floating, Message};
use super::value::{CtiString, NamedArray, NamedVar, Value};
use super::CodecError;
use crate::cti::spec::{self, TableKind, WireType, TABLES};

/// Largest JSON nesting or size we accept for one message.
const MAX_JSON_LEN: usize = 64 * 1024;

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 15)]));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Bool(b) if *b <= 1 => Json::Bool(*b == 1),
        Value::Str(s) => Json::String(s.as_str().to_owned()),
        Value::Unspec(b) => Json::String(hex(b)),
        Value::AppPathId(id) => Json::String(hex(id)),
        Value::NamedVar(n) => serde_json::json!({"Name": n.name, "Value": n.value}),
        Value::NamedArray(n) => {
            serde_json::json!({"Index": n.index, "Name": n.name, "Value": n.value})
        }
        other => other.as_i64().map_or(Json::Null, Json::from),
    }
}

fn put_named(map: &mut Map<String, Json>, name: &str, tables: &[u16], v: &Value) {
    map.insert(name.to_owned(), value_json(v));
    if let Some(n) = v.as_u32().and_then(|x| spec::describe(tables, x)) {
        map.insert(format!("{name}_name"), Json::String(n));
    }
}

/// The JSON of a known field's value: `{"_raw": hex}` for raw bytes under a field of
/// a fixed-size type (a tolerant decode's wrongly sized field).
fn field_json(fs: &crate::cti::spec::FloatField, v: &Value) -> Json {
    match v {
        Value::Unspec(b) if fs.ty.fixed_size().is_some() => serde_json::json!({"_raw": hex(b)}),
        _ => value_json(v),
    }
}

/// The key of a floating field for ordering: the catalogue index, `None` for unknown.
fn order_key(f: &Floating) -> Option<u16> {
    match f {
        Floating::Known { field, .. } => Some(*field),
        Floating::Unknown { .. } => None,
    }
}

/// The floating fields' wire order as `_order` shows it, or `None` when it is the
/// order [`from_json`] rebuilds anyway (data sheet order, unknown tags last).
fn wire_order(msg: &Message, floating: &[Floating]) -> Option<Json> {
    let spec = msg.spec();
    // A single-valued field received more than once is rendered once (its first value),
    // so it is listed once, where it first came: the order then survives the round trip.
    let mut seen = vec![false; spec.floating.len()];
    let keys: Vec<Option<u16>> = floating
        .iter()
        .map(order_key)
        .filter(
            |k| match k.and_then(|i| spec.floating.get(usize::from(i)).map(|fs| (i, fs))) {
                Some((i, fs)) if fs.repeat.is_none() => {
                    let first = !seen[usize::from(i)];
                    seen[usize::from(i)] = true;
                    first
                }
                _ => true,
            },
        )
        .collect();
    let canonical = keys.windows(2).all(|w| match (w[0], w[1]) {
        (Some(a), Some(b)) => a <= b,
        (None, Some(_)) => false,
        _ => true,
    });
    if canonical {
        return None;
    }
    Some(Json::Array(
        keys.iter()
            .map(
                |k| match k.and_then(|i| spec.floating.get(usize::from(i))) {
                    Some(fs) => Json::from(fs.name),
                    None => Json::from("_unknown"),
                },
            )
            .collect(),
    ))
}

/// Renders a message as a JSON object.
pub fn to_json(msg: &Message) -> Json {
    let mut map = Map::new();
    map.insert("MessageType".into(), Json::from(msg.msg_type()));
    map.insert("MessageName".into(), Json::from(msg.name()));
    match msg.body() {
        Body::Raw(b) => {
            map.insert("_body".into(), Json::String(hex(b)));
        }
        Body::Fields {
            layout,
            fixed,
            floating,
        } => {
            for (f, v) in layout.iter().zip(fixed) {
                put_named(&mut map, f.name, f.tables, v);
            }
            let spec = msg.spec();
            let mut unknown = Vec::new();
            for fl in floating {
                match fl {
                    Floating::Known { field, value, .. } => {
                        let fs = &spec.floating[usize::from(*field)];
                        if fs.repeat.is_some() {
                            let entry = map
                                .entry(fs.name.to_owned())
                                .or_insert_with(|| Json::Array(Vec::new()));
                            if let Json::Array(a) = entry {
                                a.push(field_json(fs, value));
                            }
                            if let Some(n) =
                                value.as_u32().and_then(|x| spec::describe(fs.tables, x))
                            {
                                let names = map
                                    .entry(format!("{}_name", fs.name))
                                    .or_insert_with(|| Json::Array(Vec::new()));
                                if let Json::Array(a) = names {
                                    a.push(Json::String(n));
                                }
                            }
                        } else if !map.contains_key(fs.name) {
                            if matches!(value, Value::Unspec(_)) && fs.ty.fixed_size().is_some() {
                                map.insert(fs.name.to_owned(), field_json(fs, value));
                            } else {
                                put_named(&mut map, fs.name, fs.tables, value);
                            }
                        }
                    }
                    Floating::Unknown { tag, data } => {
                        unknown.push(serde_json::json!({"tag": tag, "data": hex(data)}));
                    }
                }
            }
            if !unknown.is_empty() {
                map.insert("_unknown".into(), Json::Array(unknown));
            }
            if let Some(order) = wire_order(msg, floating) {
                map.insert("_order".into(), order);
            }
        }
    }
    if !msg.warnings().is_empty() {
        let w = msg.warnings().iter().map(|w| Json::from(w.as_str()));
        map.insert("_warnings".into(), Json::Array(w.collect()));
    }
    Json::Object(map)
}

/// Renders a message as a compact JSON string.
pub fn to_json_string(msg: &Message) -> String {
    to_json(msg).to_string()
}

fn bad(msg: &Message, field: &str, reason: impl Into<String>) -> CodecError {
    CodecError::BadValue {
        message: msg.name(),
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Reads a number for a field: a JSON number, a boolean, or a constant name
/// from the field's tables (`A|B` for masks).
fn json_int(msg: &Message, field: &str, tables: &[u16], j: &Json) -> Result<i64, CodecError> {
    match j {
        Json::Number(n) => n
            .as_i64()
            .ok_or_else(|| bad(msg, field, "expected an integer")),
        Json::Bool(b) => Ok(i64::from(*b)),
        Json::String(s) => {
            let mut total: u32 = 0;
            for part in s.split('|') {
                let part = part.trim();
                let v = tables
                    .iter()
                    .filter_map(|&i| TABLES.get(usize::from(i)))
                    .find_map(|t| t.value_of(part))
                    .or_else(|| {
                        part.strip_prefix("0x")
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                    })
                    .or_else(|| part.parse::<u32>().ok())
                    .ok_or_else(|| bad(msg, field, format!("unknown constant {part:?}")))?;
                let is_mask = tables
                    .first()
                    .and_then(|&i| TABLES.get(usize::from(i)))
                    .is_some_and(|t| t.kind == TableKind::Mask);
                if !is_mask && s.contains('|') {
                    return Err(bad(msg, field, "only mask fields combine names with |"));
                }
                total |= v;
            }
            Ok(i64::from(total))
        }
        _ => Err(bad(msg, field, "expected a number or a constant name")),
    }
}

fn json_text<'a>(
    msg: &Message,
    field: &str,
    j: &'a Json,
    key: &str,
) -> Result<&'a str, CodecError> {
    j.get(key)
        .and_then(Json::as_str)
        .ok_or_else(|| bad(msg, field, format!("expected {key:?} as a string")))
}

fn ascii(msg: &Message, field: &str, s: &str) -> Result<String, CodecError> {
    if s.is_ascii() && !s.contains('\0') {
        Ok(s.to_owned())
    } else {
        Err(bad(msg, field, "text must be ASCII without NUL"))
    }
}

fn float_value(
    msg: &Message,
    fs: &'static crate::cti::spec::FloatField,
    j: &Json,
) -> Result<Value, CodecError> {
    match fs.ty {
        WireType::String => {
            let s = j
                .as_str()
                .ok_or_else(|| bad(msg, fs.name, "expected a string"))?;
            CtiString::new(s)
                .map(Value::Str)
                .ok_or_else(|| bad(msg, fs.name, "text must be ASCII without NUL"))
        }
        WireType::Unspec => {
            let s = j
                .as_str()
                .ok_or_else(|| bad(msg, fs.name, "expected a hex string"))?;
            unhex(s)
                .map(|b| Value::Unspec(b.into()))
                .ok_or_else(|| bad(msg, fs.name, "expected a hex string"))
        }
        WireType::NamedVar => Ok(Value::NamedVar(NamedVar {
            name: ascii(msg, fs.name, json_text(msg, fs.name, j, "Name")?)?,
            value: ascii(msg, fs.name, json_text(msg, fs.name, j, "Value")?)?,
        })),
        WireType::NamedArray => {
            let index = j
                .get("Index")
                .and_then(Json::as_u64)
                .and_then(|i| u8::try_from(i).ok())
                .ok_or_else(|| bad(msg, fs.name, "expected Index 0..=255"))?;
            Ok(Value::NamedArray(NamedArray {
                index,
                name: ascii(msg, fs.name, json_text(msg, fs.name, j, "Name")?)?,
                value: ascii(msg, fs.name, json_text(msg, fs.name, j, "Value")?)?,
            }))
        }
        _ if fs.app_path_id && j.as_str().is_some_and(|h| h.len() == 10) => {
            let id = j
                .as_str()
                .and_then(unhex)
                .and_then(|b| <[u8; 5]>::try_from(b).ok())
                .ok_or_else(|| bad(msg, fs.name, "expected a number or 10 hex digits"))?;
            Ok(Value::AppPathId(id))
        }
        ty => {
            let v = json_int(msg, fs.name, fs.tables, j)?;
            int_value(ty, v)
                .ok_or_else(|| bad(msg, fs.name, format!("{v} does not fit {}", ty.name())))
        }
    }
}

/// Adds the tolerant decoder's warning for raw bytes of `len` that do not fit `fs`.
fn note_odd(odd: &mut Vec<String>, fs: &crate::cti::spec::FloatField, len: usize) {
    let fits = fs.ty.fixed_size() == Some(len)
        || (fs.app_path_id && len == super::decode::APP_PATH_ID_LEN);
    if !fits {
        odd.push(super::decode::odd_field_warning(fs, len));
    }
}

/// `{"_raw": "<hex>"}` given for a known field of a fixed-size type: its raw bytes.
fn raw_value(
    msg: &Message,
    fs: &'static crate::cti::spec::FloatField,
    j: &Json,
) -> Result<Option<Vec<u8>>, CodecError> {
    let Some(raw) = j.get("_raw") else {
        return Ok(None);
    };
    if fs.ty.fixed_size().is_none() {
        return Err(bad(msg, fs.name, "_raw is only for fixed-size fields"));
    }
    raw.as_str()
        .and_then(unhex)
        .map(Some)
        .ok_or_else(|| bad(msg, fs.name, "_raw must be a hex string"))
}

/// Builds a message from its JSON rendering for a session at `version`.
/// `MessageName` (or `MessageType`) selects the message; `*_name` keys are ignored;
/// count fields left out are computed from the repeated fields given.
pub fn from_json(j: &Json, version: u32) -> Result<Message, CodecError> {
    let obj = j
        .as_object()
        .ok_or_else(|| CodecError::Json("a message must be a JSON object".into()))?;
    let spec = match (obj.get("MessageName"), obj.get("MessageType")) {
        (Some(Json::String(name)), _) => spec::message_by_name(name)
            .ok_or_else(|| CodecError::UnknownName { name: name.clone() })?,
        (_, Some(t)) => {
            let t = t
                .as_u64()
                .and_then(|t| u32::try_from(t).ok())
                .ok_or_else(|| CodecError::Json("MessageType must be an integer".into()))?;
            spec::message_by_type(t).ok_or(CodecError::UnknownType { msg_type: t })?
        }
        _ => {
            return Err(CodecError::Json(
                "MessageName or MessageType is required".into(),
            ))
        }
    };
    if let (Some(Json::String(_)), Some(t)) = (obj.get("MessageName"), obj.get("MessageType")) {
        if t.as_u64() != Some(u64::from(spec.msg_type)) {
            return Err(CodecError::Json(format!(
                "MessageType {t} does not match MessageName {}",
                spec.name
            )));
        }
    }
    let mut msg = Message::for_spec(spec, version)?;
    if !spec.documented {
        let body = match obj.get("_body") {
            Some(Json::String(h)) => {
                unhex(h).ok_or_else(|| CodecError::Json("_body must be hex".into()))?
            }
            None => Vec::new(),
            Some(_) => return Err(CodecError::Json("_body must be hex".into())),
        };
        return Ok(Message::raw(spec, body.into()));
    }
    // Raw bytes that do not fit their field's type, flagged unless `_warnings` is given.
    let mut odd = Vec::new();
    // Floating fields first (in printed order) so that explicit counts win below.
    for fs in spec.floating {
        let Some(j) = obj.get(fs.name) else { continue };
        if fs.repeat.is_some() {
            let items = j
                .as_array()
                .ok_or_else(|| bad(&msg, fs.name, "a repeated field takes an array"))?;
            for item in items {
                if let Some(raw) = raw_value(&msg, fs, item)? {
                    note_odd(&mut odd, fs, raw.len());
                    msg.push_raw_known(fs.name, raw.into())?;
                    continue;
                }
                let v = float_value(&msg, fs, item)?;
                msg.push_floating_uncounted(fs.name, v)?;
            }
        } else if let Some(raw) = raw_value(&msg, fs, j)? {
            note_odd(&mut odd, fs, raw.len());
            msg.push_raw_known(fs.name, raw.into())?;
        } else {
            let v = float_value(&msg, fs, j)?;
            msg.put_floating(fs.name, v)?;
        }
    }
    // Counts once, after all repeated items (linear, not per item). A message with
    // `_warnings` came from a tolerant decode: its counts are taken as given (absent
    // stays absent), so that it re-encodes as it was received.
    if !obj.contains_key("_warnings") {
        msg.update_counts()?;
    }
    // An explicit floating count (OPEN_CONF.NumPeripherals) wins, as fixed ones do below.
    for fs in spec.floating {
        let is_count =
            fs.repeat.is_none() && spec.floating.iter().any(|g| g.repeat == Some(fs.name));
        if let (true, Some(j)) = (is_count, obj.get(fs.name)) {
            if raw_value(&msg, fs, j)?.is_none() {
                let v = float_value(&msg, fs, j)?;
                msg.put_floating(fs.name, v)?;
            }
        }
    }
    let layout = match msg.body() {
        Body::Fields { layout, .. } => *layout,
        Body::Raw(_) => &[],
    };
    for f in layout {
        if let Some(j) = obj.get(f.name) {
            let v = json_int(&msg, f.name, f.tables, j)?;
            msg.set_int(f.name, v)?;
        }
    }
    if let Some(unknown) = obj.get("_unknown") {
        let items = unknown
            .as_array()
            .ok_or_else(|| CodecError::Json("_unknown must be an array".into()))?;
        for item in items {
            let tag = item
                .get("tag")
                .and_then(Json::as_u64)
                .and_then(|t| u16::try_from(t).ok())
                .ok_or_else(|| CodecError::Json("_unknown[].tag must be 0..=65535".into()))?;
            let data = item
                .get("data")
                .and_then(Json::as_str)
                .and_then(unhex)
                .ok_or_else(|| CodecError::Json("_unknown[].data must be hex".into()))?;
            msg.push_unknown(tag, data)?;
        }
    }
    if let Some(order) = obj.get("_order") {
        let items = order
            .as_array()
            .ok_or_else(|| CodecError::Json("_order must be an array of field names".into()))?;
        let keys = items
            .iter()
            .map(|i| match i.as_str() {
                Some("_unknown") => Ok(None),
                Some(name) => spec
                    .float_by_name(name)
                    .map(|(idx, _)| Some(idx as u16))
                    .ok_or_else(|| CodecError::NoSuchField {
                        message: spec.name,
                        field: name.to_owned(),
                    }),
                None => Err(CodecError::Json(
                    "_order must be an array of field names".into(),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        msg.reorder_floating(&keys)?;
    }
    if !odd.is_empty() {
        msg.set_warnings(odd);
    }
    if let Some(w) = obj.get("_warnings") {
        let items = w
            .as_array()
            .ok_or_else(|| CodecError::Json("_warnings must be an array of strings".into()))?;
        let texts = items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| CodecError::Json("_warnings must be an array of strings".into()))?;
        msg.set_warnings(texts);
    }
    for key in obj.keys() {
        let known = matches!(
            key.as_str(),
            "MessageName" | "MessageType" | "_unknown" | "_order" | "_warnings"
        ) || key.ends_with("_name")
            || layout.iter().any(|f| f.name == key)
            || spec.float_by_name(key).is_some();
        if !known {
            return Err(CodecError::NoSuchField {
                message: spec.name,
                field: key.clone(),
            });
        }
    }
    Ok(msg)
}

/// Parses a JSON string and builds the message (see [`from_json`]).
pub fn from_json_str(s: &str, version: u32) -> Result<Message, CodecError> {
    if s.len() > MAX_JSON_LEN {
        return Err(CodecError::Json(format!(
            "message JSON of {} bytes exceeds {MAX_JSON_LEN}",
            s.len()
        )));
    }
    let j: Json = serde_json::from_str(s).map_err(|e| CodecError::Json(e.to_string()))?;
    from_json(&j, version)
}
