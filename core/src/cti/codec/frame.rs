//! Framing: the 8-byte MHDR and a streaming splitter for partial TCP reads.

use bytes::{Buf, Bytes, BytesMut};

use super::CodecError;

/// Size of the message header (MessageLength + MessageType).
pub const HEADER_LEN: usize = 8;
/// Largest message including the header.
pub const MAX_MESSAGE_LEN: usize = 12_500;
/// Largest MessageLength (body only).
pub const MAX_BODY_LEN: usize = MAX_MESSAGE_LEN - HEADER_LEN;

/// One framed message: its type and body (header removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// MessageType from the header.
    pub msg_type: u32,
    /// The MessageLength bytes after the header.
    pub body: Bytes,
}

/// Reads the header of `buf`: (MessageLength, MessageType).
pub fn parse_header(buf: &[u8]) -> Result<(usize, u32), CodecError> {
    if buf.len() < HEADER_LEN {
        return Err(CodecError::Truncated {
            have: buf.len(),
            need: HEADER_LEN,
        });
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let ty = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if len > MAX_BODY_LEN {
        return Err(CodecError::MessageTooLong {
            length: len,
            max: MAX_BODY_LEN,
        });
    }
    Ok((len, ty))
}

/// Splits one complete message off the front of `buf`.
/// Fails if the buffer holds less than the whole message or trailing bytes.
pub fn split_frame(buf: &[u8]) -> Result<Frame, CodecError> {
    let (len, msg_type) = parse_header(buf)?;
    let total = HEADER_LEN + len;
    if buf.len() < total {
        return Err(CodecError::Truncated {
            have: buf.len(),
            need: total,
        });
    }
    if buf.len() > total {
        return Err(CodecError::BadValue {
            message: "MHDR",
            field: "MessageLength".into(),
            reason: format!(
                "{} bytes follow a message of {total} bytes",
                buf.len() - total
            ),
        });
    }
    Ok(Frame {
        msg_type,
        body: Bytes::copy_from_slice(&buf[HEADER_LEN..total]),
    })
}

/// Collects bytes from a stream and yields whole frames.
///
/// Memory is bounded: the buffer never holds more than one maximum-size
/// message plus what the caller pushed since the last [`FrameSplitter::next_frame`],
/// and a header claiming more than 12,492 body bytes is an error before any
/// allocation for it happens. After an error the stream cannot be resynchronised;
/// the caller must drop the connection.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    buf: BytesMut,
    failed: bool,
}

impl FrameSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Mutable access to the receive buffer, for reading sockets straight into it.
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes waiting for the rest of their message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CodecError> {
        if self.failed {
            return Err(CodecError::BrokenStream);
        }
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let (len, msg_type) = match parse_header(&self.buf) {
            Ok(h) => h,
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        };
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        let body = self.buf.split_to(len).freeze();
        Ok(Some(Frame { msg_type, body }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_partial_reads() {
        // Two HEARTBEAT_CONF frames (type 6, InvokeID 7 and 8), fed one byte at a time.
        let wire: Vec<u8> = [
            [0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7],
            [0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 8],
        ]
        .concat();
        let mut s = FrameSplitter::new();
        let mut frames = Vec::new();
        for b in wire {
            s.push(&[b]);
            while let Some(f) = s.next_frame().expect("valid stream") {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].msg_type, 6);
        assert_eq!(&frames[1].body[..], &[0, 0, 0, 8]);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut s = FrameSplitter::new();
        s.push(&[0, 0, 0x30, 0xD5, 0, 0, 0, 9]); // 12,501 body bytes
        assert!(matches!(
            s.next_frame(),
            Err(CodecError::MessageTooLong { length: 12_501, .. })
        ));
        assert_eq!(
            s.next_frame(),
            Err(CodecError::BrokenStream),
            "a broken stream stays broken"
        );
        let mut ok = FrameSplitter::new();
        ok.push(&[0, 0, 0x30, 0xCC, 0, 0, 0, 9]); // exactly 12,492: accepted, waits for body
        assert_eq!(ok.next_frame(), Ok(None));
    }
}
