//! Decoding message bodies into [`Message`]s.

use bytes::Bytes;

use super::frame::{split_frame, Frame};
use super::message::{check_version, Body, Floating, Message, PackedRun};
use super::value::{CtiString, NamedArray, NamedVar, Value};
use super::CodecError;
use crate::cti::spec::{
    self, FixedField, FloatField, MessageSpec, WireType, MAX_COUNT_GROUPS, WIDE_FLOATING_SINCE,
};

/// How strictly received data is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Refuse STRING/UNSPEC fields longer than the data sheet's maximum.
    /// The data sheet advises clients never to reject a received string for
    /// this (DECISIONS.md #25), so sessions turn it off; the default is on.
    pub enforce_max: bool,
    /// Refuse a count field that disagrees with the repeated fields it counts, and a
    /// known floating field whose length does not fit its type. When false (the
    /// tolerant reading) such a message is kept: the count as received, the odd field
    /// as raw bytes (`Value::Unspec`) under its name, and each deviation listed in
    /// [`Message::warnings`]; it re-encodes byte-identically.
    pub strict: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions::strict()
    }
}

impl DecodeOptions {
    /// The default of [`decode`]: everything the data sheet says is checked.
    pub fn strict() -> Self {
        DecodeOptions {
            enforce_max: true,
            strict: true,
        }
    }

    /// The reading a live session uses by default: tolerant of over-long strings,
    /// count mismatches and wrongly sized known fields (flagged as warnings).
    pub fn tolerant() -> Self {
        DecodeOptions {
            enforce_max: false,
            strict: false,
        }
    }

    /// [`DecodeOptions::strict`] when `strict`, else [`DecodeOptions::tolerant`].
    pub fn with_strict(strict: bool) -> Self {
        if strict {
            Self::strict()
        } else {
            Self::tolerant()
        }
    }
}

/// Decodes one whole message (header included) at `version`, strictly.
pub fn decode(bytes: &[u8], version: u32) -> Result<Message, CodecError> {
    decode_with_options(bytes, version, DecodeOptions::default())
}

/// Decodes one whole message (header included) at `version` with `opts`
/// ([`DecodeOptions::tolerant`] accepts and flags what [`decode`] refuses).
pub fn decode_with_options(
    bytes: &[u8],
    version: u32,
    opts: DecodeOptions,
) -> Result<Message, CodecError> {
    let frame = split_frame(bytes)?;
    decode_frame(&frame, version, opts)
}

/// Decodes a frame produced by [`super::FrameSplitter`].
pub fn decode_frame(
    frame: &Frame,
    version: u32,
    opts: DecodeOptions,
) -> Result<Message, CodecError> {
    decode_shared(frame.msg_type, &frame.body, version, opts)
}

/// Decodes a message body of type `msg_type`.
pub fn decode_body(
    msg_type: u32,
    body: Bytes,
    version: u32,
    opts: DecodeOptions,
) -> Result<Message, CodecError> {
    decode_shared(msg_type, &body, version, opts)
}

