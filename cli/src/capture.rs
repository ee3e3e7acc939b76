//! Reading pcap/pcapng captures into TCP segments, and TCP stream reassembly
//! (out-of-order segments held back, retransmissions and overlaps trimmed).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;

/// Out-of-order data held per direction before giving up on a gap.
const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;
/// Out-of-order segments held per direction before giving up on a gap.
const MAX_PENDING_SEGMENTS: usize = 4096;

/// One TCP segment of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Capture time, seconds since the Unix epoch (microseconds).
    pub time_us: u64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number.
    pub seq: u32,
    /// SYN flag.
    pub syn: bool,
    /// ACK flag.
    pub ack: bool,
    /// The TCP payload.
    pub payload: Vec<u8>,
}

/// What reading a capture skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadStats {
    /// Packets read.
    pub packets: u64,
    /// Packets that are not TCP over IP (or could not be parsed).
    pub not_tcp: u64,
}

fn segment(link: DataLink, data: &[u8], time_us: u64) -> Option<Segment> {
    let p = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(data).ok()?,
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(data).ok()?,
        // BSD loopback: a 4-byte address family, then IP.
        DataLink::NULL | DataLink::LOOP => SlicedPacket::from_ip(data.get(4..)?).ok()?,
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(data).ok()?,
        _ => return None,
    };
    let (src, dst): (IpAddr, IpAddr) = match p.net? {
        NetSlice::Ipv4(s) => (
            s.header().source_addr().into(),
            s.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(s) => (
            s.header().source_addr().into(),
            s.header().destination_addr().into(),
        ),
        _ => return None,
    };
    let TransportSlice::Tcp(t) = p.transport? else {
        return None;
    };
    Some(Segment {
        time_us,
        src: SocketAddr::new(src, t.source_port()),
        dst: SocketAddr::new(dst, t.destination_port()),
        seq: t.sequence_number(),
        syn: t.syn(),
        ack: t.ack(),
        payload: t.payload().to_vec(),
    })
}

/// True when `data` starts like a pcap or pcapng file.
pub fn is_capture(data: &[u8]) -> bool {
    matches!(
        data.get(..4),
        Some(
            [0x0a, 0x0d, 0x0d, 0x0a]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x4d, 0x3c, 0xb2, 0xa1]
        )
    )
}

/// Reads every TCP segment of a pcap or pcapng capture, in file order.
pub fn read_segments(data: &[u8], mut each: impl FnMut(Segment)) -> Result<ReadStats, String> {
    let mut stats = ReadStats::default();
    let mut put = |link: DataLink, bytes: &[u8], us: u64, stats: &mut ReadStats| {
        stats.packets += 1;
        match segment(link, bytes, us) {
            Some(s) => each(s),
            None => stats.not_tcp += 1,
        }
    };
    if data.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut r = PcapNgReader::new(data).map_err(|e| format!("pcapng: {e}"))?;
        let mut links: Vec<DataLink> = Vec::new();
        while let Some(b) = r.next_block() {
            match b.map_err(|e| format!("pcapng: {e}"))? {
                Block::SectionHeader(_) => links.clear(),
                Block::InterfaceDescription(i) => links.push(i.linktype),
                Block::EnhancedPacket(p) => {
                    let link = links
                        .get(p.interface_id as usize)
                        .copied()
                        .unwrap_or(DataLink::ETHERNET);
                    put(link, &p.data, p.timestamp.as_micros() as u64, &mut stats);
                }
                Block::SimplePacket(p) => {
                    let link = links.first().copied().unwrap_or(DataLink::ETHERNET);
                    put(link, &p.data, 0, &mut stats);
                }
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(data).map_err(|e| format!("pcap: {e}"))?;
        let link = r.header().datalink;
        while let Some(p) = r.next_packet() {
            let p = p.map_err(|e| format!("pcap: {e}"))?;
            put(link, &p.data, p.timestamp.as_micros() as u64, &mut stats);
        }
    }
    Ok(stats)
}

/// One direction of a TCP connection being put back in order.
#[derive(Debug, Default)]
pub struct Stream {
    isn: Option<u32>,
    delivered: u32,
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    /// Gaps skipped because data never arrived (the reader must resynchronize).
    pub gaps: u64,
}

/// What pushing a segment produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Bytes that follow the previously delivered ones, in order.
    pub data: Vec<u8>,
    /// True when a gap was skipped before `data` (its first bytes may be mid-message).
    pub gap: bool,
}

