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