/// [`decode_body`] without taking a reference count on `body` unless the message keeps
/// part of it (strings, opaque data, an undocumented body).
fn decode_shared(
    msg_type: u32,
    body: &Bytes,
    version: u32,
    opts: DecodeOptions,
) -> Result<Message, CodecError> {
    check_version(version)?;
    let spec = spec::message_by_type(msg_type).ok_or(CodecError::UnknownType { msg_type })?;
    if !spec.documented {
        return Ok(Message::raw(spec, body.clone()));
    }
    with_layouts(spec, version, |layout| {
        decode_with(spec, layout, body, version, opts)
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
    let mut warnings = Vec::new();
    let (floating, packed) =
        decode_floating(spec, body, off, version, opts, &mut counts, &mut warnings)?;
    if !spec.count_groups.is_empty() {
        let checked = counts.verify_all(
            spec,
            &fixed_counts(layout, &fixed),
            |idx| floating_sum(&floating, idx),
            |e| {
                if opts.strict {
                    Err(e)
                } else {
                    warnings.push(e.to_string());
                    Ok(())
                }
            },
        );
        checked?;
    }
    Ok(Message::from_parts(
        spec,
        Body::Fields {
            layout,
            fixed,
            floating,
        },
        packed,
        warnings,
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
/// `visit(tag, known field, data range, elements)` once per wire field. `elements` is
/// 1 except for a list field that arrived packed (see [`packed_elements`]). Allocates
/// nothing.
#[inline]
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
        usize,
    ) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let wide = version >= WIDE_FLOATING_SINCE;
    while off < body.len() {
        let (tag, start) = if wide {
            match body.get(off..off + 4) {
                Some(&[t0, t1, l0, l1]) => (
                    u16::from_be_bytes([t0, t1]),
                    (off + 4, usize::from(u16::from_be_bytes([l0, l1]))),
                ),
                _ => return Err(overrun(spec, off)),
            }
        } else {
            match body.get(off..off + 2) {
                Some(&[t, l]) => (u16::from(t), (off + 2, usize::from(l))),
                _ => return Err(overrun(spec, off)),
            }
        };
        let (start, len) = start;
        let Some(data) = body.get(start..start + len) else {
            return Err(overrun(spec, off));
        };
        let range = start..start + len;
        off = start + len;
        let known = spec.float_by_tag(tag);
        let mut elements = 1;
        if let Some((_, f)) = known {
            elements = check_field(spec, f, data, version, opts)?;
        }
        visit(tag, known, range, elements)?;
    }
    Ok(())
}

#[cold]
fn overrun(spec: &'static MessageSpec, offset: usize) -> CodecError {
    CodecError::FloatingOverrun {
        message: spec.name,
        offset,
    }
}

/// Validates one known floating field's data and returns how many list elements it
/// holds (1 unless it arrived packed; [`ODD_FIELD`] for a wrongly sized field that a
/// tolerant reading keeps as raw bytes). The common cases are inline; the rest is in
/// [`check_field_slow`].
#[inline(always)]
fn check_field(
    spec: &'static MessageSpec,
    f: &'static FloatField,
    data: &[u8],
    version: u32,
    opts: DecodeOptions,
) -> Result<usize, CodecError> {
    match f.ty {
        WireType::String if !f.packed && data.is_ascii() && within_max(f, data, version, opts) => {
            Ok(1)
        }
        WireType::NamedVar if pair_ok(data) && within_max(f, data, version, opts) => Ok(1),
        ty => match ty.fixed_size() {
            Some(size) if data.len() == size => Ok(1),
            _ => check_field_slow(spec, f, data, version, opts),
        },
    }
}

#[inline(always)]
fn within_max(f: &FloatField, data: &[u8], version: u32, opts: DecodeOptions) -> bool {
    !opts.enforce_max
        || f.max_at(version)
            .is_none_or(|m| data.len() <= usize::from(m))
}

/// `name\0value\0`, all ASCII: the fast acceptance test for NAMEDVAR data (anything
/// else goes through [`split_pair_ref`], which gives the precise error). Exactly two
/// NULs with the last byte one of them is the same as "a NUL-terminated name, then a
/// NUL-terminated value, then nothing".
#[inline(always)]
fn pair_ok(b: &[u8]) -> bool {
    // One pass: the number of NULs and the OR of all bytes (ASCII iff bit 7 is clear).
    let (nuls, any) = b
        .iter()
        .fold((0usize, 0u8), |(n, o), &c| (n + usize::from(c == 0), o | c));
    b.last() == Some(&0) && nuls == 2 && any < 0x80
}

fn check_field_slow(
    spec: &'static MessageSpec,
    f: &'static FloatField,
    data: &[u8],
    version: u32,
    opts: DecodeOptions,
) -> Result<usize, CodecError> {
    let len = data.len();
    if let Some(n) = packed_elements(f, len, version) {
        if f.ty == WireType::String {
            for slot in data.chunks(len / n) {
                check_ascii(spec.name, f.name, slot)?;
            }
        }
        return Ok(n);
    }
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
    if f.app_path_id && len == APP_PATH_ID_LEN {
        return Ok(1);
    }
    if !opts.strict && f.ty.fixed_size().is_some_and(|size| size != len) {
        return Ok(ODD_FIELD);
    }
    check_value(spec.name, f.name, f.ty, data)?;
    Ok(1)
}

/// The element count [`walk_floating`] reports for a known field whose length does
/// not fit its fixed-size type, accepted by a tolerant reading as raw bytes.
pub(crate) const ODD_FIELD: usize = 0;

/// The warning text for a wrongly sized field kept as raw bytes.
pub(crate) fn odd_field_warning(f: &FloatField, len: usize) -> String {
    format!(
        "{}: {len} bytes do not fit its type {}; kept as raw bytes",
        f.name,
        f.ty.name()
    )
}

/// Size of one element of a list that may arrive packed (DECISIONS.md #21): the type's
/// size, or for STRING the field's maximum (each element a NUL-padded slot).
pub(crate) fn packed_element_size(f: &FloatField, version: u32) -> Option<usize> {
    if !f.packed {
        return None;
    }
    match f.ty.fixed_size() {
        Some(size) => Some(size),
        None if f.ty == WireType::String => f.max_at(version).map(usize::from),
        None => None,
    }
    .filter(|&size| size > 0)
}

/// How many elements a list field's data holds when it arrived packed: its length is
/// a multiple (two or more) of the element size. `None` for a plain single field.
pub(crate) fn packed_elements(f: &FloatField, len: usize, version: u32) -> Option<usize> {
    let size = packed_element_size(f, version)?;
    (len > size && len.is_multiple_of(size)).then_some(len / size)
}

/// Length of the APPPATHID form of ApplicationPathID (DECISIONS.md #20).
pub(crate) const APP_PATH_ID_LEN: usize = 5;

/// Largest number of floating fields a catalogue message declares (checked by a test).
pub(crate) const MAX_FLOAT_FIELDS: usize = 64;

/// Counts occurrences (list elements) of each floating field during a walk and checks
/// them against their count fields, without allocating.
pub(crate) struct CountCheck {
    occurrences: [u32; MAX_FLOAT_FIELDS],
}

impl CountCheck {
    #[inline]
    pub(crate) fn new() -> Self {
        CountCheck {
            occurrences: [0; MAX_FLOAT_FIELDS],
        }
    }

    /// Adds `n` occurrences of floating field `idx`.
    #[inline]
    pub(crate) fn add(&mut self, idx: usize, n: usize) {
        if let Some(c) = self.occurrences.get_mut(idx) {
            *c = c.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        }
    }

    /// Each repeated field occurs as often as its count says or not at all; at least one
    /// occurs when the count is non-zero; optional per-record fields of configuration
    /// events (counted by `NumRecords`) may occur less often. A count that is itself a
    /// floating field counts across records: the total is the sum of its occurrences,
    /// which `floating_sum(index)` gives; `fixed[i]` is the value of count group `i`'s
    /// fixed-part count field (`None` when the layout has none: no elements allowed).
    #[inline]
    pub(crate) fn verify(
        &self,
        spec: &'static MessageSpec,
        fixed: &[Option<u32>; MAX_COUNT_GROUPS],
        floating_sum: impl Fn(usize) -> u32,
    ) -> Result<(), CodecError> {
        self.verify_all(spec, fixed, floating_sum, Err)
    }

    /// [`CountCheck::verify`] handing every mismatch to `on_mismatch`, which either
    /// stops the check (returns the error) or tolerates it (`Ok`: go on with the
    /// next count group).
    pub(crate) fn verify_all(
        &self,
        spec: &'static MessageSpec,
        fixed: &[Option<u32>; MAX_COUNT_GROUPS],
        floating_sum: impl Fn(usize) -> u32,
        mut on_mismatch: impl FnMut(CodecError) -> Result<(), CodecError>,
    ) -> Result<(), CodecError> {
        for (gi, g) in spec.count_groups.iter().enumerate() {
            let declared = match g.count_floating {
                Some(ci) => floating_sum(usize::from(ci)),
                None => fixed.get(gi).copied().flatten().unwrap_or(0),
            };
            let mut any = false;
            for &j in g.members {
                let j = usize::from(j);
                let present = self.occurrences.get(j).copied().unwrap_or(0);
                if present == 0 {
                    continue;
                }
                any = true;
                let Some(field) = spec.floating.get(j) else {
                    continue;
                };
                let fits = if g.count == "NumRecords" && field.optional {
                    present <= declared
                } else {
                    present == declared
                };
                if !fits {
                    on_mismatch(CodecError::CountMismatch {
                        message: spec.name,
                        count_field: g.count,
                        field: field.name,
                        declared,
                        present: present as usize,
                    })?;
                    break;
                }
            }
            if !any && declared != 0 {
                let first = g
                    .members
                    .first()
                    .and_then(|&j| spec.floating.get(usize::from(j)));
                on_mismatch(CodecError::CountMismatch {
                    message: spec.name,
                    count_field: g.count,
                    field: first.map_or(g.count, |f| f.name),
                    declared,
                    present: 0,
                })?;
            }
        }
        Ok(())
    }
}

/// The fixed-part count values of an owned message's layout, by count group.
pub(crate) fn fixed_counts(
    layout: &[FixedField],
    fixed: &[Value],
) -> [Option<u32>; MAX_COUNT_GROUPS] {
    let mut out = [None; MAX_COUNT_GROUPS];
    for (f, v) in layout.iter().zip(fixed) {
        if let Some(slot) = f.count_group.and_then(|g| out.get_mut(usize::from(g))) {
            *slot = v.as_u32();
        }
    }
    out
}

/// Sum of the values of every occurrence of floating field `idx` in an owned list.
fn floating_sum(floating: &[Floating], idx: usize) -> u32 {
    floating
        .iter()
        .filter_map(|f| match f {
            Floating::Known { field, value, .. } if usize::from(*field) == idx => value.as_u32(),
            _ => None,
        })
        .fold(0u32, u32::saturating_add)
}

fn decode_floating(
    spec: &'static MessageSpec,
    body: &Bytes,
    off: usize,
    version: u32,
    opts: DecodeOptions,
    counts: &mut CountCheck,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Floating>, Vec<PackedRun>), CodecError> {
    let head = if version >= WIDE_FLOATING_SINCE { 4 } else { 2 };
    // Each field takes at least `head` bytes, which bounds the allocation (packed lists
    // may grow it, by at most one element per 2 data bytes).
    let mut out = Vec::with_capacity((body.len() - off) / head);
    let mut runs = Vec::new();
    walk_floating(
        spec,
        body,
        off,
        version,
        opts,
        |tag, known, range, elements| {
            let Some((idx, f)) = known else {
                out.push(Floating::Unknown {
                    tag,
                    data: body.slice(range),
                });
                return Ok(());
            };
            counts.add(idx, elements.max(1));
            let field = idx as u16;
            if elements == ODD_FIELD {
                warnings.push(odd_field_warning(f, range.len()));
                out.push(Floating::Known {
                    tag,
                    field,
                    value: Value::Unspec(body.slice(range)),
                });
                return Ok(());
            }
            if elements > 1 {
                runs.push(PackedRun {
                    start: out.len(),
                    len: elements,
                });
                let size = range.len() / elements;
                for at in range.step_by(size) {
                    out.push(Floating::Known {
                        tag,
                        field,
                        value: element_value(f, body, at..at + size),
                    });
                }
                return Ok(());
            }
            out.push(Floating::Known {
                tag,
                field,
                value: element_value(f, body, range),
            });
            Ok(())
        },
    )?;
    Ok((out, runs))
}

/// The value of one known field (or list element) whose data the walk validated.
#[inline(always)]
fn element_value(f: &'static FloatField, body: &Bytes, range: std::ops::Range<usize>) -> Value {
    let data = &body[range.clone()];
    match f.ty.fixed_size() {
        Some(_) if f.app_path_id && data.len() == APP_PATH_ID_LEN => {
            let mut id = [0u8; APP_PATH_ID_LEN];
            id.copy_from_slice(data);
            Value::AppPathId(id)
        }
        Some(_) => read_number(f.ty, data),
        None => build_value(f.ty, body.slice(range)),
    }
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
/// already validated (so this only converts; it checks nothing twice and cannot fail).
#[inline(always)]
fn build_value(ty: WireType, data: Bytes) -> Value {
    match ty {
        WireType::String => Value::Str(CtiString::from_wire(data)),
        WireType::NamedVar => {
            let (name, value) = pair_parts(&data);
            Value::NamedVar(NamedVar { name, value })
        }
        WireType::NamedArray => {
            let (index, rest) = data.split_first().map_or((0, &data[..0]), |(i, r)| (*i, r));
            let (name, value) = pair_parts(rest);
            Value::NamedArray(NamedArray { index, name, value })
        }
        _ => Value::Unspec(data),
    }
}

/// Name and value of validated `name\0value\0` data.
fn pair_parts(b: &[u8]) -> (String, String) {
    let text = |s: &[u8]| std::str::from_utf8(s).unwrap_or_default().to_owned();
    let n1 = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let value = b.get(n1 + 1..b.len().saturating_sub(1)).unwrap_or_default();
    (text(&b[..n1]), text(value))
}

/// Checks every count field of an owned message against the repeated fields it counts
/// (see [`CountCheck::verify`]).
pub(crate) fn check_counts(msg: &Message) -> Result<(), CodecError> {
    let mut counts = CountCheck::new();
    for f in msg.floating() {
        if let Floating::Known { field, .. } = f {
            counts.add(usize::from(*field), 1);
        }
    }
    if !msg.warnings().is_empty() {
        // Tolerated as received: re-encode as received.
        return Ok(());
    }
    let fixed = match msg.body() {
        Body::Fields { layout, fixed, .. } => fixed_counts(layout, fixed),
        Body::Raw(_) => [None; MAX_COUNT_GROUPS],
    };
    counts.verify(msg.spec(), &fixed, |idx| floating_sum(msg.floating(), idx))
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
