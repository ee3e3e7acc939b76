//! `cce decode` of captures made from a real loopback simulator session: the bytes of
//! both directions are taken through a recording proxy, written as pcap and pcapng
//! with reordered and retransmitted segments, and must decode to what the session got.

mod common;

use std::borrow::Cow;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cce::cti::codec::json::to_json;
use cce::cti::connection::{ConnectionConfig, CtiConnection, CtiEvent};
use cce::cti::session::{Mode, SessionConfig};
use cce::sim::cti::{CtiSimulator, Scenario};
use common::*;
use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// Bytes seen by the proxy: time, direction (true: client to server), data.
type Log = Arc<Mutex<Vec<(Duration, bool, Vec<u8>)>>>;

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, to_server: bool, log: Log) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        log.lock()
            .unwrap()
            .push((now, to_server, buf[..n].to_vec()));
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Runs the inbound call scenario through a recording proxy; returns the proxy's log
/// and the messages the session received (JSON), in order.
async fn session_through_proxy(version: u32) -> (Vec<(Duration, bool, Vec<u8>)>, Vec<Json>) {
    let sc = Scenario::from_json(
        &std::fs::read_to_string(scenario("inbound_call.json")).expect("scenario"),
    )
    .expect("scenario");
    let sim = CtiSimulator::start(sc.config.clone().expect("config"))
        .await
        .expect("simulator");
    let proxy = TcpListener::bind("127.0.0.1:0").await.expect("proxy");
    let proxy_addr = proxy.local_addr().expect("addr");
    let sim_addr = sim.local_addr();
    let log: Log = Arc::default();
    let plog = log.clone();
    let proxy_task = tokio::spawn(async move {
        let (client, _) = proxy.accept().await.expect("accept");
        let server = TcpStream::connect(sim_addr).await.expect("connect sim");
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let up = tokio::spawn(pump(cr, sw, true, plog.clone()));
        let down = tokio::spawn(pump(sr, cw, false, plog));
        let _ = tokio::join!(up, down);
    });
    let mut session = SessionConfig::new("decode-test", version).with_mode(Mode::Bridge);
    session.client_password = "hunter2".into();
    let mut cfg = ConnectionConfig::new(session, proxy_addr.to_string());
    cfg.auto_reconnect = false;
    let (conn, mut events) = CtiConnection::connect(cfg).await.expect("session");
    let report = sim.run_scenario(&sc).await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut got = Vec::new();
    loop {
        let ev = tokio::time::timeout(LINE_TIMEOUT, events.recv())
            .await
            .expect("events in time")
            .expect("session open");
        if let CtiEvent::Message(m) = ev {
            got.push(to_json(&m.to_message().expect("owned")));
            if m.name() == "END_CALL_EVENT" {
                break;
            }
        }
    }
    conn.close().await;
    // What arrived before the close too.
    while let Ok(Some(ev)) = tokio::time::timeout(LINE_TIMEOUT, events.recv()).await {
        match ev {
            CtiEvent::Message(m) => got.push(to_json(&m.to_message().expect("owned"))),
            CtiEvent::Closed(_) => break,
            _ => {}
        }
    }
    tokio::time::timeout(LINE_TIMEOUT, proxy_task)
        .await
        .expect("proxy done in time")
        .expect("proxy");
    sim.stop().await;
    let log = log.lock().unwrap().clone();
    (log, got)
}

/// Ethernet/IPv4/TCP packets of the logged session: handshake, then each chunk in
/// 40-byte segments, some pairs swapped, some segments sent twice.
fn packets(log: &[(Duration, bool, Vec<u8>)]) -> Vec<(Duration, Vec<u8>)> {
    let (c_ip, s_ip) = (Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 1, 0, 2));
    let (c_port, s_port) = (51000u16, 42999u16);
    let (mut c_seq, mut s_seq) = (1_000u32, u32::MAX - 500); // the server's wraps
    let build = |to_server: bool, seq: u32, ack: u32, syn: bool, payload: &[u8]| {
        let (src, dst, sp, dp) = if to_server {
            (c_ip, s_ip, c_port, s_port)
        } else {
            (s_ip, c_ip, s_port, c_port)
        };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.octets(), dst.octets(), 64)
            .tcp(sp, dp, seq, 65535);
        if syn {
            b = b.syn();
        }
        if ack != 0 {
            b = b.ack(ack);
        }
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).expect("packet");
        out
    };
    let t0 = log.first().map(|l| l.0).unwrap_or_default() - Duration::from_millis(1);
    let mut out = vec![
        (t0, build(true, c_seq, 0, true, &[])),
        (t0, build(false, s_seq, c_seq + 1, true, &[])),
    ];
    c_seq += 1;
    s_seq = s_seq.wrapping_add(1);
    out.push((t0, build(true, c_seq, s_seq, false, &[])));
    for (i, (t, to_server, bytes)) in log.iter().enumerate() {
        let mut segs = Vec::new();
        for piece in bytes.chunks(40) {
            let seq = if *to_server { &mut c_seq } else { &mut s_seq };
            segs.push(build(*to_server, *seq, 1, false, piece));
            *seq = seq.wrapping_add(piece.len() as u32);
        }
        if i % 3 == 1 && segs.len() >= 2 {
            segs.swap(0, 1);
        }
        if i % 4 == 2 {
            let again = segs[0].clone();
            segs.push(again);
        }
        out.extend(segs.into_iter().map(|p| (*t, p)));
    }
    out
}

