//! Field values as they travel on the wire.

use bytes::Bytes;

/// ASCII text exactly as carried on the wire (terminating NUL included when
/// the peer sent one), so that re-encoding reproduces the same bytes.
/// Cloning is cheap: the bytes are shared with the received frame.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CtiString(Bytes);

impl CtiString {
    /// Builds a string from text, adding the terminating NUL.
    /// Returns `None` if the text holds a non-ASCII character or a NUL.
    pub fn new(text: &str) -> Option<Self> {
        if !text.is_ascii() || text.contains('\0') {
            return None;
        }
        let mut v = Vec::with_capacity(text.len() + 1);
        v.extend_from_slice(text.as_bytes());
        v.push(0);
        Some(CtiString(Bytes::from(v)))
    }

    /// Wraps wire bytes without checking them (the decoder validates first).
    pub(crate) fn from_wire(bytes: Bytes) -> Self {
        CtiString(bytes)
    }

    /// The text up to the first NUL.
    pub fn as_str(&self) -> &str {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        // Validated ASCII up to the first NUL, so this cannot fail; fall back to "" defensively.
        std::str::from_utf8(&self.0[..end]).unwrap_or("")
    }

    /// The bytes as they travel on the wire.
    pub fn wire_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl std::fmt::Debug for CtiString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for CtiString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A named call variable (NAMEDVAR): `name\0value\0` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedVar {
    /// Variable name, without NUL.
    pub name: String,
    /// Variable value, without NUL.
    pub value: String,
}

/// A named call array element (NAMEDARRAY): `index name\0value\0` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedArray {
    /// Array index.
    pub index: u8,
    /// Array name, without NUL.
    pub name: String,
    /// Element value, without NUL.
    pub value: String,
}

/// One field value, typed as the data sheet types the field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// UCHAR.
    UChar(u8),
    /// CHAR.
    Char(i8),
    /// USHORT.
    UShort(u16),
    /// SHORT.
    Short(i16),
    /// UINT.
    UInt(u32),
    /// INT.
    Int(i32),
    /// BOOL, kept as its 2-byte wire value (0 false, 1 true).
    Bool(u16),
    /// TIME: seconds since 1970-01-01 UTC.
    Time(u32),
    /// STRING.
    Str(CtiString),
    /// UNSPEC: opaque bytes.
    Unspec(Bytes),
    /// NAMEDVAR.
    NamedVar(NamedVar),
    /// NAMEDARRAY.
    NamedArray(NamedArray),
    /// APPPATHID: the 5-byte type the data sheet defines without a layout, as a peer
    /// may send it in ApplicationPathID (printed INT 4; DECISIONS.md #20). Kept as
    /// received so that re-encoding reproduces it; builders send the INT form. The
    /// typed structs, which hold an `i32`, refuse a message carrying this form.
    AppPathId([u8; 5]),
}

impl Value {
    /// The value as an unsigned 32-bit bit pattern, for every numeric type.
    pub fn as_u32(&self) -> Option<u32> {
        Some(match *self {
            Value::UChar(v) => u32::from(v),
            Value::Char(v) => v as u32,
            Value::UShort(v) => u32::from(v),
            Value::Short(v) => v as u32,
            Value::UInt(v) | Value::Time(v) => v,
            Value::Int(v) => v as u32,
            Value::Bool(v) => u32::from(v),
            _ => return None,
        })
    }

    /// The value as a signed integer, for every numeric type.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self {
            Value::UChar(v) => i64::from(v),
            Value::Char(v) => i64::from(v),
            Value::UShort(v) => i64::from(v),
            Value::Short(v) => i64::from(v),
            Value::UInt(v) | Value::Time(v) => i64::from(v),
            Value::Int(v) => i64::from(v),
            Value::Bool(v) => i64::from(v),
            _ => return None,
        })
    }

    /// The text of a STRING value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
}
