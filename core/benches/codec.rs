//! Throughput of the GED-188 codec on a realistic CTI event stream.
//!
//! The stream is what a contact-center bridge with ALL_EVENTS sees: for every
//! call, BEGIN_CALL_EVENT (ANI, DNIS, ten CallVariables, five NamedVariables),
//! CALL_DELIVERED_EVENT (the same call data again), CALL_ESTABLISHED_EVENT,
//! AGENT_STATE_EVENTs with skill-group lists, CALL_CLEARED_EVENT, END_CALL_EVENT
//! and the agent's SET_AGENT_STATE_CONF; QUERY_AGENT_STATE_CONF and HEARTBEAT_CONF
//! are interleaved. It is built once, with the codec's own builder API, at
//! protocol version 24 (2-byte floating tags) and 15 (1-byte tags).
//!
//! Every benchmark reports `Throughput::Bytes` of the wire stream, so criterion's
//! `thrpt` line reads as "stream bytes handled per second on one core".
//! See docs/PERFORMANCE.md for how to run it and how to read the figures.
//!
//! ```text
//! cargo bench -p libcce --bench codec                    # everything, ~80 s
//! cargo bench -p libcce --bench codec -- v24/decode      # one group/benchmark
//! ```

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cce::cti::codec::json::to_json_string;
use cce::cti::codec::{
    decode_frame, encode_into, CodecError, DecodeOptions, Frame, FrameSplitter, Message,
    MessageRef, Value,
};
use cce::cti::spec;
use cce::cti::Event;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Socket read size the streaming benchmarks feed the splitter with.
const CHUNK: usize = 16 * 1024;
/// Scripted calls in the stream (each gives 9 or 10 messages).
const CALLS: u32 = 320;
/// Agents the calls are spread over.
const AGENTS: u32 = 48;
/// Peripheral of the simulated PG.
const PERIPHERAL: i64 = 5000;

fn k(table: &str, name: &str) -> i64 {
    i64::from(
        spec::constant(table, name).unwrap_or_else(|| panic!("constant {table}/{name} missing")),
    )
}

fn new(name: &str, v: u32) -> Message {
    Message::new(name, v).unwrap_or_else(|e| panic!("{name} at v{v}: {e}"))
}

fn set_int(m: &mut Message, field: &str, value: i64) {
    let name = m.name();
    if let Err(e) = m.set_int(field, value) {
        panic!("{name}.{field}: {e}");
    }
}

fn set_str(m: &mut Message, field: &str, value: &str) {
    let name = m.name();
    if let Err(e) = m.set_str(field, value) {
        panic!("{name}.{field}: {e}");
    }
}

/// One simulated agent's identifiers.
struct Agent {
    id: String,
    extension: String,
    instrument: String,
}

fn agent(i: u32) -> Agent {
    Agent {
        id: format!("{}", 100_100 + i),
        extension: format!("{}", 51_000 + i),
        instrument: format!("{}", 51_000 + i),
    }
}

/// What a scripted call's events share.
struct Call {
    call_id: u32,
    agent: Agent,
    ani: String,
    dnis: String,
    vars: Vec<String>,
    named: Vec<(String, String)>,
}

fn call(n: u32) -> Call {
    let vars = vec![
        format!("CUST{:08}", 4_711_000 + n * 13),
        format!("ACCT-{:010}", 9_900_000_000u64 + u64::from(n) * 7919),
        "PREMIUM".to_owned(),
        format!("lang=en-US;seg={}", n % 7),
        format!("IVR-MENU-{}-{}", n % 5, n % 3),
        format!("{}", 1_700_000_000 + n * 60),
        "callback=no".to_owned(),
        format!("queue=Sales_{:02}", n % 12),
        format!("case-{:06}", 123_456 + n),
        format!("http://crm.example/c/{:07}", n * 31),
    ];
    let named = vec![
        (
            "user.microapp.ToExtVXML[0]".to_owned(),
            format!("application=CustomerGreeting;ivr.session={:08x}", n * 977),
        ),
        (
            "user.microapp.FromExtVXML[0]".to_owned(),
            format!("menu_choice={};auth=ok", n % 9),
        ),
        (
            "user.cust.tier".to_owned(),
            ["gold", "silver", "bronze"][(n % 3) as usize].to_owned(),
        ),
        ("user.cust.lang".to_owned(), "en-US".to_owned()),
        (
            "user.courtesy.cb".to_owned(),
            format!("{{\"cb\":false,\"wait\":{}}}", 30 + n % 600),
        ),
    ];
    Call {
        call_id: 16_777_216 + n,
        agent: agent(n % AGENTS),
        ani: format!("+1408{:07}", 5_550_000 + n * 37 % 10_000),
        dnis: format!("8{:03}", 100 + n % 40),
        vars,
        named,
    }
}