impl Stream {
    /// Adds a segment; returns the bytes now in order.
    pub fn push(&mut self, seq: u32, syn: bool, payload: &[u8]) -> Pushed {
        let mut out = Pushed::default();
        let seq = if syn {
            if self.isn.is_none() {
                self.isn = Some(seq.wrapping_add(1));
            }
            seq.wrapping_add(1)
        } else {
            seq
        };
        if payload.is_empty() {
            return out;
        }
        let isn = *self.isn.get_or_insert(seq);
        let rel = seq.wrapping_sub(isn);
        self.place(rel, payload, &mut out.data);
        self.drain(&mut out.data);
        if self.pending_bytes > MAX_PENDING_BYTES || self.pending.len() > MAX_PENDING_SEGMENTS {
            // Skip the gap: continue from the first held segment.
            if let Some((&k, _)) = self.pending.iter().next() {
                self.gaps += 1;
                out.gap = true;
                self.delivered = k;
                self.drain(&mut out.data);
            }
        }
        out
    }

    fn place(&mut self, rel: u32, payload: &[u8], out: &mut Vec<u8>) {
        let d = rel.wrapping_sub(self.delivered) as i32;
        let len = payload.len() as i64;
        if i64::from(d) + len <= 0 {
            return; // Retransmission of delivered data.
        }
        if d <= 0 {
            let skip = (-i64::from(d)) as usize;
            let fresh = &payload[skip..];
            out.extend_from_slice(fresh);
            self.delivered = self.delivered.wrapping_add(fresh.len() as u32);
        } else {
            let keep = self
                .pending
                .get(&rel)
                .is_none_or(|p| p.len() < payload.len());
            if keep {
                if let Some(old) = self.pending.insert(rel, payload.to_vec()) {
                    self.pending_bytes -= old.len();
                }
                self.pending_bytes += payload.len();
            }
        }
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        while let Some((&k, _)) = self.pending.iter().next() {
            let d = k.wrapping_sub(self.delivered) as i32;
            if d > 0 {
                break;
            }
            if let Some(p) = self.pending.remove(&k) {
                self.pending_bytes -= p.len();
                self.place(k, &p, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorders_and_drops_retransmissions() {
        let mut s = Stream::default();
        assert!(s.push(99, true, b"").data.is_empty());
        assert_eq!(s.push(100, false, b"abc").data, b"abc");
        // Out of order: "ghi" before "def".
        assert!(s.push(106, false, b"ghi").data.is_empty());
        assert_eq!(s.push(103, false, b"def").data, b"defghi");
        // Full and partial retransmissions.
        assert!(s.push(100, false, b"abcdef").data.is_empty());
        assert_eq!(s.push(107, false, b"hijk").data, b"jk");
        assert_eq!(s.gaps, 0);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut s = Stream::default();
        assert_eq!(s.push(u32::MAX - 1, false, b"ab").data, b"ab");
        assert_eq!(s.push(0, false, b"cd").data, b"cd");
    }

    #[test]
    fn captures_are_recognized() {
        assert!(is_capture(&[0xd4, 0xc3, 0xb2, 0xa1, 0]));
        assert!(!is_capture(b"0000"));
        assert!(read_segments(&[0xd4, 0xc3, 0xb2, 0xa1], |_| {}).is_err());
    }
}