fn decode(file: &std::path::Path) -> Vec<Json> {
    let mut cmd = cce();
    cmd.args(["decode", "--format", "pcap"]).arg(file);
    let mut p = Proc::spawn(cmd, false);
    let lines = p.rest();
    assert_eq!(p.wait(), Some(0));
    lines
}

fn check(lines: &[Json], got: &[Json], version: u32) {
    let received: Vec<&Json> = lines
        .iter()
        .filter(|j| j["direction"] == "in" && j["name"] != "OPEN_CONF" && j["name"] != "CLOSE_CONF")
        .map(|j| &j["message"])
        .collect();
    assert_eq!(received.len(), got.len(), "{lines:?}");
    for (a, b) in received.iter().zip(got) {
        assert_eq!(*a, b);
    }
    let sent: Vec<&str> = lines
        .iter()
        .filter(|j| j["direction"] == "out")
        .filter_map(|j| j["name"].as_str())
        .collect();
    assert_eq!(sent.first(), Some(&"OPEN_REQ"), "{sent:?}");
    assert_eq!(sent.last(), Some(&"CLOSE_REQ"), "{sent:?}");
    let open = &lines[0];
    assert_eq!(open["message"]["VersionNumber"], Json::from(version));
    assert_eq!(open["connection"], "10.1.0.1:51000->10.1.0.2:42999");
    assert!(open["time"].as_f64().is_some_and(|t| t > 1.0e9));
    // The password is not printed.
    let text = serde_json::to_string(lines).expect("json");
    assert!(!text.contains("hunter2"));
    assert_eq!(open["message"]["ClientPassword"], "<redacted>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decode_of_a_capture_prints_what_the_session_received() {
    // Version 20, so decoding at the default (24) would be wrong: the version must
    // come from the OPEN_REQ.
    let (log, got) = session_through_proxy(20).await;
    assert!(got.iter().any(|j| j["MessageName"] == "END_CALL_EVENT"));
    let pkts = packets(&log);

    let pcap = temp_path("session.pcap");
    {
        let f = std::fs::File::create(&pcap).expect("pcap");
        let mut w = PcapWriter::with_header(f, PcapHeader::default()).expect("writer");
        for (t, p) in &pkts {
            w.write_packet(&PcapPacket::new(*t, p.len() as u32, p))
                .expect("write");
        }
    }
    let lines = tokio::task::spawn_blocking({
        let pcap = pcap.clone();
        move || decode(&pcap)
    })
    .await
    .expect("decode");
    check(&lines, &got, 20);
    let _ = std::fs::remove_file(&pcap);

    let pcapng = temp_path("session.pcapng");
    {
        let f = std::fs::File::create(&pcapng).expect("pcapng");
        let mut w = PcapNgWriter::new(f).expect("writer");
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 65535,
            options: vec![],
        })
        .expect("idb");
        for (t, p) in &pkts {
            w.write_pcapng_block(EnhancedPacketBlock {
                interface_id: 0,
                timestamp: *t,
                original_len: p.len() as u32,
                data: Cow::Borrowed(p),
                options: vec![],
            })
            .expect("epb");
        }
    }
    let lines = tokio::task::spawn_blocking({
        let pcapng = pcapng.clone();
        move || decode(&pcapng)
    })
    .await
    .expect("decode");
    check(&lines, &got, 20);
    let _ = std::fs::remove_file(&pcapng);
}

#[test]
fn decode_of_raw_bytes_and_hex_dumps() {
    use cce::cti::codec::{encode, Message};
    let open = SessionConfig::new("x", 19).open_req(5).expect("open");
    let mut hb = Message::new("HEARTBEAT_REQ", 19).expect("hb");
    hb.set_int("InvokeID", 6).expect("id");
    let mut bytes = encode(&open, 19).expect("enc").to_vec();
    bytes.extend_from_slice(&encode(&hb, 19).expect("enc"));
    let bin = temp_path("frames.bin");
    std::fs::write(&bin, &bytes).expect("write");
    let hex: String = bytes
        .chunks(16)
        .enumerate()
        .map(|(i, c)| {
            let h: Vec<String> = c.iter().map(|b| format!("{b:02x}")).collect();
            format!("{:08x}  {}  |................|\n", i * 16, h.join(" "))
        })
        .collect();
    let hexfile = temp_path("frames.hex");
    std::fs::write(&hexfile, hex).expect("write");
    for (f, fmt) in [
        (&bin, "bin"),
        (&hexfile, "hex"),
        (&bin, "auto"),
        (&hexfile, "auto"),
    ] {
        let out = cce()
            .args(["decode", "--format", fmt])
            .arg(f)
            .output()
            .expect("run");
        assert!(out.status.success(), "{fmt}");
        let lines: Vec<Json> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        let names: Vec<&str> = lines.iter().filter_map(|j| j["name"].as_str()).collect();
        assert_eq!(names, ["OPEN_REQ", "HEARTBEAT_REQ"], "{fmt}");
        assert_eq!(lines[0]["message"]["VersionNumber"], 19);
        assert_eq!(
            lines[1]["offset"],
            Json::from(encode(&open, 19).expect("enc").len())
        );
    }
    // A stream that cannot be framed fails with a message.
    std::fs::write(&bin, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]).expect("write");
    let out = cce()
        .args(["decode", "--format", "bin"])
        .arg(&bin)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_file(&bin);
    let _ = std::fs::remove_file(&hexfile);
}