/// Call header shared by the call events (fixed part and ConnectionDeviceID).
fn call_event(name: &str, v: u32, c: &Call) -> Message {
    let mut m = new(name, v);
    set_int(&mut m, "PeripheralID", PERIPHERAL);
    set_int(
        &mut m,
        "PeripheralType",
        k("PeripheralType Values", "PT_ENTERPRISE_AGENT"),
    );
    set_int(
        &mut m,
        "ConnectionDeviceIDType",
        k("ConnectionDeviceIDType Values", "CONNECTION_ID_STATIC"),
    );
    set_int(&mut m, "ConnectionCallID", c.call_id.into());
    set_str(&mut m, "ConnectionDeviceID", &c.agent.extension);
    m
}

/// ANI, DNIS, dialed number, ten CallVariables and five NamedVariables.
fn add_call_data(m: &mut Message, c: &Call) {
    set_str(m, "ANI", &c.ani);
    set_str(m, "DNIS", &c.dnis);
    set_str(m, "DialedNumber", &c.dnis);
    for (i, var) in c.vars.iter().enumerate() {
        set_str(m, &format!("CallVariable{}", i + 1), var);
    }
    for (name, value) in &c.named {
        m.add_named_var(name, value)
            .unwrap_or_else(|e| panic!("NamedVariable: {e}"));
    }
}

fn begin_call(v: u32, c: &Call) -> Message {
    let mut m = call_event("BEGIN_CALL_EVENT", v, c);
    set_int(&mut m, "CallType", k("CallType Values", "CALLTYPE_ACD_IN"));
    add_call_data(&mut m, c);
    set_int(&mut m, "RouterCallKeyDay", 152_234);
    set_int(&mut m, "RouterCallKeyCallID", i64::from(c.call_id) + 3_000);
    set_int(&mut m, "RouterCallKeySequenceNumber", 1);
    m
}

fn delivered_or_established(v: u32, c: &Call, delivered: bool) -> Message {
    let (name, party, lcs, cause) = if delivered {
        (
            "CALL_DELIVERED_EVENT",
            "Alerting",
            "LCS_ALERTING",
            "CEC_NEW_CALL",
        )
    } else {
        (
            "CALL_ESTABLISHED_EVENT",
            "Answering",
            "LCS_CONNECT",
            "CEC_NONE",
        )
    };
    let mut m = call_event(name, v, c);
    let device = k("DeviceIDType Values", "DEVID_DEVICE_IDENTIFIER");
    set_int(
        &mut m,
        "LineType",
        k("LineType Values", "LINETYPE_INBOUND_ACD"),
    );
    set_int(&mut m, "ServiceNumber", 6_000 + i64::from(c.call_id % 12));
    set_int(&mut m, "ServiceID", 5_100 + i64::from(c.call_id % 12));
    set_int(
        &mut m,
        "SkillGroupNumber",
        7_000 + i64::from(c.call_id % 12),
    );
    set_int(&mut m, "SkillGroupID", 5_200 + i64::from(c.call_id % 12));
    set_int(&mut m, &format!("{party}DeviceType"), device);
    set_int(&mut m, "CallingDeviceType", device);
    set_int(&mut m, "CalledDeviceType", device);
    set_int(
        &mut m,
        "LastRedirectDeviceType",
        k("DeviceIDType Values", "DEVID_NONE"),
    );
    set_int(
        &mut m,
        "LocalConnectionState",
        k("LocalConnectionState Values", lcs),
    );
    set_int(&mut m, "EventCause", k("EventCause Values", cause));
    set_str(&mut m, &format!("{party}DeviceID"), &c.agent.extension);
    set_str(&mut m, "CallingDeviceID", &c.ani);
    set_str(&mut m, "CalledDeviceID", &c.dnis);
    if delivered {
        add_call_data(&mut m, c);
    }
    m
}

fn call_cleared(v: u32, c: &Call) -> Message {
    let mut m = call_event("CALL_CLEARED_EVENT", v, c);
    set_int(
        &mut m,
        "LocalConnectionState",
        k("LocalConnectionState Values", "LCS_NULL"),
    );
    set_int(&mut m, "EventCause", k("EventCause Values", "CEC_NONE"));
    m
}

