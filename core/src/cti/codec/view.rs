//! A borrowed, allocation-free view of a message: the fast path for readers that
//! only need some fields (bridges, recorders, routers).
//!
//! [`MessageRef::parse`] validates the whole body exactly as [`super::decode`] does
//! (fixed part, every floating field, counts) without allocating or copying; field
//! accessors then read straight from the received bytes.
//!
//! ```
//! use cce::cti::codec::{encode, Message, MessageRef, DecodeOptions, frame::split_frame};
//! let mut m = Message::new("END_CALL_EVENT", 24)?;
//! m.set_int("ConnectionCallID", 7)?.set_str("ConnectionDeviceID", "5001")?;
//! let wire = encode(&m, 24)?;
//! let frame = split_frame(&wire)?;
//! let view = MessageRef::parse(frame.msg_type, &frame.body, 24, DecodeOptions::default())?;
//! assert_eq!(view.u32("ConnectionCallID"), Some(7));
//! assert_eq!(view.str("ConnectionDeviceID"), Some("5001"));
//! assert_eq!(view.to_owned_message()?, m);
//! # Ok::<(), cce::cti::codec::CodecError>(())
//! ```

use super::decode::{packed_elements, split_pair_ref, walk_floating, with_layouts, CountCheck};
use super::{decode_body, CodecError, DecodeOptions, Message};
use crate::cti::spec::{self, FixedField, FloatField, MessageSpec, WireType, MAX_COUNT_GROUPS};

/// One floating field of a view: its tag, the catalogue field if known, and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef<'a> {
    /// Tag as received.
    pub tag: u16,
    /// The catalogue's field for this tag, `None` for an unknown tag.
    pub field: Option<&'static FloatField>,
    /// The data bytes.
    pub data: &'a [u8],
}

impl<'a> FieldRef<'a> {
    /// Numeric value (bit pattern) of a fixed-size field.
    pub fn u32(&self) -> Option<u32> {
        let ty = self.field?.ty;
        read_u32(ty, self.data)
    }

    /// Text of a STRING field, up to its first NUL.
    pub fn str(&self) -> Option<&'a str> {
        match self.field?.ty {
            WireType::String => Some(text(self.data)),
            _ => None,
        }
    }

    /// Name and value of a NAMEDVAR field.
    pub fn named_var(&self) -> Option<(&'a str, &'a str)> {
        match self.field? {
            f if f.ty == WireType::NamedVar => split_pair_ref("", f.name, self.data).ok(),
            _ => None,
        }
    }

    /// Index, name and value of a NAMEDARRAY field.
    pub fn named_array(&self) -> Option<(u8, &'a str, &'a str)> {
        let f = self.field?;
        if f.ty != WireType::NamedArray {
            return None;
        }
        let (&index, rest) = self.data.split_first()?;
        let (n, v) = split_pair_ref("", f.name, rest).ok()?;
        Some((index, n, v))
    }
}

pub(crate) fn read_u32(ty: WireType, b: &[u8]) -> Option<u32> {
    Some(match (ty, b.len()) {
        (WireType::UChar, 1) => u32::from(b[0]),
        (WireType::Char, 1) => b[0] as i8 as u32,
        (WireType::UShort | WireType::Bool, 2) => u32::from(u16::from_be_bytes([b[0], b[1]])),
        (WireType::Short, 2) => i16::from_be_bytes([b[0], b[1]]) as u32,
        (WireType::UInt | WireType::Int | WireType::Time, 4) => {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        }
        _ => return None,
    })
}

fn text(b: &[u8]) -> &str {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    // Validated ASCII during parse.
    std::str::from_utf8(&b[..end]).unwrap_or("")
}

/// A validated message borrowed from its received bytes.
#[derive(Debug, Clone, Copy)]
pub struct MessageRef<'a> {
    spec: &'static MessageSpec,
    layout: &'static [FixedField],
    body: &'a [u8],
    floating_at: usize,
    version: u32,
    /// Whether the body has a shape only the owned JSON path renders (see [`MessageRef::plain`]).
    unusual: bool,
    /// How it was validated: an owned copy decodes the same way (the same layout).
    opts: DecodeOptions,
}

