//! Feeds an arbitrary byte stream, cut into arbitrary chunks, to `FrameSplitter`
//! and checks it against a one-shot reference parse of the same stream.
//!
//! Input layout: `[ctl] [n] [n chunk sizes] [stream ...]`
//! * `ctl % 11` picks the protocol version (15..=25) used to decode yielded frames;
//!   bit 0x80 makes pushes go through `buffer_mut()` instead of `push()`.
//! * `n % 8` chunk-size bytes follow, used cyclically; a size byte of 0 means
//!   "everything that is left". With no sizes the stream is pushed in one go.
//!
//! Invariants (a panic here is a finding):
//! * every yielded frame has `body.len() <= MAX_BODY_LEN` (12,492);
//! * the frames yielded are exactly those of the reference parse, in order,
//!   however the stream is chunked;
//! * after an error the splitter never yields again (every later call errors),
//!   and it errors iff the reference parse meets an over-long MessageLength;
//! * between calls it never buffers a whole frame it could have yielded
//!   (`pending() < HEADER_LEN + MAX_BODY_LEN` after draining);
//! * decoding a yielded frame never panics, and whatever decodes and re-encodes
//!   reproduces the frame's bytes;
//! * the borrowed paths agree with the reference too: `FrameSplitter::for_each_frame`
//!   fed the same chunks, and `frame::frames` over the whole stream (same frames,
//!   same error, same consumed length).
#![no_main]

use cce::cti::codec::{
    decode_frame, encode, frame::frames, CodecError, DecodeOptions, Frame, FrameSplitter,
    HEADER_LEN, MAX_BODY_LEN,
};
use libfuzzer_sys::fuzz_target;

mod common;

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

/// Largest single allocation allowed per input byte while splitting and
/// decoding: a floating field takes at least 2 wire bytes and 64 bytes decoded,
/// and buffers grow by doubling. A length the input merely claims (MessageLength
/// up to 12,492, a field length up to 65,535) must not show up here.
const ALLOC_PER_BYTE: usize = 40;
/// Fixed overhead allowed on top.
const ALLOC_SLACK: usize = 4096;

/// The frames a correct splitter yields for the whole stream, and whether the
/// stream ends in a framing error (a MessageLength over the maximum).
fn reference(stream: &[u8]) -> (Vec<(u32, &[u8])>, usize, bool) {
    let mut frames = Vec::new();
    let mut off = 0;
    while stream.len() - off >= HEADER_LEN {
        let h = &stream[off..off + HEADER_LEN];
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let ty = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        if len > MAX_BODY_LEN {
            return (frames, off, true);
        }
        if stream.len() - off - HEADER_LEN < len {
            break;
        }
        frames.push((ty, &stream[off + HEADER_LEN..off + HEADER_LEN + len]));
        off += HEADER_LEN + len;
    }
    (frames, off, false)
}

fn check_frame(frame: &Frame, version: u32) {
    assert!(
        frame.body.len() <= MAX_BODY_LEN,
        "splitter yielded a {}-byte body",
        frame.body.len()
    );
    for opts in [DecodeOptions::default(), DecodeOptions::tolerant()] {
        let Ok(msg) = decode_frame(frame, version, opts) else {
            continue;
        };
        if let Ok(wire) = encode(&msg, version) {
            assert_eq!(&wire[..4], &(frame.body.len() as u32).to_be_bytes());
            assert_eq!(&wire[4..8], &frame.msg_type.to_be_bytes());
            assert_eq!(&wire[8..], &frame.body[..], "{} v{version}", msg.name());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    common::reset();
    run(data);
    common::check(data.len(), ALLOC_PER_BYTE, ALLOC_SLACK);
});

fn run(data: &[u8]) {
    let [ctl, n, rest @ ..] = data else {
        return;
    };
    let version = 15 + u32::from(*ctl % 11);
    let via_buffer = ctl & 0x80 != 0;
    let n = usize::from(n % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(n);

    let (expected, consumed, expect_error) = reference(stream);

    let mut s = FrameSplitter::new();
    let mut b = FrameSplitter::new();
    let mut borrowed: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut b_failed = false;
    let mut got: Vec<Frame> = Vec::new();
    let mut failed = false;
    let mut pos = 0;
    let mut i = 0;
    while pos < stream.len() {
        let size = match sizes.get(i % sizes.len().max(1)) {
            None | Some(0) => stream.len() - pos,
            Some(&k) => usize::from(k).min(stream.len() - pos),
        };
        i += 1;
        let chunk = &stream[pos..pos + size];
        pos += size;
        if via_buffer {
            s.buffer_mut().extend_from_slice(chunk);
        } else {
            s.push(chunk);
        }
        b.push(chunk);
        let r = b.for_each_frame(|f| {
            assert!(
                !b_failed,
                "borrowed splitter yielded a frame after an error"
            );
            borrowed.push((f.msg_type, f.body.to_vec()));
            Ok::<(), CodecError>(())
        });
        if r.is_err() {
            b_failed = true;
        } else {
            assert!(b.pending() < HEADER_LEN + MAX_BODY_LEN);
        }
        loop {
            match s.next_frame() {
                Ok(Some(f)) => {
                    assert!(!failed, "splitter yielded a frame after an error");
                    check_frame(&f, version);
                    got.push(f);
                }
                Ok(None) => {
                    assert!(!failed, "splitter recovered after an error");
                    assert!(
                        s.pending() < HEADER_LEN + MAX_BODY_LEN,
                        "{} bytes buffered without a frame",
                        s.pending()
                    );
                    break;
                }
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            // A broken stream stays broken, whatever arrives next.
            assert!(s.next_frame().is_err(), "splitter recovered after an error");
        }
    }

    assert_eq!(failed, expect_error, "error disagrees with the reference");
    assert_eq!(got.len(), expected.len(), "frame count");
    for (f, (ty, body)) in got.iter().zip(&expected) {
        assert_eq!(f.msg_type, *ty);
        assert_eq!(&f.body[..], *body);
    }
    if !failed {
        assert_eq!(s.pending(), stream.len() - consumed, "pending bytes");
    }

    assert_eq!(b_failed, expect_error, "borrowed splitter: error");
    let expected_owned: Vec<(u32, Vec<u8>)> = expected
        .iter()
        .map(|(t, body)| (*t, body.to_vec()))
        .collect();
    assert_eq!(borrowed, expected_owned, "borrowed splitter: frames");
    if !b_failed {
        assert_eq!(
            b.pending(),
            stream.len() - consumed,
            "borrowed splitter: pending"
        );
    }
    let mut it = frames(stream);
    let mut one_shot = Vec::new();
    let mut one_shot_failed = false;
    for f in it.by_ref() {
        match f {
            Ok(f) => one_shot.push((f.msg_type, f.body)),
            Err(_) => one_shot_failed = true,
        }
    }
    assert_eq!(one_shot, expected, "frames(): frames");
    assert_eq!(one_shot_failed, expect_error, "frames(): error");
    assert_eq!(it.consumed(), consumed, "frames(): consumed");
}
