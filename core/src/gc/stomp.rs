//! A sans-IO STOMP 1.2 frame codec: [`Frame`], [`encode`] and the incremental
//! [`FrameDecoder`], with limits so that hostile input gives a typed error, never a
//! panic or unbounded buffering.
//!
//! Only what a JMS-style client needs is here; the protocol exchanges (CONNECT,
//! SUBSCRIBE, SEND with receipts, heart-beats) live in [`super::transport`].

use bytes::{Buf, BytesMut};

/// A STOMP frame: command, headers in wire order, body.
///
/// `Debug` hides the `passcode` header and the body of a message whose `type` is a
/// Connect/Login request (both carry passwords).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// `CONNECT`, `SEND`, `MESSAGE`, ...
    pub command: String,
    /// Decoded (unescaped) headers in wire order; repeated names are kept.
    pub headers: Vec<(String, String)>,
    /// The body (may be empty).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("passcode") {
                    "<redacted>"
                } else {
                    v.as_str()
                };
                (k.as_str(), v)
            })
            .collect();
        let secret_body = self.get("type").is_some_and(|t| {
            super::command::carries_secret(t.split('#').next().unwrap_or_default())
        });
        let body = if secret_body {
            "<redacted>".to_owned()
        } else {
            String::from_utf8_lossy(&self.body).into_owned()
        };
        f.debug_struct("Frame")
            .field("command", &self.command)
            .field("headers", &headers)
            .field("body", &body)
            .finish()
    }
}

impl Frame {
    /// A frame with no headers and no body.
    pub fn new(command: impl Into<String>) -> Self {
        Frame {
            command: command.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of a header: STOMP 1.2 says the first occurrence wins.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StompError {
    /// The command line is empty, too long or not an upper-case word.
    #[error("STOMP: bad command line {0:?}")]
    BadCommand(String),
    /// A header line has no `:`.
    #[error("STOMP: header line without ':' ({0:?})")]
    BadHeader(String),
    /// An undefined escape sequence (`\x`) or a trailing `\` in a header.
    #[error("STOMP: bad escape sequence in header {0:?}")]
    BadEscape(String),
    /// Header bytes are not UTF-8.
    #[error("STOMP: header is not UTF-8")]
    NotUtf8,
    /// The header block exceeds [`Limits::max_header_bytes`].
    #[error("STOMP: header block over {0} bytes")]
    HeadersTooLong(usize),
    /// More headers than [`Limits::max_headers`].
    #[error("STOMP: more than {0} headers")]
    TooManyHeaders(usize),
    /// The body exceeds [`Limits::max_body_bytes`].
    #[error("STOMP: body over {0} bytes")]
    BodyTooLarge(usize),
    /// `content-length` is not a number.
    #[error("STOMP: bad content-length {0:?}")]
    BadContentLength(String),
    /// The byte after a `content-length` body is not NUL.
    #[error("STOMP: frame not terminated by NUL after content-length body")]
    MissingNul,
    /// A body without `content-length` contains NUL, which would end it early.
    #[error("STOMP: a body with NUL needs a content-length header")]
    NulInBody,
    /// A header name or value for a CONNECT frame contains CR, LF or `:`,
    /// which that frame cannot escape.
    #[error("STOMP: header {0:?} cannot be sent unescaped")]
    Unencodable(String),
}

/// Decoder limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Command line plus headers, in bytes.
    pub max_header_bytes: usize,
    /// Number of header lines.
    pub max_headers: usize,
    /// Body size in bytes.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_headers: 128,
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

fn escapes(command: &str) -> bool {
    // STOMP 1.2: CONNECT and CONNECTED frames do not escape headers.
    command != "CONNECT" && command != "CONNECTED"
}

fn escape_into(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b':' => out.extend_from_slice(b"\\c"),
            _ => out.push(b),
        }
    }
}

fn unescape(s: &str) -> Result<String, StompError> {
    if !s.contains('\\') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('c') => out.push(':'),
            _ => return Err(StompError::BadEscape(s.to_owned())),
        }
    }
    Ok(out)
}

