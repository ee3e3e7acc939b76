//! Decoding message bodies into [`Message`]s.

use bytes::Bytes;

use super::frame::{split_frame, Frame};
use super::message::{check_version, Body, Floating, Message};
use super::value::{CtiString, NamedArray, NamedVar, Value};
use super::CodecError;
use crate::cti::spec::{self, FixedField, FloatField, MessageSpec, WireType, WIDE_FLOATING_SINCE};

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
    with_layouts(spec, version, |layout| {
        decode_with(spec, layout, &body, version, opts)
    })
}

/// Reads a documented message with its version's fixed layout; a message arriving in a
/// version the sheet does not list it for is read with the nearest layout rather than
/// refused. When that fails and the sheet records alternative fixed parts
/// (FAILURE_CONF's 18-byte form, DECISIONS.md #13/#15), the first that reads wins.
pub(crate) fn with_layouts<T>(
    spec: &'static MessageSpec,
    version: u32,
    read: impl Fn(&'static [FixedField]) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let layout =
        spec.layout(version)
            .or_else(|| spec.layouts.last())
            .ok_or(CodecError::UnknownType {
                msg_type: spec.msg_type,
            })?;
    let primary = read(layout.fields);
    if primary.is_ok() {
        return primary;
    }
    spec.alt_fixed
        .iter()
        .find_map(|alt| read(alt).ok())
        .map_or(primary, Ok)
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
    let mut counts = CountCheck::new();
    let floating = decode_floating(spec, body, off, version, opts, &mut counts)?;
    counts.verify(spec, |name| {
        layout
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| fixed.get(i))
            .and_then(Value::as_u32)
    })?;
    Ok(Message::from_parts(
        spec,
        Body::Fields {
            layout,
            fixed,
            floating,
        },
    ))
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

/// Walks the floating part of `body` from `off`, validating every field, and calls
/// `visit(tag, known field, data range)` for each. Allocates nothing.
pub(crate) fn walk_floating(
    spec: &'static MessageSpec,
    body: &[u8],
    mut off: usize,
    version: u32,
    opts: DecodeOptions,
    mut visit: impl FnMut(
        u16,
        Option<(usize, &'static FloatField)>,
        std::ops::Range<usize>,
    ) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let wide = version >= WIDE_FLOATING_SINCE;
    let head = if wide { 4 } else { 2 };
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
        let range = start..start + len;
        off = start + len;
        let known = spec.float_by_tag(tag);
        if let Some((_, f)) = known {
            if opts.enforce_max && f.ty.fixed_size().is_none() {
                if let Some(max) = f.max_at(version) {
                    if len > usize::from(max) {
                        return Err(CodecError::FieldTooLong {
                            message: spec.name,
                            field: f.name,
                            length: len,
                            max: usize::from(max),
                        });
                    }
                }
            }
            check_value(spec.name, f.name, f.ty, &body[range.clone()])?;
        }
        visit(tag, known, range)?;
    }
    Ok(())
}

/// Largest number of floating fields a catalogue message declares (checked by a test).
pub(crate) const MAX_FLOAT_FIELDS: usize = 64;

/// Counts occurrences of repeated fields during a walk and checks them against their
/// count fields, without allocating.
pub(crate) struct CountCheck {
    occurrences: [u32; MAX_FLOAT_FIELDS],
    /// Sum of the values of each numeric floating field (for floating and nested counts).
    sums: [u32; MAX_FLOAT_FIELDS],
}

impl CountCheck {
    pub(crate) fn new() -> Self {
        CountCheck {
            occurrences: [0; MAX_FLOAT_FIELDS],
            sums: [0; MAX_FLOAT_FIELDS],
        }
    }

    pub(crate) fn add(&mut self, idx: usize, value: Option<u32>) {
        if let Some(n) = self.occurrences.get_mut(idx) {
            *n = n.saturating_add(1);
        }
        if let (Some(v), Some(s)) = (value, self.sums.get_mut(idx)) {
            *s = s.saturating_add(v);
        }
    }

    /// Each repeated field occurs as often as its count says or not at all; at least one
    /// occurs when the count is non-zero; optional per-record fields of configuration
    /// events (counted by `NumRecords`) may occur less often. A count that is itself a
    /// floating field counts across records: the total is the sum of its occurrences.
    pub(crate) fn verify(
        &self,
        spec: &'static MessageSpec,
        fixed_value: impl Fn(&str) -> Option<u32>,
    ) -> Result<(), CodecError> {
        for (i, f) in spec.floating.iter().enumerate() {
            let Some(count_field) = f.repeat else {
                continue;
            };
            // Handle each count field once, at its first repeated field.
            if spec.floating[..i]
                .iter()
                .any(|g| g.repeat == Some(count_field))
            {
                continue;
            }
            let declared = match spec.float_by_name(count_field) {
                Some((ci, _)) => self.sums.get(ci).copied().unwrap_or(0),
                None => fixed_value(count_field).unwrap_or(0),
            };
            let mut any = false;
            for (j, g) in spec.floating.iter().enumerate().skip(i) {
                if g.repeat != Some(count_field) {
                    continue;
                }
                let present = self.occurrences.get(j).copied().unwrap_or(0);
                if present == 0 {
                    continue;
                }
                any = true;
                let fits = if count_field == "NumRecords" && g.optional {
                    present <= declared
                } else {
                    present == declared
                };
                if !fits {
                    return Err(CodecError::CountMismatch {
                        message: spec.name,
                        count_field,
                        field: g.name,
                        declared,
                        present: present as usize,
                    });
                }
            }
            if !any && declared != 0 {
                return Err(CodecError::CountMismatch {
                    message: spec.name,
                    count_field,
                    field: f.name,
                    declared,
                    present: 0,
                });
            }
        }
        Ok(())
    }
}

fn numeric(ty: WireType, data: &[u8]) -> Option<u32> {
    ty.fixed_size().and_then(|_| read_number(ty, data).as_u32())
}

fn decode_floating(
    spec: &'static MessageSpec,
    body: &Bytes,
    off: usize,
    version: u32,
    opts: DecodeOptions,
    counts: &mut CountCheck,
) -> Result<Vec<Floating>, CodecError> {
    let head = if version >= WIDE_FLOATING_SINCE { 4 } else { 2 };
    // Each field takes at least `head` bytes, which bounds the allocation.
    let mut out = Vec::with_capacity((body.len() - off) / head);
    walk_floating(spec, body, off, version, opts, |tag, known, range| {
        match known {
            Some((idx, f)) => {
                let data = &body[range.clone()];
                counts.add(idx, numeric(f.ty, data));
                let value = match f.ty.fixed_size() {
                    Some(_) => read_number(f.ty, data),
                    None => build_value(spec.name, f.name, f.ty, body.slice(range))?,
                };
                out.push(Floating::Known {
                    tag,
                    field: idx as u16,
                    value,
                });
            }
            None => out.push(Floating::Unknown {
                tag,
                data: body.slice(range),
            }),
        }
        Ok(())
    })?;
    Ok(out)
}

/// Checks a floating field's data against its type without building a value.
pub(crate) fn check_value(
    message: &'static str,
    field: &'static str,
    ty: WireType,
    data: &[u8],
) -> Result<(), CodecError> {
    if let Some(size) = ty.fixed_size() {
        if data.len() != size {
            return Err(CodecError::BadFieldLength {
                message,
                field,
                ty: ty.name(),
                length: data.len(),
            });
        }
        return Ok(());
    }
    match ty {
        WireType::String => check_ascii(message, field, data),
        WireType::NamedVar => split_pair_ref(message, field, data).map(|_| ()),
        WireType::NamedArray => match data.split_first() {
            Some((_, rest)) => split_pair_ref(message, field, rest).map(|_| ()),
            None => Err(CodecError::BadFieldLength {
                message,
                field,
                ty: ty.name(),
                length: 0,
            }),
        },
        _ => Ok(()),
    }
}

/// Splits `name\0value\0` (exactly two NUL-terminated ASCII strings) into borrowed text.
pub(crate) fn split_pair_ref<'a>(
    message: &'static str,
    field: &'static str,
    b: &'a [u8],
) -> Result<(&'a str, &'a str), CodecError> {
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
    let text = |s: &'a [u8]| -> Result<&'a str, CodecError> {
        check_ascii(message, field, s)?;
        // ASCII is valid UTF-8.
        std::str::from_utf8(s).map_err(|_| CodecError::BadValue {
            message,
            field: field.to_owned(),
            reason: "not ASCII".into(),
        })
    };
    Ok((text(&b[..n1])?, text(&rest[..n2])?))
}

