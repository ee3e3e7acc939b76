//! `cce decode`: CTI byte streams, hex dumps and captures into JSON lines.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use cce::cti::codec::frame::HEADER_LEN;
use cce::cti::codec::json::to_json;
use cce::cti::codec::{decode_frame, DecodeOptions, Frame, FrameSplitter};
use cce::cti::spec;
use cce::sim::cti::replay::to_hex;
use clap::{Args, ValueEnum};
use serde_json::{json, Value as Json};

use crate::capture::{self, Stream};
use crate::out;
use crate::{CliResult, Exit};

/// Largest input read (bytes).
const MAX_INPUT: u64 = 1 << 30;
/// Protocol version used when neither --version nor an OPEN_REQ tells.
const DEFAULT_VERSION: u32 = 24;

/// Input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Detect: a capture by its magic number, text (no NUL byte) as a hex dump, else raw bytes.
    Auto,
    /// Hex text: plain hex, xxd, `hexdump -C` or Wireshark hex dumps.
    Hex,
    /// Raw CTI bytes (frames back to back).
    Bin,
    /// pcap or pcapng capture (TCP reassembled, both directions).
    Pcap,
}

/// `cce decode` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cce decode --format pcap session.pcapng\n  xxd frames.bin | cce decode --format hex -"
)]
pub struct DecodeArgs {
    /// Input file, or `-` for stdin.
    input: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// Protocol version (default: from the OPEN_REQ when present, else 24).
    #[arg(long, value_parser = clap::value_parser!(u32).range(15..=25))]
    version: Option<u32>,
    /// CTI Server port(s) in a capture (default: found from SYNs and OPEN_REQs;
    /// 42027 and 43027 are assumed to be servers).
    #[arg(long, value_delimiter = ',')]
    port: Vec<u16>,
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    let res = if path.as_os_str() == "-" {
        std::io::stdin().take(MAX_INPUT).read_to_end(&mut data)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT).read_to_end(&mut data))
    };
    res.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(data)
}

/// Bytes of a hex dump. Per line: an offset column (`0000:`, `00000010`) is skipped,
/// hex groups are read up to the first non-hex token (an ASCII column), `0x` prefixes
/// and `#` comments are ignored.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default();
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let mut rest = &tokens[..];
        if let Some(first) = rest.first() {
            let offset_like = first.ends_with(':')
                || (rest.len() > 1 && first.len() >= 4 && first.len() % 2 == 0 && {
                    // `hexdump -C` / Wireshark: an offset, then byte tokens.
                    rest.get(1).is_some_and(|t| t.len() == 2)
                });
            if offset_like {
                rest = &rest[1..];
            }
        }
        let mut digits = String::new();
        for t in rest {
            let t = t.trim_start_matches("0x");
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_hexdigit()) {
                break;
            }
            digits.push_str(t);
        }
        if !digits.len().is_multiple_of(2) {
            return Err(format!("line {}: odd number of hex digits", n + 1));
        }
        for i in (0..digits.len()).step_by(2) {
            let b = u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|e| format!("line {}: {e}", n + 1))?;
            out.push(b);
        }
    }
    Ok(out)
}

fn name_of(msg_type: u32) -> Option<&'static str> {
    spec::message_by_type(msg_type).map(|s| s.name)
}

/// The OPEN_REQ VersionNumber of a frame, if it is a plausible OPEN_REQ.
fn open_req_version(f: &Frame) -> Option<u32> {
    if name_of(f.msg_type) != Some("OPEN_REQ") {
        return None;
    }
    let v = u32::from_be_bytes(f.body.get(4..8)?.try_into().ok()?);
    (15..=25).contains(&v).then_some(v)
}

fn render(f: &Frame, version: u32) -> Json {
    match decode_frame(f, version, DecodeOptions::tolerant()) {
        Ok(m) => to_json(&m),
        Err(e) => {
            let mut raw = (f.body.len() as u32).to_be_bytes().to_vec();
            raw.extend_from_slice(&f.msg_type.to_be_bytes());
            raw.extend_from_slice(&f.body);
            json!({"MessageType": f.msg_type, "MessageName": name_of(f.msg_type),
                   "error": e.to_string(), "hex": to_hex(&raw)})
        }
    }
}

fn guess_direction(msg_type: u32) -> &'static str {
    match name_of(msg_type) {
        Some(n) if n.ends_with("_REQ") => "out",
        Some(_) => "in",
        None => "unknown",
    }
}

/// Runs `cce decode`.
pub async fn run(a: DecodeArgs) -> CliResult {
    let data = read_input(&a.input)?;
    let format = match a.format {
        Format::Auto if capture::is_capture(&data) => Format::Pcap,
        // CTI frames always hold NUL bytes (in the length); text is a hex dump.
        Format::Auto if !data.contains(&0) && std::str::from_utf8(&data).is_ok() => Format::Hex,
        Format::Auto => Format::Bin,
        f => f,
    };
    match format {
        Format::Pcap => pcap(&data, &a),
        Format::Hex => {
            let text = std::str::from_utf8(&data).map_err(|_| "hex input is not text")?;
            stream(&parse_hex(text)?, a.version)
        }
        _ => stream(&data, a.version),
    }
}