/// Encodes a frame. No `content-length` is added: a caller that wants one adds it as a
/// header (ActiveMQ turns a SEND without it into a JMS TextMessage). A body with NUL and
/// no `content-length` is refused.
pub fn encode(frame: &Frame) -> Result<Vec<u8>, StompError> {
    if frame.command.is_empty() || !frame.command.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(StompError::BadCommand(frame.command.clone()));
    }
    if frame.get("content-length").is_none() && frame.body.contains(&0) {
        return Err(StompError::NulInBody);
    }
    let escaped = escapes(&frame.command);
    let mut out = Vec::with_capacity(frame.command.len() + frame.body.len() + 64);
    out.extend_from_slice(frame.command.as_bytes());
    out.push(b'\n');
    for (name, value) in &frame.headers {
        if escaped {
            escape_into(&mut out, name);
            out.push(b':');
            escape_into(&mut out, value);
        } else {
            let bad = |s: &str| s.contains(['\n', '\r']);
            if bad(name) || bad(value) || name.contains(':') {
                return Err(StompError::Unencodable(name.clone()));
            }
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(&frame.body);
    out.push(0);
    Ok(out)
}

/// What [`FrameDecoder::next_frame`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A whole frame.
    Frame(Frame),
    /// A heart-beat (an end-of-line between frames).
    HeartBeat,
}

/// Splits a byte stream into frames. After an error the stream is unusable: the
/// connection must be closed (the decoder keeps returning the error).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
    limits: Limits,
    broken: Option<StompError>,
    // Bytes of the current frame already scanned without finding its end, so that a
    // frame arriving in many small reads is scanned once, not once per read.
    head_scanned: usize,
    body_scanned: usize,
}

