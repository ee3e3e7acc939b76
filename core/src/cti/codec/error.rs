//! Errors of the CTI codec.

use thiserror::Error;

/// Why a frame or message could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodecError {
    /// MessageLength exceeds the protocol maximum (12,492 body bytes).
    #[error("message length {length} exceeds the maximum of {max} bytes")]
    MessageTooLong {
        /// Claimed or produced body length.
        length: usize,
        /// Maximum body length.
        max: usize,
    },
    /// Fewer bytes than the 8-byte header.
    #[error("truncated frame: {have} bytes, need {need}")]
    Truncated {
        /// Bytes available.
        have: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The type number is not in the catalogue.
    #[error("unknown message type {msg_type}")]
    UnknownType {
        /// The MessageType received.
        msg_type: u32,
    },
    /// No message of that name.
    #[error("unknown message name {name:?}")]
    UnknownName {
        /// The name given.
        name: String,
    },
    /// Protocol version outside 15..=25.
    #[error("protocol version {version} is not supported (15 to 25)")]
    UnsupportedVersion {
        /// The version given.
        version: u32,
    },
    /// The message does not exist in this protocol version.
    #[error("{message} does not exist in protocol version {version} (added in {since})")]
    TypeNotInVersion {
        /// Message name.
        message: &'static str,
        /// Session version.
        version: u32,
        /// First version with the message.
        since: u32,
    },
    /// The body is shorter than the fixed part.
    #[error("{message}: body of {have} bytes is shorter than its {need}-byte fixed part")]
    ShortFixedPart {
        /// Message name.
        message: &'static str,
        /// Body bytes.
        have: usize,
        /// Fixed part size.
        need: usize,
    },
    /// A floating field's header or data runs past the end of the message.
    #[error("{message}: floating field at offset {offset} runs past the end of the message")]
    FloatingOverrun {
        /// Message name.
        message: &'static str,
        /// Offset in the body.
        offset: usize,
    },
    /// A fixed-size floating field has the wrong length.
    #[error("{message}.{field}: length {length} does not fit type {ty}")]
    BadFieldLength {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: &'static str,
        /// Wire type.
        ty: &'static str,
        /// Length received.
        length: usize,
    },
    /// A field is longer than the data sheet allows.
    #[error("{message}.{field}: {length} bytes exceeds the maximum of {max}")]
    FieldTooLong {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: &'static str,
        /// Length.
        length: usize,
        /// Maximum.
        max: usize,
    },
    /// A STRING holds a non-ASCII byte.
    #[error("{message}.{field}: string holds non-ASCII byte 0x{byte:02X}")]
    NonAscii {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: &'static str,
        /// Offending byte.
        byte: u8,
    },
    /// A STRING lacks its terminating NUL (NAMEDVAR/NAMEDARRAY parts must have one).
    #[error("{message}.{field}: string is not NUL-terminated")]
    MissingNul {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// A count field disagrees with the repeated fields present.
    #[error("{message}.{count_field} is {declared} but {field} occurs {present} times")]
    CountMismatch {
        /// Message name.
        message: &'static str,
        /// Count field name.
        count_field: &'static str,
        /// Repeated field name.
        field: &'static str,
        /// Value of the count field.
        declared: u32,
        /// Occurrences present.
        present: usize,
    },
    /// A required floating field is missing when encoding.
    #[error("{message}: required field {field} is missing")]
    MissingField {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// The tag cannot be sent in this protocol version.
    #[error("{message}.{field}: tag {tag} is not valid in protocol version {version}")]
    TagNotInVersion {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: &'static str,
        /// Tag value.
        tag: u16,
        /// Session version.
        version: u32,
    },
    /// The field has no tag in the data sheet, so it cannot be sent.
    #[error("{message}.{field} has no known tag and cannot be encoded")]
    NoTag {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: &'static str,
    },
    /// No field of that name in the message.
    #[error("{message} has no field {field:?}")]
    NoSuchField {
        /// Message name.
        message: &'static str,
        /// Field name given.
        field: String,
    },
    /// A value does not fit the field.
    #[error("{message}.{field}: {reason}")]
    BadValue {
        /// Message name.
        message: &'static str,
        /// Field name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The message body cannot be edited field by field (undocumented layout).
    #[error("{message} has no documented layout; only its raw body can be set")]
    RawOnly {
        /// Message name.
        message: &'static str,
    },
    /// An earlier framing error broke the stream; it cannot be resynchronised.
    #[error("stream is broken after an earlier framing error; reconnect")]
    BrokenStream,
    /// A JSON document does not describe a message.
    #[error("invalid message JSON: {0}")]
    Json(String),
}

impl CodecError {
    /// Short stable identifier of the error kind, for bindings.
    pub fn kind(&self) -> &'static str {
        match self {
            CodecError::MessageTooLong { .. } => "MessageTooLong",
            CodecError::Truncated { .. } => "Truncated",
            CodecError::UnknownType { .. } => "UnknownType",
            CodecError::UnknownName { .. } => "UnknownName",
            CodecError::UnsupportedVersion { .. } => "UnsupportedVersion",
            CodecError::TypeNotInVersion { .. } => "TypeNotInVersion",
            CodecError::ShortFixedPart { .. } => "ShortFixedPart",
            CodecError::FloatingOverrun { .. } => "FloatingOverrun",
            CodecError::BadFieldLength { .. } => "BadFieldLength",
            CodecError::FieldTooLong { .. } => "FieldTooLong",
            CodecError::NonAscii { .. } => "NonAscii",
            CodecError::MissingNul { .. } => "MissingNul",
            CodecError::CountMismatch { .. } => "CountMismatch",
            CodecError::MissingField { .. } => "MissingField",
            CodecError::TagNotInVersion { .. } => "TagNotInVersion",
            CodecError::NoTag { .. } => "NoTag",
            CodecError::NoSuchField { .. } => "NoSuchField",
            CodecError::BadValue { .. } => "BadValue",
            CodecError::RawOnly { .. } => "RawOnly",
            CodecError::BrokenStream => "BrokenStream",
            CodecError::Json(_) => "Json",
        }
    }
}
