//! Encoding [`Message`]s to wire bytes.

use bytes::{BufMut, Bytes, BytesMut};

use super::decode::{check_counts, packed_element_size};
use super::frame::{HEADER_LEN, MAX_BODY_LEN};
use super::message::{check_version, Body, Floating, Message};
use super::value::Value;
use super::CodecError;
use crate::cti::spec::{self, TAGS_REMOVED, WIDE_FLOATING_SINCE};

/// Encodes `msg` (header included) for a session at `version`.
pub fn encode(msg: &Message, version: u32) -> Result<Bytes, CodecError> {
    let mut out = BytesMut::with_capacity(64);
    encode_into(msg, version, &mut out)?;
    Ok(out.freeze())
}

/// Appends the encoding of `msg` to `out`. On error `out` is left as it was.
pub fn encode_into(msg: &Message, version: u32, out: &mut BytesMut) -> Result<(), CodecError> {
    check_version(version)?;
    let spec = msg.spec();
    if spec.since > version {
        return Err(CodecError::TypeNotInVersion {
            message: spec.name,
            version,
            since: spec.since,
        });
    }
    let start = out.len();
    out.put_u32(0);
    out.put_u32(spec.msg_type);
    let res = match msg.body() {
        Body::Raw(b) => {
            out.extend_from_slice(b);
            Ok(())
        }
        Body::Fields {
            layout,
            fixed,
            floating,
        } => {
            let expected = spec.layout(version).map(|l| l.fields);
            let is_alt = spec.alt_fixed.iter().any(|a| std::ptr::eq(*a, *layout));
            if expected.map(|e| std::ptr::eq(e, *layout)) != Some(true) && !is_alt {
                Err(CodecError::BadValue {
                    message: spec.name,
                    field: "fixed part".into(),
                    reason: format!(
                        "built for another protocol version's layout; rebuild it for version {version}"
                    ),
                })
            } else {
                check_counts(msg)
                    .and_then(|()| check_required(msg))
                    .and_then(|()| {
                        for v in fixed {
                            put_number(out, v);
                        }
                        put_all_floating(out, msg, floating, version)
                    })
            }
        }
    };
    if let Err(e) = res {
        out.truncate(start);
        return Err(e);
    }
    let body_len = out.len() - start - HEADER_LEN;
    if body_len > MAX_BODY_LEN {
        out.truncate(start);
        return Err(CodecError::MessageTooLong {
            length: body_len,
            max: MAX_BODY_LEN,
        });
    }
    out[start..start + 4].copy_from_slice(&(body_len as u32).to_be_bytes());
    Ok(())
}

fn check_required(msg: &Message) -> Result<(), CodecError> {
    for f in msg.spec().floating.iter().filter(|f| f.required) {
        if msg.get(f.name).is_none() {
            return Err(CodecError::MissingField {
                message: msg.name(),
                field: f.name,
            });
        }
    }
    Ok(())
}

fn put_number(out: &mut BytesMut, v: &Value) {
    match *v {
        Value::UChar(x) => out.put_u8(x),
        Value::Char(x) => out.put_i8(x),
        Value::UShort(x) | Value::Bool(x) => out.put_u16(x),
        Value::Short(x) => out.put_i16(x),
        Value::UInt(x) | Value::Time(x) => out.put_u32(x),
        Value::Int(x) => out.put_i32(x),
        // Fixed parts hold numbers only; message builders guarantee it.
        _ => {}
    }
}

fn value_len(v: &Value) -> usize {
    match v {
        Value::UChar(_) | Value::Char(_) => 1,
        Value::UShort(_) | Value::Short(_) | Value::Bool(_) => 2,
        Value::UInt(_) | Value::Int(_) | Value::Time(_) => 4,
        Value::Str(s) => s.wire_bytes().len(),
        Value::Unspec(b) => b.len(),
        Value::NamedVar(n) => n.name.len() + n.value.len() + 2,
        Value::NamedArray(n) => 1 + n.name.len() + n.value.len() + 2,
        Value::AppPathId(id) => id.len(),
    }
}

/// Checks that a known field may be sent at `version` with `len` data bytes.
fn check_known(
    spec: &'static spec::MessageSpec,
    fs: &'static spec::FloatField,
    tag: u16,
    len: usize,
    version: u32,
) -> Result<(), CodecError> {
    // A fixed-size type's `max` is its size (an APPPATHID is 5; DECISIONS.md #20).
    let max = fs.max_at(version).filter(|_| fs.ty.fixed_size().is_none());
    if let Some(max) = max {
        if len > usize::from(max) {
            return Err(CodecError::FieldTooLong {
                message: spec.name,
                field: fs.name,
                length: len,
                max: usize::from(max),
            });
        }
    }
    let in_version = spec::tag_by_value(tag).is_none_or(|t| t.since <= version)
        && !TAGS_REMOVED
            .iter()
            .any(|(t, removed)| *t == tag && *removed <= version);
    if !in_version {
        return Err(CodecError::TagNotInVersion {
            message: spec.name,
            field: fs.name,
            tag,
            version,
        });
    }
    Ok(())
}

