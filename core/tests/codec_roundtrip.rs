//! Random, fully populated messages of every type round-trip at every version:
//! decode(encode(m)) == m and encode(decode(bytes)) == bytes.

use cce::cti::codec::{decode, encode, CodecError, Message, NamedArray, NamedVar, Value};
use cce::cti::spec::{self, FloatField, MessageSpec, WireType, MESSAGES, TAGS_REMOVED};
use cce::cti::typed::Typed;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn ascii(rng: &mut StdRng, max_len: usize) -> String {
    let n = rng.random_range(0..=max_len);
    (0..n)
        .map(|_| char::from(rng.random_range(0x20u8..0x7F)))
        .collect()
}

fn number(rng: &mut StdRng, ty: WireType) -> Value {
    match ty {
        WireType::UChar => Value::UChar(rng.random()),
        WireType::Char => Value::Char(rng.random()),
        WireType::UShort => Value::UShort(rng.random()),
        WireType::Short => Value::Short(rng.random()),
        WireType::UInt => Value::UInt(rng.random()),
        WireType::Int => Value::Int(rng.random()),
        WireType::Bool => Value::Bool(rng.random_range(0..=1)),
        _ => Value::Time(rng.random()),
    }
}

fn float_value(rng: &mut StdRng, f: &FloatField, version: u32) -> Value {
    let max = usize::from(f.max_at(version).unwrap_or(24));
    match f.ty {
        WireType::String => Value::Str(
            cce::cti::codec::CtiString::new(&ascii(rng, max.saturating_sub(1).min(40)))
                .expect("ascii"),
        ),
        WireType::Unspec => {
            let n = rng.random_range(0..=max.min(40));
            Value::Unspec(
                (0..n)
                    .map(|_| rng.random::<u8>())
                    .collect::<Vec<u8>>()
                    .into(),
            )
        }
        WireType::NamedVar => {
            let budget = max.saturating_sub(3).min(40);
            let name_len = rng.random_range(0..=budget);
            let mut name = ascii(rng, name_len);
            if name.is_empty() {
                name.push('v');
            }
            let value = ascii(rng, budget.saturating_sub(name.len()));
            Value::NamedVar(NamedVar { name, value })
        }
        WireType::NamedArray => {
            let budget = max.saturating_sub(4).min(40);
            let mut name = ascii(rng, budget / 2);
            if name.is_empty() {
                name.push('a');
            }
            let value = ascii(rng, budget.saturating_sub(name.len()));
            Value::NamedArray(NamedArray {
                index: rng.random(),
                name,
                value,
            })
        }
        ty => number(rng, ty),
    }
}

fn sendable(f: &FloatField, version: u32) -> bool {
    let Some(tag) = f.tag else { return false };
    if version < 20 && tag > 255 {
        return false;
    }
    let since_ok = spec::tag_by_value(tag).is_none_or(|t| t.since <= version);
    let removed = TAGS_REMOVED.iter().any(|(t, v)| *t == tag && *v <= version);
    since_ok && !removed
}

/// A random valid message of `spec` at `version`, or None when the type does not exist there.
fn random_message(spec: &'static MessageSpec, version: u32, seed: u64) -> Option<Message> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = match Message::for_spec(spec, version) {
        Ok(m) => m,
        Err(CodecError::TypeNotInVersion { .. }) => return None,
        Err(e) => panic!("{}: {e}", spec.name),
    };
    if !spec.documented {
        let n = rng.random_range(0..64);
        let body: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        return Some(Message::raw(spec, body.into()));
    }
    let layout = spec.layout(version)?;
    let counts: Vec<&str> = spec.floating.iter().filter_map(|f| f.repeat).collect();
    for f in layout.fields {
        if counts.contains(&f.name) {
            continue; // set by push_floating
        }
        let v = number(&mut rng, f.ty);
        m.set_int(f.name, v.as_i64().expect("number"))
            .expect("fixed");
    }
    // Repeated groups: one occurrence count per count field.
    let mut group_sizes = std::collections::HashMap::new();
    for f in spec.floating {
        if !sendable(f, version) {
            continue;
        }
        if counts.contains(&f.name) && f.repeat.is_none() {
            continue; // a plain count: push_floating maintains it
        }
        if counts.contains(&f.name) {
            // A per-record count (nested list): push one value per record, then its items.
            let records = *group_sizes
                .entry(f.repeat.expect("repeated"))
                .or_insert_with(|| rng.random_range(0..=3usize));
            let mut total = 0usize;
            for _ in 0..records {
                let k = rng.random_range(0..=2usize);
                total += k;
                m.push_floating(f.name, Value::UShort(k as u16))
                    .expect("count");
            }
            group_sizes.insert(f.name, total);
            continue;
        }
        match f.repeat {
            Some(count) => {
                let n = *group_sizes
                    .entry(count)
                    .or_insert_with(|| rng.random_range(0..=3usize));
                for _ in 0..n {
                    let v = float_value(&mut rng, f, version);
                    m.push_floating(f.name, v).expect("repeat");
                }
            }
            None => {
                if f.required || rng.random_bool(0.6) {
                    let v = float_value(&mut rng, f, version);
                    m.put_floating(f.name, v).expect("floating");
                }
            }
        }
    }
    if rng.random_bool(0.3) {
        // A tag the catalogue does not list for this message travels as raw bytes.
        let tag = (500u16..600)
            .find(|t| spec.float_by_tag(*t).is_none())
            .expect("free tag");
        let tag = if version < 20 { 250 } else { tag };
        if spec.float_by_tag(tag).is_none() {
            m.push_unknown(tag, vec![1u8, 2, 3]).expect("unknown");
        }
    }
    Some(m)
}