impl FrameDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> Self {
        FrameDecoder {
            buf: BytesMut::new(),
            limits,
            broken: None,
            head_scanned: 0,
            body_scanned: 0,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.broken.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes buffered.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next frame or heart-beat, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Decoded>, StompError> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        match self.parse() {
            Err(e) => {
                self.buf.clear();
                self.broken = Some(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn parse(&mut self) -> Result<Option<Decoded>, StompError> {
        // Heart-beats: EOLs between frames.
        match self.buf.first() {
            None => return Ok(None),
            Some(b'\n') => {
                self.buf.advance(1);
                return Ok(Some(Decoded::HeartBeat));
            }
            Some(b'\r') => {
                return match self.buf.get(1) {
                    None => Ok(None),
                    Some(b'\n') => {
                        self.buf.advance(2);
                        Ok(Some(Decoded::HeartBeat))
                    }
                    Some(_) => Err(StompError::BadCommand("\r".into())),
                };
            }
            Some(_) => {}
        }
        // The header block ends at the first empty line.
        let limit = self.limits.max_header_bytes;
        let search = &self.buf[..self.buf.len().min(limit + 4)];
        let Some(end) = find_blank_line(search, self.head_scanned.saturating_sub(3)) else {
            if self.buf.len() > limit {
                return Err(StompError::HeadersTooLong(limit));
            }
            self.head_scanned = search.len();
            return Ok(None);
        };
        let (head_len, sep_len) = end;
        if head_len > limit {
            return Err(StompError::HeadersTooLong(limit));
        }
        let head = std::str::from_utf8(&self.buf[..head_len]).map_err(|_| StompError::NotUtf8)?;
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let command = lines.next().unwrap_or_default();
        if command.is_empty()
            || command.len() > 32
            || !command.bytes().all(|b| b.is_ascii_uppercase())
        {
            return Err(StompError::BadCommand(command.chars().take(40).collect()));
        }
        let escaped = escapes(command);
        let mut headers = Vec::new();
        for line in lines {
            if headers.len() >= self.limits.max_headers {
                return Err(StompError::TooManyHeaders(self.limits.max_headers));
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(StompError::BadHeader(line.chars().take(80).collect()));
            };
            let (name, value) = if escaped {
                (unescape(name)?, unescape(value)?)
            } else {
                (name.to_owned(), value.to_owned())
            };
            headers.push((name, value));
        }
        let body_start = head_len + sep_len;
        let content_length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map(|(_, v)| {
                v.trim()
                    .parse::<usize>()
                    .map_err(|_| StompError::BadContentLength(v.chars().take(40).collect()))
            })
            .transpose()?;
        let max_body = self.limits.max_body_bytes;
        let body_len = match content_length {
            Some(n) => {
                if n > max_body {
                    return Err(StompError::BodyTooLarge(max_body));
                }
                if self.buf.len() < body_start + n + 1 {
                    return Ok(None);
                }
                if self.buf[body_start + n] != 0 {
                    return Err(StompError::MissingNul);
                }
                n
            }
            None => {
                let rest = &self.buf[body_start..];
                let from = self.body_scanned.min(rest.len());
                match rest[from..]
                    .iter()
                    .take((max_body + 1).saturating_sub(from))
                    .position(|b| *b == 0)
                {
                    Some(n) => from + n,
                    None if rest.len() > max_body => {
                        return Err(StompError::BodyTooLarge(max_body))
                    }
                    None => {
                        self.body_scanned = rest.len();
                        return Ok(None);
                    }
                }
            }
        };
        let frame = Frame {
            command: command.to_owned(),
            headers,
            body: self.buf[body_start..body_start + body_len].to_vec(),
        };
        self.buf.advance(body_start + body_len + 1);
        self.head_scanned = 0;
        self.body_scanned = 0;
        Ok(Some(Decoded::Frame(frame)))
    }
}

/// Position of the blank line ending the header block: (header length, separator length).
fn find_blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match buf.get(i + 1) {
                Some(b'\n') => return Some((i, 2)),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some((i, 3)),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Result<Vec<Decoded>, StompError> {
        let mut d = FrameDecoder::default();
        d.push(bytes);
        let mut out = Vec::new();
        while let Some(f) = d.next_frame()? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn round_trip_with_escapes() {
        let f = Frame::new("SEND")
            .header("destination", "/queue/Connector1")
            .header("type", "Login#1001")
            .header("odd", "a:b\\c\nd\re")
            .body("secret,4012");
        let bytes = encode(&f).expect("encode");
        assert!(!String::from_utf8_lossy(&bytes).contains("content-length"));
        let got = decode_all(&bytes).expect("decode");
        assert_eq!(got, vec![Decoded::Frame(f)]);
    }

    #[test]
    fn activemq_message_decodes_byte_by_byte() {
        let wire = b"MESSAGE\nexpires:0\ndestination:/topic/dest1\nmessage-id:ID\\cvm-1\\c2\ntype:Login#1001\n\n1001#State#READY#Al\x00\n";
        let mut d = FrameDecoder::default();
        let mut frames = Vec::new();
        for b in wire {
            d.push(&[*b]);
            while let Some(x) = d.next_frame().expect("decode") {
                frames.push(x);
            }
        }
        assert_eq!(frames.len(), 2);
        let Decoded::Frame(f) = &frames[0] else {
            panic!("not a frame")
        };
        assert_eq!(f.get("message-id"), Some("ID:vm-1:2"));
        assert_eq!(f.get("type"), Some("Login#1001"));
        assert_eq!(f.body, b"1001#State#READY#Al");
        assert_eq!(frames[1], Decoded::HeartBeat);
    }

    #[test]
    fn content_length_bodies_may_hold_nul() {
        let got = decode_all(b"MESSAGE\ncontent-length:5\n\nab\0cd\0").expect("decode");
        let Decoded::Frame(f) = &got[0] else {
            panic!("not a frame")
        };
        assert_eq!(f.body, b"ab\0cd");
        assert_eq!(
            decode_all(b"MESSAGE\ncontent-length:2\n\nabc\0"),
            Err(StompError::MissingNul)
        );
    }

    #[test]
    fn first_header_wins_and_crlf_is_accepted() {
        let got = decode_all(b"MESSAGE\r\na:1\r\na:2\r\n\r\nx\0\r\n").expect("decode");
        let Decoded::Frame(f) = &got[0] else {
            panic!("not a frame")
        };
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.body, b"x");
        assert_eq!(got[1], Decoded::HeartBeat);
    }

    #[test]
    fn connect_frames_are_not_escaped() {
        let f = Frame::new("CONNECT").header("passcode", "a\\b");
        let bytes = encode(&f).expect("encode");
        assert!(bytes.windows(3).any(|w| w == b"a\\b"));
        let bad = Frame::new("CONNECT").header("login", "a\nb");
        assert!(matches!(encode(&bad), Err(StompError::Unencodable(_))));
        let got = decode_all(b"CONNECTED\nsession:a\\b\n\n\0").expect("decode");
        let Decoded::Frame(f) = &got[0] else {
            panic!("not a frame")
        };
        assert_eq!(f.get("session"), Some("a\\b"));
    }

    #[test]
    fn hostile_input_gives_typed_errors() {
        let limits = Limits {
            max_header_bytes: 64,
            max_headers: 2,
            max_body_bytes: 8,
        };
        let run = |bytes: &[u8]| {
            let mut d = FrameDecoder::new(limits);
            d.push(bytes);
            loop {
                match d.next_frame() {
                    Ok(Some(_)) => continue,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        };
        assert!(matches!(run(b"send\n\n\0"), Err(StompError::BadCommand(_))));
        assert!(matches!(
            run(b"SEND\nnocolon\n\n\0"),
            Err(StompError::BadHeader(_))
        ));
        assert!(matches!(
            run(b"SEND\na:\\x\n\n\0"),
            Err(StompError::BadEscape(_))
        ));
        assert!(matches!(
            run(b"SEND\na:\\\n\n\0"),
            Err(StompError::BadEscape(_))
        ));
        assert!(matches!(
            run(b"SEND\na:\xff\n\n\0"),
            Err(StompError::NotUtf8)
        ));
        assert_eq!(run(&[b'A'; 100]), Err(StompError::HeadersTooLong(64)));
        assert_eq!(
            run(b"SEND\na:1\nb:2\nc:3\n\n\0"),
            Err(StompError::TooManyHeaders(2))
        );
        assert_eq!(run(b"SEND\n\n0123456789"), Err(StompError::BodyTooLarge(8)));
        assert_eq!(
            run(b"SEND\ncontent-length:99999999999\n\n"),
            Err(StompError::BodyTooLarge(8))
        );
        assert!(matches!(
            run(b"SEND\ncontent-length:x\n\n\0"),
            Err(StompError::BadContentLength(_))
        ));
        // An incomplete frame within the limits just waits.
        assert_eq!(run(b"SEND\na:1\n\nabc"), Ok(()));
    }

    #[test]
    fn a_broken_stream_stays_broken() {
        let mut d = FrameDecoder::default();
        d.push(b"bad\n\n\0");
        assert!(d.next_frame().is_err());
        d.push(b"MESSAGE\n\n\0");
        assert!(d.next_frame().is_err());
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn encode_refuses_nul_without_content_length() {
        let f = Frame::new("SEND").body(b"a\0b".to_vec());
        assert_eq!(encode(&f), Err(StompError::NulInBody));
        let f = f.header("content-length", "3");
        assert!(encode(&f).is_ok());
        assert!(matches!(
            encode(&Frame::new("se nd")),
            Err(StompError::BadCommand(_))
        ));
    }
}
