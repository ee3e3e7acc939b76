//! The GED-188 codec: framing, the dynamic message form, decoding, encoding and JSON.
//!
//! No I/O happens here. Layouts come from the generated tables in [`crate::cti::spec`].
//!
//! ```
//! use cce::cti::codec::{decode, encode, Message};
//! let mut m = Message::new("HEARTBEAT_REQ", 24)?;
//! m.set_int("InvokeID", 7)?;
//! let wire = encode(&m, 24)?;
//! assert_eq!(&wire[..], &[0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 7]);
//! assert_eq!(decode(&wire, 24)?, m);
//! # Ok::<(), cce::cti::codec::CodecError>(())
//! ```

mod decode;
mod encode;
mod error;
pub mod frame;
pub mod json;
pub mod json_write;
mod message;
mod value;
mod view;

pub use decode::{decode, decode_body, decode_frame, decode_with_options, DecodeOptions};
pub use encode::{encode, encode_into};
pub use error::CodecError;
pub use frame::{Frame, FrameRef, FrameSplitter, HEADER_LEN, MAX_BODY_LEN, MAX_MESSAGE_LEN};
pub(crate) use message::int_value;
pub use message::{check_version, Body, Floating, Message, PackedRun};
pub use value::{CtiString, NamedArray, NamedVar, Value};
pub(crate) use view::{read_u32 as view_read_u32, ViewParts};
pub use view::{FieldRef, MessageRef};
