//! The dynamic message form: a catalogue entry plus field values.

use bytes::Bytes;

use super::value::{CtiString, NamedArray, NamedVar, Value};
use super::CodecError;
use crate::cti::spec::{self, FixedField, MessageSpec, WireType};

/// A floating field as received or to be sent, in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Floating {
    /// A field the catalogue knows for this message.
    Known {
        /// Tag it travels with (the main tag or an accepted alternative).
        tag: u16,
        /// Index into the message's `floating` spec list.
        field: u16,
        /// Decoded value.
        value: Value,
    },
    /// A tag the catalogue does not list for this message, kept as raw bytes.
    Unknown {
        /// Tag value.
        tag: u16,
        /// Data bytes.
        data: Bytes,
    },
}

/// Floating fields `start .. start + len` of a message: the elements of one list that
/// arrived packed into a single wire field (DECISIONS.md #21). The encoder sends them
/// the same way, so that re-encoding reproduces the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PackedRun {
    /// Index of the first element in [`Message::floating`].
    pub start: usize,
    /// Number of elements (two or more).
    pub len: usize,
}

/// Body of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A documented message, decoded field by field.
    Fields {
        /// The fixed layout the values follow (version-specific or an alternative).
        layout: &'static [FixedField],
        /// Fixed-part values, one per layout field.
        fixed: Vec<Value>,
        /// Floating fields in wire order.
        floating: Vec<Floating>,
    },
    /// An undocumented message: its body bytes, untouched.
    Raw(Bytes),
}

/// One CTI message in dynamic form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    spec: &'static MessageSpec,
    body: Body,
    /// Lists received packed, in order (empty for anything built or sent by us).
    packed: Vec<PackedRun>,
    /// What a tolerant decode accepted against the data sheet (empty otherwise).
    warnings: Vec<String>,
}

fn zero_of(ty: WireType) -> Value {
    match ty {
        WireType::UChar => Value::UChar(0),
        WireType::Char => Value::Char(0),
        WireType::UShort => Value::UShort(0),
        WireType::Short => Value::Short(0),
        WireType::UInt => Value::UInt(0),
        WireType::Int => Value::Int(0),
        WireType::Bool => Value::Bool(0),
        WireType::Time => Value::Time(0),
        WireType::String => Value::Str(
            CtiString::new("").unwrap_or_else(|| CtiString::from_wire(Bytes::from_static(b"\0"))),
        ),
        WireType::Unspec => Value::Unspec(Bytes::new()),
        WireType::NamedVar => Value::NamedVar(NamedVar {
            name: String::new(),
            value: String::new(),
        }),
        WireType::NamedArray => Value::NamedArray(NamedArray {
            index: 0,
            name: String::new(),
            value: String::new(),
        }),
    }
}

/// Converts an integer to a value of `ty`, refusing values that do not fit.
pub(crate) fn int_value(ty: WireType, v: i64) -> Option<Value> {
    Some(match ty {
        WireType::UChar => Value::UChar(u8::try_from(v).ok()?),
        WireType::Char => Value::Char(i8::try_from(v).ok()?),
        WireType::UShort => Value::UShort(u16::try_from(v).ok()?),
        WireType::Short => Value::Short(i16::try_from(v).ok()?),
        // 4-byte integers are bit patterns: accept both signed and unsigned ranges.
        WireType::UInt => Value::UInt(u32_bits(v)?),
        WireType::Int => Value::Int(u32_bits(v)? as i32),
        WireType::Time => Value::Time(u32::try_from(v).ok()?),
        WireType::Bool => Value::Bool(u16::try_from(v).ok().filter(|b| *b <= 1)?),
        _ => return None,
    })
}

fn u32_bits(v: i64) -> Option<u32> {
    if let Ok(u) = u32::try_from(v) {
        Some(u)
    } else {
        i32::try_from(v).ok().map(|i| i as u32)
    }
}

impl Message {
    /// An empty message of the named type for `version`: fixed fields zero, no floating fields.
    pub fn new(name: &str, version: u32) -> Result<Self, CodecError> {
        let spec = spec::message_by_name(name).ok_or_else(|| CodecError::UnknownName {
            name: name.to_owned(),
        })?;
        Self::for_spec(spec, version)
    }