/// Decodes frames back to back.
fn stream(data: &[u8], forced: Option<u32>) -> CliResult {
    let mut splitter = FrameSplitter::new();
    splitter.push(data);
    let mut version = forced;
    let mut offset = 0usize;
    loop {
        match splitter.next_frame() {
            Ok(Some(f)) => {
                if version.is_none() {
                    version = open_req_version(&f);
                }
                let msg = render(&f, version.unwrap_or(DEFAULT_VERSION));
                let mut rec = out::message_record(0.0, guess_direction(f.msg_type), msg);
                rec["time"] = Json::Null;
                rec["offset"] = json!(offset);
                offset += HEADER_LEN + f.body.len();
                if !out::line(&rec) {
                    return Ok(Exit::Ok);
                }
            }
            Ok(None) => break,
            Err(e) => {
                out::line(&json!({"offset": offset, "error": e.to_string()}));
                return Err(format!("cannot frame the input at byte {offset}: {e}"));
            }
        }
    }
    if splitter.pending() > 0 {
        out::line(
            &json!({"offset": offset, "error": "truncated frame", "bytes": splitter.pending()}),
        );
    }
    Ok(Exit::Ok)
}

/// One direction of a connection.
#[derive(Default)]
struct Half {
    stream: Stream,
    splitter: FrameSplitter,
}

/// A TCP connection of the capture.
struct Conn {
    /// The server's endpoint, once known.
    server: Option<SocketAddr>,
    version: Option<u32>,
    halves: HashMap<SocketAddr, Half>,
}

const WELL_KNOWN_PORTS: [u16; 2] = [42027, 43027];

fn pcap(data: &[u8], a: &DecodeArgs) -> CliResult {
    let mut conns: HashMap<(SocketAddr, SocketAddr), Conn> = HashMap::new();
    let ports: &[u16] = if a.port.is_empty() {
        &WELL_KNOWN_PORTS
    } else {
        &a.port
    };
    let mut printed = 0u64;
    let mut stdout_open = true;
    let stats = capture::read_segments(data, |seg| {
        if !stdout_open {
            return;
        }
        let key = if seg.src < seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let conn = conns.entry(key).or_insert_with(|| Conn {
            server: None,
            version: a.version,
            halves: HashMap::new(),
        });
        if conn.server.is_none() {
            if seg.syn && !seg.ack {
                conn.server = Some(seg.dst);
            } else if seg.syn && seg.ack {
                conn.server = Some(seg.src);
            } else if ports.contains(&seg.dst.port()) {
                conn.server = Some(seg.dst);
            } else if ports.contains(&seg.src.port()) {
                conn.server = Some(seg.src);
            }
        }
        let half = conn.halves.entry(seg.src).or_default();
        let pushed = half.stream.push(seg.seq, seg.syn, &seg.payload);
        if pushed.gap {
            half.splitter = FrameSplitter::new();
        }
        if pushed.data.is_empty() {
            return;
        }
        half.splitter.push(&pushed.data);
        let mut frames = Vec::new();
        loop {
            match half.splitter.next_frame() {
                Ok(Some(f)) => frames.push(Ok(f)),
                Ok(None) => break,
                Err(e) => {
                    frames.push(Err(e.to_string()));
                    half.splitter = FrameSplitter::new();
                    break;
                }
            }
        }
        let time = seg.time_us as f64 / 1e6;
        for f in frames {
            let rec = match f {
                Ok(f) => {
                    if let Some(v) = open_req_version(&f) {
                        if conn.server.is_none() {
                            conn.server = Some(seg.dst);
                        }
                        if a.version.is_none() {
                            conn.version = Some(v);
                        }
                    }
                    let dir = match conn.server {
                        Some(s) if s == seg.dst => "out",
                        Some(_) => "in",
                        None => guess_direction(f.msg_type),
                    };
                    out::message_record(
                        time,
                        dir,
                        render(&f, conn.version.unwrap_or(DEFAULT_VERSION)),
                    )
                }
                Err(e) => json!({"time": time, "error": format!("cannot frame the stream: {e}")}),
            };
            let (client, server) = match conn.server {
                Some(s) if s == seg.src => (seg.dst, seg.src),
                _ => (seg.src, seg.dst),
            };
            let mut rec = rec;
            rec["connection"] = json!(format!("{client}->{server}"));
            printed += 1;
            if !out::line(&rec) {
                stdout_open = false;
                return;
            }
        }
    })?;
    let gaps: u64 = conns
        .values()
        .flat_map(|c| c.halves.values())
        .map(|h| h.stream.gaps)
        .sum();
    eprintln!(
        "cce decode: {} packets, {} not TCP, {} connections, {printed} messages, {gaps} gaps",
        stats.packets,
        stats.not_tcp,
        conns.len()
    );
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dumps_of_every_usual_shape() {
        let want = vec![0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0, 7];
        for text in [
            "000000040000000600000007",
            "00 00 00 04 00 00 00 06\n00 00 00 07",
            "00000000: 0000 0004 0000 0006 0000 0007  ............",
            "00000000  00 00 00 04 00 00 00 06  00 00 00 07  |............|",
            "0x00 0x00 0x00 0x04 0x00 0x00 0x00 0x06 0x00 0x00 0x00 0x07 # heartbeat",
        ] {
            assert_eq!(parse_hex(text).unwrap(), want, "{text}");
        }
        assert!(parse_hex("abc").is_err());
    }
}