/// AGENT_STATE_EVENT with the agent's two skill groups.
fn agent_state_event(v: u32, a: &Agent, state: &str, duration: u32) -> Message {
    let mut m = new("AGENT_STATE_EVENT", v);
    let state = k("AgentState Values", state);
    set_int(&mut m, "PeripheralID", PERIPHERAL);
    set_int(&mut m, "SessionID", 0);
    set_int(
        &mut m,
        "PeripheralType",
        k("PeripheralType Values", "PT_ENTERPRISE_AGENT"),
    );
    set_int(&mut m, "SkillGroupState", state);
    set_int(&mut m, "StateDuration", duration.into());
    set_int(&mut m, "SkillGroupNumber", 7_001);
    set_int(&mut m, "SkillGroupID", 5_201);
    set_int(&mut m, "AgentState", state);
    set_int(&mut m, "MRDID", 1);
    set_int(&mut m, "AgentMode", 1);
    set_int(&mut m, "MaxTaskLimit", 1);
    set_int(&mut m, "ICMAgentID", 5_000 + i64::from(duration % 100));
    set_int(&mut m, "AgentAvailabilityStatus", 1);
    set_str(&mut m, "AgentID", &a.id);
    set_str(&mut m, "AgentExtension", &a.extension);
    set_str(&mut m, "AgentInstrument", &a.instrument);
    for sg in 0..2 {
        let push = |m: &mut Message, f: &str, val: Value| {
            m.push_floating(f, val)
                .unwrap_or_else(|e| panic!("AGENT_STATE_EVENT.{f}: {e}"));
        };
        push(&mut m, "FltSkillGroupNumber", Value::Int(7_001 + sg));
        push(&mut m, "FltSkillGroupID", Value::UInt(5_201 + sg as u32));
        push(&mut m, "FltSkillGroupPriority", Value::UShort(0));
        push(&mut m, "FltSkillGroupState", Value::UShort(state as u16));
    }
    m
}

fn set_agent_state_conf(v: u32, invoke: u32) -> Message {
    let mut m = new("SET_AGENT_STATE_CONF", v);
    set_int(&mut m, "InvokeID", invoke.into());
    m
}

fn query_agent_state_conf(v: u32, invoke: u32, a: &Agent) -> Message {
    let mut m = new("QUERY_AGENT_STATE_CONF", v);
    set_int(&mut m, "InvokeID", invoke.into());
    set_int(
        &mut m,
        "AgentState",
        k("AgentState Values", "AGENT_STATE_AVAILABLE"),
    );
    set_int(&mut m, "MRDID", 1);
    set_int(&mut m, "AgentMode", 1);
    set_int(&mut m, "MaxTaskLimit", 1);
    set_int(&mut m, "AgentAvailabilityStatus", 1);
    set_str(&mut m, "AgentID", &a.id);
    set_str(&mut m, "AgentExtension", &a.extension);
    set_str(&mut m, "AgentInstrument", &a.instrument);
    for sg in 0..2u32 {
        let push = |m: &mut Message, f: &str, val: Value| {
            m.push_floating(f, val)
                .unwrap_or_else(|e| panic!("QUERY_AGENT_STATE_CONF.{f}: {e}"));
        };
        push(&mut m, "SkillGroupNumber", Value::UInt(7_001 + sg));
        push(&mut m, "SkillGroupID", Value::UInt(5_201 + sg));
        push(&mut m, "SkillGroupPriority", Value::UShort(0));
        push(&mut m, "SkillGroupState", Value::UShort(3));
    }
    m
}

fn heartbeat_conf(v: u32, invoke: u32) -> Message {
    let mut m = new("HEARTBEAT_CONF", v);
    set_int(&mut m, "InvokeID", invoke.into());
    m
}

