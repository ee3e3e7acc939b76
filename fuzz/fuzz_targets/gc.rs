//! The Generic Connector parsers: STOMP frame decoder and GC event parser.
//!
//! Input layout: `[ctl] [bytes ...]`. `ctl & 1 == 0`: the bytes are a STOMP stream,
//! pushed in chunks of `ctl / 2 + 1` bytes; else they are one GC message body
//! (`#` text or JSON), with a JMSType when `ctl & 2`.
//!
//! Invariants (a panic here is a finding):
//! * neither parser panics, whatever the input;
//! * a decoded frame re-encodes (it carries `content-length` when its body has NUL)
//!   and decodes again to the same frame;
//! * every parsed event renders to JSON tagged with its name;
//! * no single allocation is out of proportion to the input.
#![no_main]

use cce::gc::event::parse_bytes;
use cce::gc::stomp::{encode, Decoded, FrameDecoder, Limits};
use libfuzzer_sys::fuzz_target;

mod common;

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

const ALLOC_PER_BYTE: usize = 64;
const ALLOC_SLACK: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    common::reset();
    run(data);
    common::check(data.len(), ALLOC_PER_BYTE, ALLOC_SLACK);
});

fn run(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    if ctl & 1 == 0 {
        stomp(rest, usize::from(ctl / 2) + 1);
    } else {
        let jms = (ctl & 2 != 0).then_some("Login#1001");
        if let Ok(events) = parse_bytes(rest, jms) {
            for e in events {
                let j = e.to_json();
                assert_eq!(j["event"].as_str(), Some(e.name()));
            }
        }
    }
}

fn stomp(data: &[u8], chunk: usize) {
    let limits = Limits {
        max_header_bytes: 4096,
        max_headers: 32,
        max_body_bytes: 16 * 1024,
    };
    let mut d = FrameDecoder::new(limits);
    for piece in data.chunks(chunk) {
        d.push(piece);
        loop {
            match d.next_frame() {
                Ok(Some(Decoded::Frame(f))) => {
                    let Ok(bytes) = encode(&f) else {
                        // Only unencodable CONNECT/CONNECTED headers or NUL without
                        // content-length (which a decoded frame cannot have) refuse.
                        assert!(f.command == "CONNECT" || f.command == "CONNECTED");
                        continue;
                    };
                    // Re-encoding may lengthen the headers (escapes, content-length), so
                    // the second reading allows for that growth.
                    let mut again = FrameDecoder::new(Limits {
                        max_header_bytes: 2 * limits.max_header_bytes + 64,
                        max_headers: limits.max_headers + 1,
                        ..limits
                    });
                    again.push(&bytes);
                    match again.next_frame() {
                        Ok(Some(Decoded::Frame(g))) => assert_eq!(f, g),
                        other => panic!("re-encoded frame does not decode: {other:?}"),
                    }
                }
                Ok(Some(Decoded::HeartBeat)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}