/// The validated parts of a view, without the borrowed body: what an owned handle
/// ([`crate::cti::Event`]) keeps to re-borrow a view of its bytes without validating again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViewParts {
    pub(crate) spec: &'static MessageSpec,
    pub(crate) layout: &'static [FixedField],
    pub(crate) floating_at: usize,
    pub(crate) version: u32,
    pub(crate) unusual: bool,
    pub(crate) opts: DecodeOptions,
}

impl<'a> MessageRef<'a> {
    /// Validates a message body of type `msg_type` at `version` and borrows it.
    /// Undocumented messages are accepted with an empty layout (the body is opaque).
    pub fn parse(
        msg_type: u32,
        body: &'a [u8],
        version: u32,
        opts: DecodeOptions,
    ) -> Result<Self, CodecError> {
        super::check_version(version)?;
        let spec = spec::message_by_type(msg_type).ok_or(CodecError::UnknownType { msg_type })?;
        if !spec.documented {
            return Ok(MessageRef {
                spec,
                layout: &[],
                body,
                floating_at: body.len(),
                version,
                unusual: false,
                opts,
            });
        }
        with_layouts(spec, version, |layout| {
            Self::parse_with(spec, layout, body, version, opts)
        })
    }

    fn parse_with(
        spec: &'static MessageSpec,
        layout: &'static [FixedField],
        body: &'a [u8],
        version: u32,
        opts: DecodeOptions,
    ) -> Result<Self, CodecError> {
        // The fixed part's size, and the count fields' values on the way.
        let mut need = 0;
        let mut fixed = [None; MAX_COUNT_GROUPS];
        for f in layout {
            let size = f.ty.fixed_size().unwrap_or(0);
            if let Some(slot) = f.count_group.and_then(|g| fixed.get_mut(usize::from(g))) {
                *slot = body.get(need..need + size).and_then(|b| read_u32(f.ty, b));
            }
            need += size;
        }
        if body.len() < need {
            return Err(CodecError::ShortFixedPart {
                message: spec.name,
                have: body.len(),
                need,
            });
        }
        let mut view = MessageRef {
            spec,
            layout,
            body,
            floating_at: need,
            version,
            unusual: false,
            opts,
        };
        let mut counts = CountCheck::new();
        let mut mismatch = false;
        // Plain: known fields only, one element each (not packed, not wrongly sized).
        let mut plain = true;
        walk_floating(spec, body, need, version, opts, |_, known, _, elements| {
            match known {
                Some((idx, _)) => {
                    // A wrongly sized field a tolerant reading keeps counts once.
                    counts.add(idx, elements.max(1));
                    plain &= elements == 1;
                }
                None => plain = false,
            }
            Ok(())
        })?;
        view.unusual = !plain;
        if !spec.count_groups.is_empty() {
            counts.verify_all(
                spec,
                &fixed,
                |idx| {
                    let want = spec.floating.get(idx);
                    view.fields()
                        .filter(
                            |f| matches!((f.field, want), (Some(a), Some(b)) if std::ptr::eq(a, b)),
                        )
                        .filter_map(|f| f.u32())
                        .fold(0u32, u32::saturating_add)
                },
                // The tolerant reading accepts a count mismatch as decode does.
                |e| {
                    if opts.strict {
                        Err(e)
                    } else {
                        mismatch = true;
                        Ok(())
                    }
                },
            )?;
        }
        view.unusual |= mismatch;
        Ok(view)
    }

    /// The validated parts, to rebuild the view later with [`MessageRef::from_parts`].
    pub(crate) fn parts(&self) -> ViewParts {
        ViewParts {
            spec: self.spec,
            layout: self.layout,
            floating_at: self.floating_at,
            version: self.version,
            unusual: self.unusual,
            opts: self.opts,
        }
    }

    /// The view of `body` that [`MessageRef::parts`] described (the same bytes).
    pub(crate) fn from_parts(parts: ViewParts, body: &'a [u8]) -> Self {
        MessageRef {
            spec: parts.spec,
            layout: parts.layout,
            body,
            floating_at: parts.floating_at,
            version: parts.version,
            unusual: parts.unusual,
            opts: parts.opts,
        }
    }

    /// Whether the message has the usual shape: only known floating fields, one value
    /// per wire field (no packed list, no wrongly sized field), and no count a tolerant
    /// reading had to accept. JSON of any other shape carries `_unknown`, `_warnings`
    /// or `_raw` keys.
    pub fn plain(&self) -> bool {
        !self.unusual
    }