/// The messages of the stream, in order.
fn messages(v: u32) -> Vec<Message> {
    let mut out = Vec::new();
    let mut invoke = 1u32;
    for n in 0..CALLS {
        let c = call(n);
        out.push(begin_call(v, &c));
        out.push(delivered_or_established(v, &c, true));
        out.push(delivered_or_established(v, &c, false));
        out.push(agent_state_event(
            v,
            &c.agent,
            "AGENT_STATE_TALKING",
            4 + n % 20,
        ));
        out.push(call_cleared(v, &c));
        out.push(call_event("END_CALL_EVENT", v, &c));
        out.push(agent_state_event(
            v,
            &c.agent,
            "AGENT_STATE_WORK_READY",
            60 + n % 300,
        ));
        // The agent makes itself ready again: confirmation, then the event.
        out.push(set_agent_state_conf(v, invoke));
        invoke += 1;
        out.push(agent_state_event(
            v,
            &c.agent,
            "AGENT_STATE_AVAILABLE",
            20 + n % 40,
        ));
        if n % 4 == 0 {
            out.push(query_agent_state_conf(v, invoke, &c.agent));
            invoke += 1;
        }
        if n % 10 == 0 {
            out.push(heartbeat_conf(v, invoke));
            invoke += 1;
        }
    }
    out
}

/// The stream at one protocol version, and everything derived from it.
struct Fixture {
    version: u32,
    msgs: Vec<Message>,
    wire: Bytes,
    frames: Vec<Frame>,
}

impl Fixture {
    fn new(version: u32) -> Self {
        let msgs = messages(version);
        let mut buf = BytesMut::new();
        for m in &msgs {
            encode_into(m, version, &mut buf).unwrap_or_else(|e| panic!("{}: {e}", m.name()));
        }
        let wire = buf.freeze();
        let frames = split_all(&wire);
        assert_eq!(frames.len(), msgs.len());
        // The benchmarks must measure the successful path: the stream reads back
        // to exactly the messages it was built from.
        for (f, m) in frames.iter().zip(&msgs) {
            let got = decode_frame(f, version, DecodeOptions::tolerant())
                .unwrap_or_else(|e| panic!("{}: {e}", m.name()));
            assert_eq!(&got, m);
        }
        let fx = Fixture {
            version,
            msgs,
            wire,
            frames,
        };
        fx.describe();
        fx
    }

    /// Prints the stream's composition (message mix and sizes).
    fn describe(&self) {
        let mut mix: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (m, f) in self.msgs.iter().zip(&self.frames) {
            let e = mix.entry(m.name()).or_default();
            e.0 += 1;
            e.1 += 8 + f.body.len();
        }
        println!(
            "stream v{}: {} bytes, {} messages, {:.0} bytes/message on average",
            self.version,
            self.wire.len(),
            self.msgs.len(),
            self.wire.len() as f64 / self.msgs.len() as f64
        );
        for (name, (count, bytes)) in mix {
            println!(
                "  {name:<24} {count:>5} x {:>4} bytes = {bytes:>7} bytes ({:>4.1}%)",
                bytes / count,
                100.0 * bytes as f64 / self.wire.len() as f64
            );
        }
    }
}

/// Splits a whole stream the way a socket reader would, in CHUNK-byte reads.
fn split_all(wire: &[u8]) -> Vec<Frame> {
    let mut sp = FrameSplitter::new();
    let mut frames = Vec::new();
    for chunk in wire.chunks(CHUNK) {
        sp.push(chunk);
        while let Some(f) = sp.next_frame().expect("valid stream") {
            frames.push(f);
        }
    }
    assert_eq!(sp.pending(), 0);
    frames
}

