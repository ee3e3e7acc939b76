//! Decodes arbitrary bytes as one whole message and checks the round trips.
//!
//! Input layout: `[ctl] [message ...]`
//! * `ctl % 11` picks the protocol version (15..=25);
//! * bit 0x80 of `ctl` rewrites MessageLength to the real body length first, so
//!   the fuzzer spends its time on bodies rather than on matching the header.
//!
//! Invariants (a panic here is a finding):
//! * `decode` (strict) and `decode_frame` (tolerant) never panic;
//! * whatever decodes strictly also decodes tolerantly;
//! * the borrowed view (`MessageRef::parse`) gives the same result as the owned
//!   decoder, error included, with both options;
//! * whatever decodes and re-encodes at the same version gives back the input
//!   bytes exactly; a message in its version's own layout (or an alternative fixed
//!   part, or an undocumented raw body) may only fail to re-encode for a reason
//!   the decoder does not check: a missing required field, a tag the version
//!   cannot send, or (tolerant reading only) an over-long field;
//! * JSON: `to_json` -> `from_json` -> `to_json` is a fixpoint; a message rebuilt
//!   from JSON that encodes also decodes, to the same JSON, and its bytes are then
//!   stable under a second JSON round trip (the JSON form is canonical, the wire
//!   form need not be: order of floating fields, duplicates, alternative tags and
//!   bytes after a string's NUL are not represented in JSON);
//! * the JSON written straight from the view (`json_write`) is the owned path's
//!   text byte for byte, with both options.
#![no_main]

use std::ptr;

use cce::cti::codec::{
    decode, decode_frame, encode, frame::split_frame, json, json_write, Body, CodecError, DecodeOptions,
    Floating, Message, MessageRef,
};
use libfuzzer_sys::fuzz_target;

mod common;

#[global_allocator]
static ALLOC: common::Counting = common::Counting;

/// Largest single allocation allowed while decoding, per input byte: a floating
/// field takes at least 2 wire bytes and 64 bytes decoded, a fixed field at least
/// 1 byte and 56 bytes decoded. A length the input merely claims (MessageLength
/// up to 12,492, a field length up to 65,535) must not show up here.
const DECODE_PER_BYTE: usize = 40;
/// Fixed overhead allowed on top while decoding.
const DECODE_SLACK: usize = 4096;
/// A looser bound for the whole run, JSON included: a 2-byte floating field
/// becomes a 72-byte JSON value, vectors grow by doubling, and a JSON object
/// holds every field of the message type (up to 149 fixed fields, each with a
/// `_name` twin), whatever the input's size.
const RUN_PER_BYTE: usize = 80;
const RUN_SLACK: usize = 128 * 1024;

/// Whether `msg` uses the fixed part that an encoder at `version` writes.
fn own_layout(msg: &Message, version: u32) -> bool {
    let spec = msg.spec();
    if spec.since > version {
        return false;
    }
    match msg.body() {
        Body::Raw(_) => true,
        Body::Fields { layout, .. } => {
            spec.layout(version)
                .is_some_and(|l| ptr::eq(l.fields, *layout))
                || spec.alt_fixed.iter().any(|a| ptr::eq(*a, *layout))
        }
    }
}

fn check_wire_round_trip(msg: &Message, wire: &[u8], version: u32, tolerant: bool) {
    match encode(msg, version) {
        Ok(again) => assert_eq!(
            &again[..],
            wire,
            "{} v{version}: re-encoding changed the bytes",
            msg.name()
        ),
        Err(e) => {
            let expected = matches!(
                e,
                CodecError::MissingField { .. } | CodecError::TagNotInVersion { .. }
            ) || (tolerant && matches!(e, CodecError::FieldTooLong { .. }));
            assert!(
                !own_layout(msg, version) || expected,
                "{} v{version}: decoded but does not re-encode: {e}",
                msg.name()
            );
        }
    }
}

/// Whether a field that holds one value occurs more than once in `msg`.
fn has_repeated_single_field(msg: &Message) -> bool {
    let spec = msg.spec();
    let mut seen = vec![false; spec.floating.len()];
    msg.floating().iter().any(|f| match f {
        Floating::Known { field, .. } => {
            let i = usize::from(*field);
            match spec.floating.get(i) {
                Some(fs) if fs.repeat.is_none() => std::mem::replace(&mut seen[i], true),
                _ => false,
            }
        }
        Floating::Unknown { .. } => false,
    })
}