    /// An empty message of the given catalogue entry for `version`.
    pub fn for_spec(spec: &'static MessageSpec, version: u32) -> Result<Self, CodecError> {
        check_version(version)?;
        if spec.since > version {
            return Err(CodecError::TypeNotInVersion {
                message: spec.name,
                version,
                since: spec.since,
            });
        }
        if !spec.documented {
            return Ok(Message {
                spec,
                body: Body::Raw(Bytes::new()),
                packed: Vec::new(),
                warnings: Vec::new(),
            });
        }
        let layout = spec.layout(version).ok_or(CodecError::TypeNotInVersion {
            message: spec.name,
            version,
            since: spec.since,
        })?;
        Ok(Message {
            spec,
            body: Body::Fields {
                layout: layout.fields,
                fixed: layout.fields.iter().map(|f| zero_of(f.ty)).collect(),
                floating: Vec::new(),
            },
            packed: Vec::new(),
            warnings: Vec::new(),
        })
    }

    /// A message of an undocumented type with the given body.
    pub fn raw(spec: &'static MessageSpec, body: Bytes) -> Self {
        Message {
            spec,
            body: Body::Raw(body),
            packed: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn from_parts(
        spec: &'static MessageSpec,
        body: Body,
        packed: Vec<PackedRun>,
        warnings: Vec<String>,
    ) -> Self {
        Message {
            spec,
            body,
            packed,
            warnings,
        }
    }

    /// What a tolerant decode accepted that the data sheet does not allow: a count
    /// field that disagrees with the fields it counts (kept as received), or a known
    /// field whose length does not fit its type (kept as raw bytes, `Value::Unspec`,
    /// under its name). Empty for a message that follows the data sheet. A message
    /// with warnings re-encodes as received: its counts are not checked again.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Replaces the warning list (the JSON form carries it as `_warnings`).
    pub fn set_warnings(&mut self, warnings: Vec<String>) {
        self.warnings = warnings;
    }

    /// Appends a known field's data as raw bytes whatever its documented type (the
    /// tolerant reading of a wrongly sized field, rebuilt from JSON).
    pub(crate) fn push_raw_known(&mut self, name: &str, data: Bytes) -> Result<(), CodecError> {
        let (idx, f) = self.float_field(name)?;
        let tag = f.tag.ok_or(CodecError::NoTag {
            message: self.spec.name,
            field: f.name,
        })?;
        self.floating_mut()?.push(Floating::Known {
            tag,
            field: idx as u16,
            value: Value::Unspec(data),
        });
        Ok(())
    }

    /// Reorders the floating fields into `order` (one entry per field: the catalogue
    /// index of a known field, `None` for an unknown tag). Fields of each kind keep
    /// their relative order; fields `order` does not mention go last. Packed runs are
    /// dropped (the new order decides the wire form).
    pub(crate) fn reorder_floating(&mut self, order: &[Option<u16>]) -> Result<(), CodecError> {
        let floating = std::mem::take(self.floating_mut()?);
        let mut pool: Vec<Option<Floating>> = floating.into_iter().map(Some).collect();
        let key = |f: &Floating| match f {
            Floating::Known { field, .. } => Some(*field),
            Floating::Unknown { .. } => None,
        };
        let mut out = Vec::with_capacity(pool.len());
        let mut cursor: Vec<(Option<u16>, usize)> = Vec::new();
        for want in order {
            let start = cursor
                .iter()
                .find(|(k, _)| k == want)
                .map_or(0, |(_, at)| *at);
            let found = pool
                .iter()
                .enumerate()
                .skip(start)
                .find(|(_, f)| f.as_ref().is_some_and(|f| key(f) == *want))
                .map(|(i, _)| i);
            if let Some(i) = found {
                if let Some(f) = pool.get_mut(i).and_then(Option::take) {
                    out.push(f);
                }
                match cursor.iter_mut().find(|(k, _)| k == want) {
                    Some(c) => c.1 = i + 1,
                    None => cursor.push((*want, i + 1)),
                }
            }
        }
        out.extend(pool.into_iter().flatten());
        *self.floating_mut()? = out;
        self.packed.clear();
        Ok(())
    }

    /// The lists that arrived packed into one floating field each (DECISIONS.md #21),
    /// as runs of [`Message::floating`]; empty unless the message was decoded from
    /// such bytes. Every other reading (get, get_all, JSON, typed) sees the elements.
    pub fn packed_runs(&self) -> &[PackedRun] {
        &self.packed
    }

    /// Catalogue entry of this message.
    pub fn spec(&self) -> &'static MessageSpec {
        self.spec
    }

    /// MessageType number.
    pub fn msg_type(&self) -> u32 {
        self.spec.msg_type
    }

    /// Canonical message name.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The value of a fixed field, or of the first occurrence of a floating field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match &self.body {
            Body::Fields {
                layout,
                fixed,
                floating,
            } => {
                if let Some(i) = layout.iter().position(|f| f.name == name) {
                    return fixed.get(i);
                }
                let (idx, _) = self.spec.float_by_name(name)?;
                floating.iter().find_map(|f| match f {
                    Floating::Known { field, value, .. } if usize::from(*field) == idx => {
                        Some(value)
                    }
                    _ => None,
                })
            }
            Body::Raw(_) => None,
        }
    }

    /// Every occurrence of a floating field, in wire order.
    pub fn get_all<'a>(&'a self, name: &str) -> Vec<&'a Value> {
        let Some((idx, _)) = self.spec.float_by_name(name) else {
            return Vec::new();
        };
        self.floating()
            .iter()
            .filter_map(|f| match f {
                Floating::Known { field, value, .. } if usize::from(*field) == idx => Some(value),
                _ => None,
            })
            .collect()
    }

    /// A numeric field as a u32 bit pattern.
    pub fn u32(&self, name: &str) -> Option<u32> {
        self.get(name).and_then(Value::as_u32)
    }

    /// A STRING field's text.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Floating fields in wire order (empty for raw messages).
    pub fn floating(&self) -> &[Floating] {
        match &self.body {
            Body::Fields { floating, .. } => floating,
            Body::Raw(_) => &[],
        }
    }

    /// The raw body of an undocumented message.
    pub fn raw_body(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Raw(b) => Some(b),
            Body::Fields { .. } => None,
        }
    }

    /// InvokeID, if the message carries one in its fixed part.
    pub fn invoke_id(&self) -> Option<u32> {
        match &self.body {
            Body::Fields { layout, fixed, .. } => layout
                .iter()
                .position(|f| f.name == "InvokeID")
                .and_then(|i| fixed.get(i))
                .and_then(Value::as_u32),
            Body::Raw(b) => {
                // Undocumented requests/confirmations conventionally start with the InvokeID.
                let is_req = self.spec.name.ends_with("_REQ")
                    || self.spec.name.ends_with("_CONF")
                    || self.spec.name.ends_with("_RESP");
                (is_req && b.len() >= 4).then(|| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
        }
    }

    /// Sets a fixed field from an integer (range-checked against its type).
    /// Also sets a non-repeated numeric floating field.
    pub fn set_int(&mut self, name: &str, v: i64) -> Result<&mut Self, CodecError> {
        let msg = self.spec.name;
        let bad = |reason: String| CodecError::BadValue {
            message: msg,
            field: name.to_owned(),
            reason,
        };
        match &mut self.body {
            Body::Raw(_) => Err(CodecError::RawOnly { message: msg }),
            Body::Fields { layout, fixed, .. } => {
                if let Some(i) = layout.iter().position(|f| f.name == name) {
                    let ty = layout[i].ty;
                    let value = int_value(ty, v)
                        .ok_or_else(|| bad(format!("{v} does not fit {}", ty.name())))?;
                    fixed[i] = value;
                    return Ok(self);
                }
                let (_, f) =
                    self.spec
                        .float_by_name(name)
                        .ok_or_else(|| CodecError::NoSuchField {
                            message: msg,
                            field: name.to_owned(),
                        })?;
                let value = int_value(f.ty, v)
                    .ok_or_else(|| bad(format!("{v} does not fit {}", f.ty.name())))?;
                self.put_floating(name, value)
            }
        }
    }

    /// Sets a non-repeated STRING floating field (replacing an earlier value).
    pub fn set_str(&mut self, name: &str, text: &str) -> Result<&mut Self, CodecError> {
        let s = CtiString::new(text).ok_or_else(|| CodecError::BadValue {
            message: self.spec.name,
            field: name.to_owned(),
            reason: "text must be ASCII without NUL".into(),
        })?;
        self.put_floating(name, Value::Str(s))
    }

    /// Sets a non-repeated UNSPEC floating field.
    pub fn set_bytes(
        &mut self,
        name: &str,
        data: impl Into<Bytes>,
    ) -> Result<&mut Self, CodecError> {
        self.put_floating(name, Value::Unspec(data.into()))
    }

    /// Replaces or adds a non-repeated floating field with `value`.
    pub fn put_floating(&mut self, name: &str, value: Value) -> Result<&mut Self, CodecError> {
        let (idx, f) = self.float_field(name)?;
        if f.repeat.is_some() {
            return self.push_floating(name, value);
        }
        let tag = f.tag.ok_or(CodecError::NoTag {
            message: self.spec.name,
            field: f.name,
        })?;
        check_type(self.spec.name, f, &value)?;
        let floating = self.floating_mut()?;
        let idx16 = idx as u16;
        if let Some(slot) = floating.iter_mut().find_map(|x| match x {
            Floating::Known { field, value, .. } if *field == idx16 => Some(value),
            _ => None,
        }) {
            *slot = value;
        } else {
            floating.push(Floating::Known {
                tag,
                field: idx16,
                value,
            });
        }
        Ok(self)
    }

    /// Appends one occurrence of a floating field and updates its count field.
    pub fn push_floating(&mut self, name: &str, value: Value) -> Result<&mut Self, CodecError> {
        self.push_floating_uncounted(name, value)?;
        let (_, f) = self.float_field(name)?;
        if let Some(count) = f.repeat {
            let n = self.get_all(name).len();
            self.set_count(count, n)?;
        }
        Ok(self)
    }

    /// Appends one occurrence of a floating field without touching its count field
    /// (bulk builders set counts once at the end with [`Message::update_counts`]).
    pub(crate) fn push_floating_uncounted(
        &mut self,
        name: &str,
        value: Value,
    ) -> Result<(), CodecError> {
        let (idx, f) = self.float_field(name)?;
        let tag = f.tag.ok_or(CodecError::NoTag {
            message: self.spec.name,
            field: f.name,
        })?;
        check_type(self.spec.name, f, &value)?;
        self.floating_mut()?.push(Floating::Known {
            tag,
            field: idx as u16,
            value,
        });
        Ok(())
    }

    /// Sets every plain count field to the number of occurrences of the fields it counts
    /// (one pass over the floating fields; per-record counts are left to the caller).
    pub fn update_counts(&mut self) -> Result<(), CodecError> {
        let spec = self.spec;
        let mut occurrences = vec![0usize; spec.floating.len()];
        for f in self.floating() {
            if let Floating::Known { field, .. } = f {
                if let Some(n) = occurrences.get_mut(usize::from(*field)) {
                    *n += 1;
                }
            }
        }
        let mut done: Vec<&str> = Vec::new();
        for f in spec.floating {
            let Some(count) = f.repeat else { continue };
            if done.contains(&count) {
                continue;
            }
            let n = spec
                .floating
                .iter()
                .zip(&occurrences)
                .filter(|(g, _)| g.repeat == Some(count))
                .map(|(_, n)| *n)
                .max()
                .unwrap_or(0);
            // A floating count (OPEN_CONF.NumPeripherals) is only sent with its list.
            let floating_count = spec.float_by_name(count).is_some();
            if n > 0 || !floating_count {
                self.set_count(count, n)?;
            }
            done.push(count);
        }
        Ok(())
    }

    /// Adds a named variable (NAMEDVAR) and updates NumNamedVariables.
    pub fn add_named_var(&mut self, name: &str, value: &str) -> Result<&mut Self, CodecError> {
        self.push_floating(
            "NamedVariable",
            Value::NamedVar(NamedVar {
                name: name.to_owned(),
                value: value.to_owned(),
            }),
        )
    }

    /// Adds a named array element (NAMEDARRAY) and updates NumNamedArrays.
    pub fn add_named_array(
        &mut self,
        index: u8,
        name: &str,
        value: &str,
    ) -> Result<&mut Self, CodecError> {
        self.push_floating(
            "NamedArray",
            Value::NamedArray(NamedArray {
                index,
                name: name.to_owned(),
                value: value.to_owned(),
            }),
        )
    }

    /// Appends a floating field the catalogue does not know, as raw bytes.
    /// A tag the catalogue lists for this message is refused: set that field instead.
    pub fn push_unknown(
        &mut self,
        tag: u16,
        data: impl Into<Bytes>,
    ) -> Result<&mut Self, CodecError> {
        if let Some((_, f)) = self.spec.float_by_tag(tag) {
            return Err(CodecError::BadValue {
                message: self.spec.name,
                field: f.name.to_owned(),
                reason: format!(
                    "tag {tag} is this message's {} field; set it by name",
                    f.name
                ),
            });
        }
        self.floating_mut()?.push(Floating::Unknown {
            tag,
            data: data.into(),
        });
        Ok(self)
    }

    fn set_count(&mut self, count: &str, n: usize) -> Result<(), CodecError> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let fixed_has = matches!(&self.body, Body::Fields { layout, .. } if layout.iter().any(|f| f.name == count));
        if fixed_has {
            self.set_int(count, n)?;
        } else if self
            .spec
            .float_by_name(count)
            .is_some_and(|(_, f)| f.repeat.is_none())
        {
            // A floating count (OPEN_CONF.NumPeripherals). A per-record count (itself
            // repeated, CONFIG_TERMINAL_EVENT.NumInstruments) is the caller's to set.
            let (_, f) = self.float_field(count)?;
            let v = int_value(f.ty, n).ok_or_else(|| CodecError::BadValue {
                message: self.spec.name,
                field: count.to_owned(),
                reason: "too many occurrences".into(),
            })?;
            self.put_floating(count, v)?;
        }
        Ok(())
    }

    fn float_field(
        &self,
        name: &str,
    ) -> Result<(usize, &'static crate::cti::spec::FloatField), CodecError> {
        self.spec
            .float_by_name(name)
            .ok_or_else(|| CodecError::NoSuchField {
                message: self.spec.name,
                field: name.to_owned(),
            })
    }

    fn floating_mut(&mut self) -> Result<&mut Vec<Floating>, CodecError> {
        match &mut self.body {
            Body::Fields { floating, .. } => Ok(floating),
            Body::Raw(_) => Err(CodecError::RawOnly {
                message: self.spec.name,
            }),
        }
    }
}