fn bench_version(c: &mut Criterion, version: u32) {
    let fx = Fixture::new(version);
    let v = fx.version;
    let wire = &fx.wire;
    let count = fx.msgs.len();
    let mut g = c.benchmark_group(format!("v{v}"));
    g.throughput(Throughput::Bytes(wire.len() as u64));

    // Socket-style reads + framing + decoding of every frame; each message is
    // dropped after use, as a bridge that forwards events would.
    g.bench_function("decode_stream", |b| {
        b.iter(|| {
            let mut sp = FrameSplitter::new();
            let mut n = 0usize;
            for chunk in wire.chunks(CHUNK) {
                sp.push(chunk);
                while let Some(f) = sp.next_frame().expect("valid stream") {
                    let m = decode_frame(&f, v, DecodeOptions::tolerant()).expect("decodes");
                    black_box(&m);
                    n += 1;
                }
            }
            debug_assert_eq!(n, count);
            n
        })
    });

    // Socket-style reads + borrowed framing (`for_each_frame`: no `Bytes` per frame) +
    // the borrowed, validated view (no allocation per message); reads one field per
    // message as a bridge routing on the call ID would.
    g.bench_function("view_stream", |b| {
        b.iter(|| {
            let mut sp = FrameSplitter::new();
            let mut n = 0usize;
            for chunk in wire.chunks(CHUNK) {
                sp.push(chunk);
                n += sp
                    .for_each_frame(|f| {
                        let m =
                            MessageRef::parse(f.msg_type, f.body, v, DecodeOptions::tolerant())?;
                        black_box(m.u32("ConnectionCallID"));
                        Ok::<(), CodecError>(())
                    })
                    .expect("valid stream");
            }
            debug_assert_eq!(n, count);
            n
        })
    });

    // The view alone, from frames split beforehand.
    g.bench_function("view_frames", |b| {
        b.iter(|| {
            for f in &fx.frames {
                let m = MessageRef::parse(f.msg_type, &f.body, v, DecodeOptions::tolerant())
                    .expect("valid");
                black_box(&m);
            }
        })
    });

    // Framing alone (reads and splitting into `Bytes` frames, no decoding).
    g.bench_function("split_only", |b| {
        b.iter(|| {
            let mut sp = FrameSplitter::new();
            let mut n = 0usize;
            for chunk in wire.chunks(CHUNK) {
                sp.push(chunk);
                while let Some(f) = sp.next_frame().expect("valid stream") {
                    black_box(&f);
                    n += 1;
                }
            }
            debug_assert_eq!(n, count);
            n
        })
    });

    // Borrowed framing alone (reads and `for_each_frame`, no decoding).
    g.bench_function("split_borrowed", |b| {
        b.iter(|| {
            let mut sp = FrameSplitter::new();
            let mut n = 0usize;
            for chunk in wire.chunks(CHUNK) {
                sp.push(chunk);
                n += sp
                    .for_each_frame(|f| {
                        black_box(f);
                        Ok::<(), CodecError>(())
                    })
                    .expect("valid stream");
            }
            debug_assert_eq!(n, count);
            n
        })
    });

    // Decoding alone, from frames split beforehand (decode_stream minus split_only).
    g.bench_function("decode_frames", |b| {
        b.iter(|| {
            for f in &fx.frames {
                let m = decode_frame(f, v, DecodeOptions::tolerant()).expect("decodes");
                black_box(&m);
            }
        })
    });

    // Encoding every message into one reused buffer.
    let mut out = BytesMut::with_capacity(wire.len());
    g.bench_function("encode_stream", |b| {
        b.iter(|| {
            out.clear();
            for m in &fx.msgs {
                encode_into(m, v, &mut out).expect("encodes");
            }
            black_box(out.len())
        })
    });
    debug_assert_eq!(&out[..], &wire[..]);

    // JSON text of every decoded message, as the C ABI and the bindings hand it out.
    g.bench_function("to_json", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for m in &fx.msgs {
                total += black_box(to_json_string(m)).len();
            }
            total
        })
    });

    // The event path before cti::Event: decode each frame into an owned message, then
    // its JSON through a serde_json map (what EventOut::json did).
    g.bench_function("decode_json_frames", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for f in &fx.frames {
                let m = decode_frame(f, v, DecodeOptions::tolerant()).expect("decodes");
                total += black_box(to_json_string(&m)).len();
            }
            total
        })
    });

    // The event path now: validate each frame once into a cti::Event (a handle over
    // the frame's bytes) and write its JSON straight into one reused buffer.
    let mut text = String::with_capacity(4096);
    g.bench_function("event_json_frames", |b| {
        b.iter(|| {
            let mut total = 0usize;
            for f in &fx.frames {
                let ev = Event::parse(f.msg_type, f.body.clone(), v, DecodeOptions::tolerant())
                    .expect("valid");
                text.clear();
                ev.write_json(&mut text);
                total += black_box(&text).len();
            }
            total
        })
    });

    // The typed path: the Event alone plus one field read (no JSON).
    g.bench_function("event_frames", |b| {
        b.iter(|| {
            for f in &fx.frames {
                let ev = Event::parse(f.msg_type, f.body.clone(), v, DecodeOptions::tolerant())
                    .expect("valid");
                black_box(ev.u32("ConnectionCallID"));
            }
        })
    });
    g.finish();
}

fn codec_v24(c: &mut Criterion) {
    bench_version(c, 24);
}

fn codec_v15(c: &mut Criterion) {
    bench_version(c, 15);
}

criterion_group! {
    name = benches;
    // Short runs: the whole bench takes about 80 seconds on 2 cores. Command-line
    // flags (--measurement-time, --sample-size, --warm-up-time) override these.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(50);
    targets = codec_v24, codec_v15
}
criterion_main!(benches);
