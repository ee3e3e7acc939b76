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

/// One framed message borrowed from a receive buffer: its type and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// MessageType from the header.
    pub msg_type: u32,
    /// The MessageLength bytes after the header.
    pub body: &'a [u8],
}

/// The complete frames at the front of a contiguous buffer, borrowed: no copy and no
/// reference count per frame. Stops at the first incomplete frame (see
/// [`Frames::consumed`]); a bad header yields one error and ends the iteration.
///
/// ```
/// use cce::cti::codec::frame::frames;
/// // A HEARTBEAT_CONF and the first 3 bytes of the next frame.
/// let buf = [0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0];
/// let mut it = frames(&buf);
/// let f = it.next().expect("one frame")?;
/// assert_eq!((f.msg_type, f.body), (6, &[0, 0, 0, 7][..]));
/// assert!(it.next().is_none());
/// assert_eq!(it.consumed(), 12);
/// # Ok::<(), cce::cti::codec::CodecError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    buf: &'a [u8],
    consumed: usize,
    done: bool,
}

/// Iterates the complete frames at the front of `buf` (see [`Frames`]).
pub fn frames(buf: &[u8]) -> Frames<'_> {
    Frames {
        buf,
        consumed: 0,
        done: false,
    }
}

impl Frames<'_> {
    /// Bytes taken by the frames yielded so far; the rest of the buffer starts with
    /// an incomplete frame (or is empty).
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<FrameRef<'a>, CodecError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.consumed..)?;
        if rest.len() < HEADER_LEN {
            return None;
        }
        let (len, msg_type) = match parse_header(rest) {
            Ok(h) => h,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let body = rest.get(HEADER_LEN..HEADER_LEN + len)?;
        self.consumed += HEADER_LEN + len;
        Some(Ok(FrameRef { msg_type, body }))
    }
}

/// Reads the header of `buf`: (MessageLength, MessageType).
#[inline]
pub fn parse_header(buf: &[u8]) -> Result<(usize, u32), CodecError> {
    let Some(&[l0, l1, l2, l3, t0, t1, t2, t3]) = buf.get(..HEADER_LEN) else {
        return Err(CodecError::Truncated {
            have: buf.len(),
            need: HEADER_LEN,
        });
    };
    let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
    let ty = u32::from_be_bytes([t0, t1, t2, t3]);
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

    /// Calls `f` with every complete frame in the buffer, borrowed from it (no `Bytes`
    /// and no copy per frame: the fast path for readers that parse frames with
    /// [`super::MessageRef`] or copy what they keep), then drops those frames from the
    /// buffer. Returns how many frames `f` saw.
    ///
    /// If `f` fails, the frames up to and including the one it failed on are dropped
    /// and its error is returned; the splitter stays usable. A bad header breaks the
    /// stream as with [`FrameSplitter::next_frame`] (the frames before it are seen
    /// first).
    ///
    /// ```
    /// use cce::cti::codec::{CodecError, FrameSplitter};
    /// let mut s = FrameSplitter::new();
    /// s.push(&[0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 4, 0]);
    /// let mut ids = Vec::new();
    /// let n = s.for_each_frame(|f| {
    ///     ids.push(f.body[3]);
    ///     Ok::<(), CodecError>(())
    /// })?;
    /// assert_eq!((n, ids, s.pending()), (1, vec![7], 5));
    /// # Ok::<(), CodecError>(())
    /// ```
    pub fn for_each_frame<E: From<CodecError>>(
        &mut self,
        mut f: impl FnMut(FrameRef<'_>) -> Result<(), E>,
    ) -> Result<usize, E> {
        if self.failed {
            return Err(CodecError::BrokenStream.into());
        }
        let mut it = frames(&self.buf);
        let mut n = 0;
        let mut outcome = Ok(());
        for frame in it.by_ref() {
            match frame {
                Ok(fr) => {
                    n += 1;
                    if let Err(e) = f(fr) {
                        outcome = Err(e);
                        break;
                    }
                }
                Err(e) => {
                    self.failed = true;
                    outcome = Err(e.into());
                    break;
                }
            }
        }
        let consumed = it.consumed();
        self.buf.advance(consumed);
        outcome.map(|()| n)
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
    fn borrowed_frames_match_owned_frames_across_partial_reads() {
        let wire: Vec<u8> = [
            &[0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7][..],
            &[0, 0, 0, 0, 0, 0, 0, 5][..],
            &[0, 0, 0, 2, 0, 0, 0, 9, 1, 2][..],
        ]
        .concat();
        for step in 1..=wire.len() {
            let mut s = FrameSplitter::new();
            let mut seen = Vec::new();
            for chunk in wire.chunks(step) {
                s.push(chunk);
                s.for_each_frame(|f| {
                    seen.push((f.msg_type, f.body.to_vec()));
                    Ok::<(), CodecError>(())
                })
                .expect("valid stream");
            }
            assert_eq!(
                seen,
                [(6, vec![0, 0, 0, 7]), (5, vec![]), (9, vec![1, 2])],
                "reads of {step} bytes"
            );
            assert_eq!(s.pending(), 0);
        }
    }

    #[test]
    fn borrowed_frames_stop_at_a_bad_header_and_at_a_callback_error() {
        let mut s = FrameSplitter::new();
        s.push(&[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6]);
        s.push(&[0, 0, 0x30, 0xD5, 0, 0, 0, 9]);
        let mut types = Vec::new();
        let r = s.for_each_frame(|f| {
            types.push(f.msg_type);
            if f.msg_type == 5 {
                Err(CodecError::BrokenStream)
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(CodecError::BrokenStream));
        assert_eq!(types, [5], "stops at the failing callback");
        assert_eq!(
            s.pending(),
            16,
            "the failed frame is dropped, the rest kept"
        );
        let r = s.for_each_frame(|f| {
            types.push(f.msg_type);
            Ok::<(), CodecError>(())
        });
        assert!(matches!(
            r,
            Err(CodecError::MessageTooLong { length: 12_501, .. })
        ));
        assert_eq!(types, [5, 6]);
        assert_eq!(
            s.for_each_frame(|_| Ok::<(), CodecError>(())),
            Err(CodecError::BrokenStream)
        );
        let mut it = frames(&[0, 0, 0x30, 0xD5, 0, 0, 0, 9]);
        assert!(matches!(it.next(), Some(Err(_))));
        assert!(it.next().is_none());
        assert_eq!(it.consumed(), 0);
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