    /// The protocol version the view was read at.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The fixed fields of the layout the body was read with, each with its value's
    /// bytes (empty for an undocumented message).
    pub fn fixed(&self) -> impl Iterator<Item = (&'static FixedField, &'a [u8])> + 'a {
        let body = self.body;
        let mut off = 0;
        self.layout.iter().map(move |f| {
            let size = f.ty.fixed_size().unwrap_or(0);
            let data = body.get(off..off + size).unwrap_or_default();
            off += size;
            (f, data)
        })
    }

    /// Catalogue entry.
    pub fn spec(&self) -> &'static MessageSpec {
        self.spec
    }

    /// Canonical message name.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// MessageType.
    pub fn msg_type(&self) -> u32 {
        self.spec.msg_type
    }

    /// The body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// A fixed field's value (bit pattern), or the first occurrence of a numeric floating field.
    pub fn u32(&self, name: &str) -> Option<u32> {
        let mut off = 0;
        for f in self.layout {
            let size = f.ty.fixed_size().unwrap_or(0);
            if f.name == name {
                return read_u32(f.ty, self.body.get(off..off + size)?);
            }
            off += size;
        }
        self.field(name).and_then(|f| f.u32())
    }

    /// A STRING floating field's text (first occurrence).
    pub fn str(&self, name: &str) -> Option<&'a str> {
        self.field(name).and_then(|f| f.str())
    }

    /// The first occurrence of a floating field.
    pub fn field(&self, name: &str) -> Option<FieldRef<'a>> {
        let (_, want) = self.spec.float_by_name(name)?;
        self.fields()
            .find(|f| f.field.is_some_and(|x| std::ptr::eq(x, want)))
    }

    /// Every floating field in wire order; a list that arrived packed into one field
    /// (DECISIONS.md #21) gives one item per element.
    pub fn fields(&self) -> impl Iterator<Item = FieldRef<'a>> + 'a {
        self.field_iter()
    }

    pub(crate) fn field_iter(&self) -> FieldIter<'a> {
        FieldIter {
            spec: self.spec,
            body: self.body,
            off: self.floating_at,
            version: self.version,
            packed: None,
        }
    }

    /// Copies the view into an owned [`Message`].
    pub fn to_owned_message(&self) -> Result<Message, CodecError> {
        decode_body(
            self.spec.msg_type,
            bytes::Bytes::copy_from_slice(self.body),
            self.version,
            self.opts,
        )
    }
}

/// Iterates floating fields of an already validated body.
#[derive(Clone)]
pub(crate) struct FieldIter<'a> {
    spec: &'static MessageSpec,
    body: &'a [u8],
    off: usize,
    version: u32,
    /// The rest of a packed list: its tag, field, remaining data and element size.
    packed: Option<(u16, &'static FloatField, &'a [u8], usize)>,
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = FieldRef<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((tag, f, rest, size)) = self.packed.take() {
            let (data, tail) = rest.split_at(size.min(rest.len()));
            if !tail.is_empty() {
                self.packed = Some((tag, f, tail, size));
            }
            return Some(FieldRef {
                tag,
                field: Some(f),
                data,
            });
        }
        let b = self.body;
        let o = self.off;
        let (tag, len, head) = if self.version >= spec::WIDE_FLOATING_SINCE {
            let h = b.get(o..o + 4)?;
            (
                u16::from_be_bytes([h[0], h[1]]),
                usize::from(u16::from_be_bytes([h[2], h[3]])),
                4,
            )
        } else {
            let h = b.get(o..o + 2)?;
            (u16::from(h[0]), usize::from(h[1]), 2)
        };
        let data = b.get(o + head..o + head + len)?;
        self.off = o + head + len;
        // Parse validated the data (and the accessors of FieldRef check lengths).
        let field = self.spec.float_by_tag(tag).map(|(_, f)| f);
        if let Some(f) = field {
            if let Some(n) = packed_elements(f, len, self.version) {
                let size = len / n;
                let (first, rest) = data.split_at(size);
                self.packed = Some((tag, f, rest, size));
                return Some(FieldRef {
                    tag,
                    field,
                    data: first,
                });
            }
        }
        Some(FieldRef { tag, field, data })
    }
}