fn check_ascii(message: &'static str, field: &'static str, b: &[u8]) -> Result<(), CodecError> {
    if b.is_ascii() {
        return Ok(());
    }
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

/// Builds the value of a variable-length field whose data [`walk_floating`] has
/// already validated (so this only converts; it checks nothing twice).
fn build_value(
    message: &'static str,
    field: &'static str,
    ty: WireType,
    data: Bytes,
) -> Result<Value, CodecError> {
    Ok(match ty {
        WireType::String => Value::Str(CtiString::from_wire(data)),
        WireType::NamedVar => {
            let (name, value) = split_pair_ref(message, field, &data)?;
            Value::NamedVar(NamedVar {
                name: name.to_owned(),
                value: value.to_owned(),
            })
        }
        WireType::NamedArray => {
            let (index, rest) = data.split_first().map_or((0, &data[..0]), |(i, r)| (*i, r));
            let (name, value) = split_pair_ref(message, field, rest)?;
            Value::NamedArray(NamedArray {
                index,
                name: name.to_owned(),
                value: value.to_owned(),
            })
        }
        _ => Value::Unspec(data),
    })
}

/// Checks every count field of an owned message against the repeated fields it counts
/// (see [`CountCheck::verify`]).
pub(crate) fn check_counts(msg: &Message) -> Result<(), CodecError> {
    let mut counts = CountCheck::new();
    for f in msg.floating() {
        if let Floating::Known { field, value, .. } = f {
            counts.add(usize::from(*field), value.as_u32());
        }
    }
    counts.verify(msg.spec(), |name| msg.u32(name))
}

#[cfg(test)]
mod tests {
    use super::MAX_FLOAT_FIELDS;
    use crate::cti::spec::MESSAGES;

    #[test]
    fn count_arrays_cover_every_message() {
        let widest = MESSAGES.iter().map(|m| m.floating.len()).max().unwrap_or(0);
        assert!(widest <= MAX_FLOAT_FIELDS, "{widest} floating fields");
    }
}