fn check_type(
    message: &'static str,
    f: &'static crate::cti::spec::FloatField,
    value: &Value,
) -> Result<(), CodecError> {
    let (field, ty) = (f.name, f.ty);
    let ok = (f.app_path_id && matches!(value, Value::AppPathId(_)))
        || matches!(
            (ty, value),
            (WireType::UChar, Value::UChar(_))
                | (WireType::Char, Value::Char(_))
                | (WireType::UShort, Value::UShort(_))
                | (WireType::Short, Value::Short(_))
                | (WireType::UInt, Value::UInt(_))
                | (WireType::Int, Value::Int(_))
                | (WireType::Bool, Value::Bool(_))
                | (WireType::Time, Value::Time(_))
                | (WireType::String, Value::Str(_))
                | (WireType::Unspec, Value::Unspec(_))
                | (WireType::NamedVar, Value::NamedVar(_))
                | (WireType::NamedArray, Value::NamedArray(_))
        );
    let text_ok = |t: &str| t.is_ascii() && !t.contains('\0');
    let texts_ok = match value {
        Value::NamedVar(n) => text_ok(&n.name) && text_ok(&n.value),
        Value::NamedArray(n) => text_ok(&n.name) && text_ok(&n.value),
        _ => true,
    };
    if !texts_ok {
        return Err(CodecError::BadValue {
            message,
            field: field.to_owned(),
            reason: "names and values must be ASCII without NUL".into(),
        });
    }
    if ok {
        Ok(())
    } else {
        Err(CodecError::BadValue {
            message,
            field: field.to_owned(),
            reason: format!("expected a {} value", ty.name()),
        })
    }
}

/// Fails unless `version` is between 15 and 25.
pub fn check_version(version: u32) -> Result<(), CodecError> {
    if (spec::MIN_PROTOCOL_VERSION..=spec::MAX_PROTOCOL_VERSION).contains(&version) {
        Ok(())
    } else {
        Err(CodecError::UnsupportedVersion { version })
    }
}
