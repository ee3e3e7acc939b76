//! Decoding message bodies into [`Message`]s.

use bytes::Bytes;

use super::frame::{split_frame, Frame};
use super::message::{check_version, Body, Floating, Message};
use super::value::{CtiString, NamedArray, NamedVar, Value};
use super::CodecError;
use crate::cti::spec::{self, FixedField, MessageSpec, WireType, WIDE_FLOATING_SINCE};

/// How strictly received data is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Refuse STRING/UNSPEC fields longer than the data sheet's maximum.
    /// The data sheet advises clients never to reject a received string for
    /// this (DECISIONS.md #25), so sessions turn it off; the default is on.
    pub enforce_max: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { enforce_max: true }
    }
}

impl DecodeOptions {
    /// The reading a live session uses: tolerant of over-long strings.
    pub fn tolerant() -> Self {
        DecodeOptions { enforce_max: false }
    }
}

/// Decodes one whole message (header included) at `version`.
pub fn decode(bytes: &[u8], version: u32) -> Result<Message, CodecError> {
    let frame = split_frame(bytes)?;
    decode_frame(&frame, version, DecodeOptions::default())
}

/// Decodes a frame produced by [`super::FrameSplitter`].
pub fn decode_frame(
    frame: &Frame,
    version: u32,
    opts: DecodeOptions,
) -> Result<Message, CodecError> {
    decode_body(frame.msg_type, frame.body.clone(), version, opts)
}

/// Decodes a message body of type `msg_type`.
pub fn decode_body(
    msg_type: u32,
    body: Bytes,
    version: u32,
    opts: DecodeOptions,
) -> Result<Message, CodecError> {
    check_version(version)?;
    let spec = spec::message_by_type(msg_type).ok_or(CodecError::UnknownType { msg_type })?;
    if !spec.documented {
        return Ok(Message::raw(spec, body));
    }
    // A message may arrive in a version the sheet does not list it for; read it
    // with the nearest layout rather than refusing what the server sent.
    let layout = spec
        .layout(version)
        .or_else(|| spec.layouts.last())
        .ok_or(CodecError::UnknownType { msg_type })?;
    let primary = decode_with(spec, layout.fields, &body, version, opts);
    if primary.is_ok() || spec.alt_fixed.is_empty() {
        return primary;
    }
    for alt in spec.alt_fixed {
        if let Ok(m) = decode_with(spec, alt, &body, version, opts) {
            return Ok(m);
        }
    }
    primary
}

fn decode_with(
    spec: &'static MessageSpec,
    layout: &'static [FixedField],
    body: &Bytes,
    version: u32,
    opts: DecodeOptions,
) -> Result<Message, CodecError> {
    let need = spec::fixed_size(layout);
    if body.len() < need {
        return Err(CodecError::ShortFixedPart {
            message: spec.name,
            have: body.len(),
            need,
        });
    }
    let mut fixed = Vec::with_capacity(layout.len());
    let mut off = 0;
    for f in layout {
        let size = f.ty.fixed_size().unwrap_or(0);
        fixed.push(read_number(f.ty, &body[off..off + size]));
        off += size;
    }
    let floating = decode_floating(spec, body, off, version, opts)?;
    let msg = Message::from_parts(
        spec,
        Body::Fields {
            layout,
            fixed,
            floating,
        },
    );
    check_counts(&msg)?;
    Ok(msg)
}

fn read_number(ty: WireType, b: &[u8]) -> Value {
    let u16v = || u16::from_be_bytes([b[0], b[1]]);
    let u32v = || u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    match ty {
        WireType::UChar => Value::UChar(b[0]),
        WireType::Char => Value::Char(b[0] as i8),
        WireType::UShort => Value::UShort(u16v()),
        WireType::Short => Value::Short(u16v() as i16),
        WireType::Bool => Value::Bool(u16v()),
        WireType::UInt => Value::UInt(u32v()),
        WireType::Int => Value::Int(u32v() as i32),
        WireType::Time => Value::Time(u32v()),
        // Callers only pass fixed-size types.
        _ => Value::Unspec(Bytes::copy_from_slice(b)),
    }
}

fn decode_floating(
    spec: &'static MessageSpec,
    body: &Bytes,
    mut off: usize,
    version: u32,
    opts: DecodeOptions,
) -> Result<Vec<Floating>, CodecError> {
    let wide = version >= WIDE_FLOATING_SINCE;
    let head = if wide { 4 } else { 2 };
    // Each field takes at least `head` bytes, which bounds the allocation.
    let mut out = Vec::with_capacity((body.len() - off) / head);
    while off < body.len() {
        if body.len() - off < head {
            return Err(CodecError::FloatingOverrun {
                message: spec.name,
                offset: off,
            });
        }
        let (tag, len) = if wide {
            (
                u16::from_be_bytes([body[off], body[off + 1]]),
                usize::from(u16::from_be_bytes([body[off + 2], body[off + 3]])),
            )
        } else {
            (u16::from(body[off]), usize::from(body[off + 1]))
        };
        let start = off + head;
        if body.len() - start < len {
            return Err(CodecError::FloatingOverrun {
                message: spec.name,
                offset: off,
            });
        }
        let data = body.slice(start..start + len);
        off = start + len;
        match spec.float_by_tag(tag) {
            Some((idx, f)) => {
                if opts.enforce_max {
                    if let Some(max) = f.max_at(version) {
                        if len > usize::from(max) && f.ty.fixed_size().is_none() {
                            return Err(CodecError::FieldTooLong {
                                message: spec.name,
                                field: f.name,
                                length: len,
                                max: usize::from(max),
                            });
                        }
                    }
                }
                let value = decode_value(spec.name, f.name, f.ty, data)?;
                out.push(Floating::Known {
                    tag,
                    field: idx as u16,
                    value,
                });
            }
            None => out.push(Floating::Unknown { tag, data }),
        }
    }
    Ok(out)
}