fn check_json_round_trip(msg: &Message, version: u32) {
    let j1 = json::to_json(msg);
    // (`from_json_str`, the text path, has its own target: json.)
    let Ok(m2) = json::from_json(&j1, version) else {
        return;
    };
    let j2 = json::to_json(&m2);
    assert_eq!(
        j1,
        j2,
        "{} v{version}: JSON round trip is not a fixpoint",
        msg.name()
    );

    let Ok(w2) = encode(&m2, version) else {
        return;
    };
    // JSON shows a single-valued field once (its first value, docs/json.md): duplicates,
    // and the warnings about them, do not survive JSON -> wire -> JSON.
    if has_repeated_single_field(msg) {
        return;
    }
    let opts = DecodeOptions::with_strict(m2.warnings().is_empty());
    let m3 =
        decode_frame(&split_frame(&w2).expect("own frame"), version, opts).unwrap_or_else(|e| {
            panic!(
                "{} v{version}: a message built from JSON encodes to bytes that do not decode: {e}",
                msg.name()
            )
        });
    assert_eq!(
        json::to_json(&m3),
        j1,
        "{} v{version}: JSON -> wire -> JSON changed the message",
        msg.name()
    );
    // The canonical bytes survive a JSON round trip unchanged.
    let m4 = json::from_json(&json::to_json(&m3), version).unwrap_or_else(|e| {
        panic!(
            "{} v{version}: canonical message fails from_json: {e}",
            msg.name()
        )
    });
    let w4 = encode(&m4, version).unwrap_or_else(|e| {
        panic!(
            "{} v{version}: canonical message fails encode: {e}",
            msg.name()
        )
    });
    assert_eq!(w4, w2, "{} v{version}: canonical bytes changed", msg.name());
}

fuzz_target!(|data: &[u8]| {
    common::reset();
    run(data);
    common::check(data.len(), RUN_PER_BYTE, RUN_SLACK);
});

fn run(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let version = 15 + u32::from(ctl % 11);
    let mut wire = rest.to_vec();
    if ctl & 0x80 != 0 && wire.len() >= 8 {
        let body_len = (wire.len() - 8) as u32;
        wire[..4].copy_from_slice(&body_len.to_be_bytes());
    }

    let strict = decode(&wire, version);
    let tolerant = split_frame(&wire)
        .ok()
        .map(|f| decode_frame(&f, version, DecodeOptions::tolerant()));
    common::check(data.len(), DECODE_PER_BYTE, DECODE_SLACK);
    if let Ok(frame) = split_frame(&wire) {
        for (opts, owned) in [
            (DecodeOptions::default(), &strict),
            (
                DecodeOptions::tolerant(),
                tolerant.as_ref().unwrap_or(&strict),
            ),
        ] {
            let view = MessageRef::parse(frame.msg_type, &frame.body, version, opts);
            assert_eq!(
                view.as_ref().err(),
                owned.as_ref().err(),
                "view and decode disagree ({opts:?})"
            );
            if let (Ok(view), Ok(m)) = (view, owned) {
                assert_eq!(view.fields().count(), m.floating().len(), "floating fields");
                let mut text = String::new();
                json_write::write_json(&view, &mut text);
                assert_eq!(
                    text,
                    json::to_json_string(m),
                    "{} v{version}: written JSON differs ({opts:?})",
                    m.name()
                );
            }
        }
    }
    if strict.is_ok() {
        assert!(
            matches!(tolerant, Some(Ok(_))),
            "decodes strictly but not tolerantly: {tolerant:?}"
        );
    }
    if let Ok(m) = &strict {
        check_wire_round_trip(m, &wire, version, false);
        check_json_round_trip(m, version);
    }
    if let Some(Ok(m)) = &tolerant {
        check_wire_round_trip(m, &wire, version, true);
        if strict.as_ref().ok() != Some(m) {
            check_json_round_trip(m, version);
        }
    }
}