fn check(spec: &'static MessageSpec, version: u32, seed: u64) -> bool {
    let Some(m) = random_message(spec, version, seed) else {
        return false;
    };
    let bytes = match encode(&m, version) {
        Ok(b) => b,
        Err(CodecError::MessageTooLong { .. }) => return false,
        Err(e) => panic!("{} v{version} seed {seed}: encode: {e}", spec.name),
    };
    let back = decode(&bytes, version)
        .unwrap_or_else(|e| panic!("{} v{version} seed {seed}: decode: {e}", spec.name));
    assert_eq!(back, m, "{} v{version} seed {seed}", spec.name);
    let again = encode(&back, version).expect("re-encode");
    assert_eq!(again, bytes, "{} v{version} seed {seed}", spec.name);
    // The borrowed view accepts the same bytes and reads the same values.
    let frame = cce::cti::codec::frame::split_frame(&bytes).expect("frame");
    let view = cce::cti::codec::MessageRef::parse(
        frame.msg_type,
        &frame.body,
        version,
        cce::cti::codec::DecodeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{} v{version} seed {seed}: view: {e}", spec.name));
    if let Some(layout) = spec.layout(version) {
        for f in layout.fields {
            assert_eq!(
                view.u32(f.name),
                back.u32(f.name),
                "{}.{}",
                spec.name,
                f.name
            );
        }
    }
    assert_eq!(view.fields().count(), back.floating().len());
    assert_eq!(view.to_owned_message().expect("owned"), back);
    // The JSON written from the view is the owned path's text, byte for byte.
    let event = cce::cti::Event::parse(
        frame.msg_type,
        frame.body.clone(),
        version,
        cce::cti::codec::DecodeOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{} v{version} seed {seed}: event: {e}", spec.name));
    assert_eq!(
        event.json(),
        cce::cti::codec::json::to_json_string(&back),
        "{} v{version} seed {seed}",
        spec.name
    );
    check_tolerant_counts(spec, version, &bytes, seed);
    check_json_keeps_wire_order(spec, version, &bytes, seed);
    // The typed form carries the same information.
    let typed = Typed::from_message(&back)
        .unwrap_or_else(|e| panic!("{} v{version} seed {seed}: typed: {e}", spec.name));
    let rebuilt = typed
        .to_message(version)
        .unwrap_or_else(|e| panic!("{} v{version} seed {seed}: from typed: {e}", spec.name));
    let reread =
        decode(&encode(&rebuilt, version).expect("typed encodes"), version).expect("decodes");
    assert_eq!(
        Typed::from_message(&reread).expect("typed"),
        typed,
        "{} v{version} seed {seed}",
        spec.name
    );
    true
}

/// Every fixed count field of `bytes` made one larger: strict decode and the strict view
/// agree (both refuse or both accept); the tolerant decode and the tolerant view both
/// accept it, keep the count as received, flag exactly what strict refused, and the
/// message re-encodes (directly and through JSON) to the same bytes.
fn check_tolerant_counts(spec: &'static MessageSpec, version: u32, bytes: &[u8], seed: u64) {
    use cce::cti::codec::{decode_with_options, json, DecodeOptions, MessageRef};
    let Some(layout) = spec.layout(version) else {
        return;
    };
    let mut wrong = bytes.to_vec();
    let mut off = 8;
    let mut changed = false;
    for f in layout.fields {
        let size = f.ty.fixed_size().unwrap_or(0);
        if f.count_group.is_some() && size == 2 {
            let v = u16::from_be_bytes([wrong[off], wrong[off + 1]]).wrapping_add(1);
            wrong[off..off + 2].copy_from_slice(&v.to_be_bytes());
            changed = true;
        }
        off += size;
    }
    if !changed {
        return;
    }
    let what = format!("{} v{version} seed {seed}", spec.name);
    let body = &wrong[8..];
    let strict = decode(&wrong, version);
    let strict_view = MessageRef::parse(spec.msg_type, body, version, DecodeOptions::strict());
    assert_eq!(strict.is_ok(), strict_view.is_ok(), "{what}: {strict:?}");
    let tolerant = decode_with_options(&wrong, version, DecodeOptions::tolerant())
        .unwrap_or_else(|e| panic!("{what}: tolerant decode: {e}"));
    let view = MessageRef::parse(spec.msg_type, body, version, DecodeOptions::tolerant())
        .unwrap_or_else(|e| panic!("{what}: tolerant view: {e}"));
    let mut text = String::new();
    cce::cti::codec::json_write::write_json(&view, &mut text);
    assert_eq!(text, json::to_json_string(&tolerant), "{what}");
    assert_eq!(
        tolerant.warnings().is_empty(),
        strict.is_ok(),
        "{what}: {:?}",
        tolerant.warnings()
    );
    assert_eq!(
        &encode(&tolerant, version).expect("re-encode")[..],
        &wrong[..],
        "{what}"
    );
    let rebuilt = json::from_json(&json::to_json(&tolerant), version).expect("from JSON");
    assert_eq!(
        &encode(&rebuilt, version).expect("JSON re-encode")[..],
        &wrong[..],
        "{what}"
    );
}

/// The floating fields of `bytes` rotated into another order: decode, JSON and back
/// gives the same bytes (the received order survives the JSON form).
fn check_json_keeps_wire_order(spec: &'static MessageSpec, version: u32, bytes: &[u8], seed: u64) {
    use cce::cti::codec::{json, DecodeOptions, MessageRef};
    let Some(layout) = spec.layout(version) else {
        return;
    };
    let at = 8 + spec::fixed_size(layout.fields);
    let view = MessageRef::parse(spec.msg_type, &bytes[8..], version, DecodeOptions::strict())
        .expect("view");
    let fields: Vec<(u16, Vec<u8>)> = view.fields().map(|f| (f.tag, f.data.to_vec())).collect();
    if fields.len() < 2 {
        return;
    }
    let k = 1 + (seed as usize) % (fields.len() - 1);
    let mut wire = bytes[..at].to_vec();
    for (tag, data) in fields[k..].iter().chain(&fields[..k]) {
        if version >= spec::WIDE_FLOATING_SINCE {
            wire.extend(tag.to_be_bytes());
            wire.extend((data.len() as u16).to_be_bytes());
        } else {
            wire.extend([*tag as u8, data.len() as u8]);
        }
        wire.extend(data);
    }
    assert_eq!(wire.len(), bytes.len());
    let what = format!("{} v{version} seed {seed}", spec.name);
    let m = decode(&wire, version).unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = json::to_json_string(&m);
    let view = MessageRef::parse(spec.msg_type, &wire[8..], version, DecodeOptions::strict())
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut written = String::new();
    cce::cti::codec::json_write::write_json(&view, &mut written);
    assert_eq!(written, text, "{what}");
    let rebuilt = json::from_json_str(&text, version).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        &encode(&rebuilt, version).expect("encode")[..],
        &wire[..],
        "{what}: {text}"
    );
}

#[test]
fn every_message_type_round_trips_populated_at_every_version() {
    let mut checked = 0;
    for spec in MESSAGES {
        for version in spec::MIN_PROTOCOL_VERSION..=spec::MAX_PROTOCOL_VERSION {
            for seed in 0..4 {
                if check(spec, version, seed ^ u64::from(spec.msg_type) << 8) {
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 9000, "only {checked} cases");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_messages_round_trip(idx in 0..MESSAGES.len(), version in 15u32..=25, seed: u64) {
        check(&MESSAGES[idx], version, seed);
    }
}
