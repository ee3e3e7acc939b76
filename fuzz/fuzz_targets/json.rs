//! Builds messages from arbitrary JSON text.
//!
//! Input layout: `[ctl] [UTF-8 text ...]`; `ctl % 11` picks the protocol version.
//! Non-UTF-8 input is ignored (the API takes `&str`).
//!
//! Invariants (a panic here is a finding):
//! * `json::from_json_str` never panics, whatever the text;
//! * a message it accepts either fails to encode with an error, or encodes to
//!   bytes that decode again at the same version (tolerantly when it carries
//!   warnings) and re-encode identically.
#![no_main]

use cce::cti::codec::{decode_with_options, encode, json, DecodeOptions, Floating};
use libfuzzer_sys::fuzz_target;

mod common;

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

/// Largest single allocation allowed per input byte (a JSON value is 72 bytes,
/// a floating field 64, and vectors grow by doubling), plus room for what the
/// message type alone needs: a message holds every fixed field of its type (up
/// to 149) and its JSON rendering a key for each, whatever the input's size.
const ALLOC_PER_BYTE: usize = 80;
const ALLOC_SLACK: usize = 128 * 1024;

fuzz_target!(|data: &[u8]| {
    common::reset();
    run(data);
    common::check(data.len(), ALLOC_PER_BYTE, ALLOC_SLACK);
});

fn run(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let version = 15 + u32::from(ctl % 11);
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(msg) = json::from_json_str(text, version) else {
        return;
    };
    let _ = json::to_json_string(&msg);
    let Ok(wire) = encode(&msg, version) else {
        return;
    };
    // `from_json` refuses `_unknown` entries whose tag the message knows, so none remain.
    assert!(!msg.floating().iter().any(
        |f| matches!(f, Floating::Unknown { tag, .. } if msg.spec().float_by_tag(*tag).is_some()),
    ));
    // A message flagged with warnings (tolerated counts, raw odd fields) reads back
    // tolerantly; any other strictly.
    let opts = DecodeOptions::with_strict(msg.warnings().is_empty());
    let back = decode_with_options(&wire, version, opts).unwrap_or_else(|e| {
        panic!(
            "{} v{version}: JSON-built message encodes to bytes that do not decode: {e}",
            msg.name()
        )
    });
    let again = encode(&back, version)
        .unwrap_or_else(|e| panic!("{} v{version}: decoded copy fails encode: {e}", msg.name()));
    assert_eq!(again, wire, "{} v{version}: bytes changed", msg.name());
}