fn check_ascii(message: &'static str, field: &'static str, b: &[u8]) -> Result<(), CodecError> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    match b[..end].iter().find(|c| !c.is_ascii()) {
        Some(&byte) => Err(CodecError::NonAscii {
            message,
            field,
            byte,
        }),
        None => Ok(()),
    }
}

/// Splits `name\0value\0` (exactly two NUL-terminated ASCII strings).
fn split_pair(
    message: &'static str,
    field: &'static str,
    b: &[u8],
) -> Result<(String, String), CodecError> {
    let missing = || CodecError::MissingNul { message, field };
    let n1 = b.iter().position(|&c| c == 0).ok_or_else(missing)?;
    let rest = &b[n1 + 1..];
    let n2 = rest.iter().position(|&c| c == 0).ok_or_else(missing)?;
    if n2 + 1 != rest.len() {
        return Err(CodecError::BadValue {
            message,
            field: field.to_owned(),
            reason: "bytes after the value's NUL".into(),
        });
    }
    let text = |s: &[u8]| -> Result<String, CodecError> {
        check_ascii(message, field, s)?;
        Ok(String::from_utf8_lossy(s).into_owned())
    };
    Ok((text(&b[..n1])?, text(&rest[..n2])?))
}

fn decode_value(
    message: &'static str,
    field: &'static str,
    ty: WireType,
    data: Bytes,
) -> Result<Value, CodecError> {
    if let Some(size) = ty.fixed_size() {
        if data.len() != size {
            return Err(CodecError::BadFieldLength {
                message,
                field,
                ty: ty.name(),
                length: data.len(),
            });
        }
        return Ok(read_number(ty, &data));
    }
    match ty {
        WireType::String => {
            check_ascii(message, field, &data)?;
            Ok(Value::Str(CtiString::from_wire(data)))
        }
        WireType::NamedVar => {
            let (name, value) = split_pair(message, field, &data)?;
            Ok(Value::NamedVar(NamedVar { name, value }))
        }
        WireType::NamedArray => {
            let Some((&index, rest)) = data.split_first() else {
                return Err(CodecError::BadFieldLength {
                    message,
                    field,
                    ty: ty.name(),
                    length: 0,
                });
            };
            let (name, value) = split_pair(message, field, rest)?;
            Ok(Value::NamedArray(NamedArray { index, name, value }))
        }
        _ => Ok(Value::Unspec(data)),
    }
}

/// Checks every count field against the repeated fields it counts: each
/// repeated field occurs either as often as its count says or not at all, and
/// at least one of them occurs when the count is non-zero. Optional per-record
/// fields of configuration events (counted by `NumRecords`) may occur less often.
pub(crate) fn check_counts(msg: &Message) -> Result<(), CodecError> {
    let spec = msg.spec();
    let mut counts: Vec<&'static str> = spec.floating.iter().filter_map(|f| f.repeat).collect();
    counts.sort_unstable();
    counts.dedup();
    for count_field in counts {
        // A count that is itself a per-record field (CONFIG_TERMINAL_EVENT.NumInstruments)
        // counts across all records: the total is the sum of its occurrences.
        let nested = spec
            .float_by_name(count_field)
            .is_some_and(|(_, f)| f.repeat.is_some());
        let declared: u32 = if nested {
            msg.get_all(count_field)
                .iter()
                .filter_map(|v| v.as_u32())
                .fold(0u32, u32::saturating_add)
        } else {
            msg.u32(count_field).unwrap_or(0)
        };
        let mut any = false;
        for f in spec
            .floating
            .iter()
            .filter(|f| f.repeat == Some(count_field))
        {
            let present = msg.get_all(f.name).len();
            if present == 0 {
                continue;
            }
            any = true;
            // Configuration events carry per-record fields that a record may omit.
            let per_record_optional = count_field == "NumRecords" && f.optional;
            let fits = if per_record_optional {
                present as u64 <= u64::from(declared)
            } else {
                present as u64 == u64::from(declared)
            };
            if !fits {
                return Err(CodecError::CountMismatch {
                    message: spec.name,
                    count_field,
                    field: f.name,
                    declared,
                    present,
                });
            }
        }
        if !any && declared != 0 {
            let field = spec
                .floating
                .iter()
                .find(|f| f.repeat == Some(count_field))
                .map(|f| f.name)
                .unwrap_or(count_field);
            return Err(CodecError::CountMismatch {
                message: spec.name,
                count_field,
                field,
                declared,
                present: 0,
            });
        }
    }
    Ok(())
}