/// Writes a floating field's tag and length (1 byte each before v20, 2 since).
fn put_header(
    out: &mut BytesMut,
    spec: &'static spec::MessageSpec,
    field_name: &'static str,
    tag: u16,
    len: usize,
    version: u32,
) -> Result<(), CodecError> {
    if version >= WIDE_FLOATING_SINCE {
        let len16 = u16::try_from(len).map_err(|_| CodecError::FieldTooLong {
            message: spec.name,
            field: field_name,
            length: len,
            max: usize::from(u16::MAX),
        })?;
        out.put_u16(tag);
        out.put_u16(len16);
    } else {
        let tag8 = u8::try_from(tag).map_err(|_| CodecError::TagNotInVersion {
            message: spec.name,
            field: field_name,
            tag,
            version,
        })?;
        let len8 = u8::try_from(len).map_err(|_| CodecError::FieldTooLong {
            message: spec.name,
            field: field_name,
            length: len,
            max: usize::from(u8::MAX),
        })?;
        out.put_u8(tag8);
        out.put_u8(len8);
    }
    Ok(())
}

/// Writes a value's data bytes.
fn put_data(out: &mut BytesMut, value: &Value) {
    match value {
        Value::Str(s) => out.extend_from_slice(s.wire_bytes()),
        Value::Unspec(b) => out.extend_from_slice(b),
        Value::AppPathId(id) => out.extend_from_slice(id),
        Value::NamedVar(n) => {
            out.extend_from_slice(n.name.as_bytes());
            out.put_u8(0);
            out.extend_from_slice(n.value.as_bytes());
            out.put_u8(0);
        }
        Value::NamedArray(n) => {
            out.put_u8(n.index);
            out.extend_from_slice(n.name.as_bytes());
            out.put_u8(0);
            out.extend_from_slice(n.value.as_bytes());
            out.put_u8(0);
        }
        number => put_number(out, number),
    }
}

/// Writes the floating fields in order; the runs of [`Message::packed_runs`] go out
/// as one field each, as they were received (DECISIONS.md #21).
fn put_all_floating(
    out: &mut BytesMut,
    msg: &Message,
    floating: &[Floating],
    version: u32,
) -> Result<(), CodecError> {
    let mut runs = msg.packed_runs().iter().peekable();
    let mut i = 0;
    while i < floating.len() {
        if let Some(run) = runs.next_if(|r| r.start == i) {
            let elements = floating
                .get(run.start..run.start + run.len)
                .ok_or_else(|| bad_run(msg))?;
            put_packed(out, msg, elements, version)?;
            i += run.len.max(1);
        } else {
            put_floating(out, msg, &floating[i], version)?;
            i += 1;
        }
    }
    Ok(())
}

fn bad_run(msg: &Message) -> CodecError {
    CodecError::BadValue {
        message: msg.name(),
        field: "packed list".into(),
        reason: "a packed run must cover list elements of one field, each of the element size"
            .into(),
    }
}

/// One wire field holding every element of a packed list.
fn put_packed(
    out: &mut BytesMut,
    msg: &Message,
    elements: &[Floating],
    version: u32,
) -> Result<(), CodecError> {
    let spec = msg.spec();
    let Some(Floating::Known { tag, field, .. }) = elements.first() else {
        return Err(bad_run(msg));
    };
    let fs = spec
        .floating
        .get(usize::from(*field))
        .ok_or_else(|| bad_run(msg))?;
    let size = packed_element_size(fs, version).ok_or_else(|| bad_run(msg))?;
    for e in elements {
        match e {
            Floating::Known {
                tag: t,
                field: f,
                value,
            } if t == tag && f == field && value_len(value) == size => {}
            _ => return Err(bad_run(msg)),
        }
    }
    // Each element is one field's worth of data; the maximum applies per element.
    check_known(spec, fs, *tag, size, version)?;
    put_header(out, spec, fs.name, *tag, size * elements.len(), version)?;
    for e in elements {
        if let Floating::Known { value, .. } = e {
            put_data(out, value);
        }
    }
    Ok(())
}

fn put_floating(
    out: &mut BytesMut,
    msg: &Message,
    f: &Floating,
    version: u32,
) -> Result<(), CodecError> {
    let spec = msg.spec();
    match f {
        Floating::Known { tag, field, value } => {
            let fs = &spec.floating[usize::from(*field)];
            let len = value_len(value);
            check_known(spec, fs, *tag, len, version)?;
            put_header(out, spec, fs.name, *tag, len, version)?;
            put_data(out, value);
        }
        Floating::Unknown { tag, data } => {
            put_header(out, spec, "(unknown tag)", *tag, data.len(), version)?;
            out.extend_from_slice(data);
        }
    }
    Ok(())
}
