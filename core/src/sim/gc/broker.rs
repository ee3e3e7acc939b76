//! A minimal in-memory STOMP 1.2 broker, for tests and demos without ActiveMQ.
//!
//! It implements what the GC client and simulator use: CONNECT, SUBSCRIBE,
//! UNSUBSCRIBE, SEND (with receipts) and DISCONNECT. Queues deliver each message to one
//! subscriber (round robin) and keep messages while nobody listens (up to
//! [`MAX_QUEUED`] per queue); topics deliver to every current subscriber and keep
//! nothing. No persistence, transactions, acknowledgements or heart-beats. Not a
//! production broker: use ActiveMQ for that.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::gc::stomp::{encode, Decoded, Frame, FrameDecoder, Limits};

/// Messages kept per queue while it has no subscriber.
pub const MAX_QUEUED: usize = 10_000;

#[derive(Default)]
struct State {
    conns: HashMap<u64, mpsc::UnboundedSender<Vec<u8>>>,
    // (connection, subscription id, destination)
    subs: Vec<(u64, String, String)>,
    queued: HashMap<String, VecDeque<Frame>>,
    round_robin: usize,
    next_message: u64,
}

impl State {
    fn deliver(&mut self, dest: &str, msg: &Frame) -> bool {
        let targets: Vec<(u64, String)> = self
            .subs
            .iter()
            .filter(|(_, _, d)| d == dest)
            .map(|(c, s, _)| (*c, s.clone()))
            .collect();
        if targets.is_empty() {
            return false;
        }
        let chosen: Vec<(u64, String)> = if dest.starts_with("/queue/") {
            self.round_robin = self.round_robin.wrapping_add(1);
            vec![targets[self.round_robin % targets.len()].clone()]
        } else {
            targets
        };
        for (conn, sub) in chosen {
            self.next_message += 1;
            let mut f = Frame::new("MESSAGE")
                .header("destination", dest)
                .header("subscription", sub)
                .header("message-id", format!("m-{}", self.next_message));
            f.headers.extend(msg.headers.iter().cloned());
            f.body = msg.body.clone();
            if msg.body.contains(&0) {
                f = f.header("content-length", msg.body.len().to_string());
            }
            if let (Some(tx), Ok(bytes)) = (self.conns.get(&conn), encode(&f)) {
                let _ = tx.send(bytes);
            }
        }
        true
    }
}

/// A running in-memory broker.
pub struct StompBroker {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl StompBroker {
    /// Starts on `addr` (e.g. `127.0.0.1:0` for an ephemeral port).
    pub async fn start(addr: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let state = Arc::new(Mutex::new(State::default()));
        let task = tokio::spawn(accept_loop(listener, state, stop_rx));
        Ok(StompBroker {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// Listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening and drops every connection (like a broker crash).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for StompBroker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<Mutex<State>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut next_conn = 0u64;
    let mut conns = Vec::new();
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, _)) = r else { continue };
                next_conn += 1;
                conns.push(tokio::spawn(connection(stream, next_conn, state.clone(), stop.clone())));
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    for c in conns {
        let _ = c.await;
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

async fn connection(
    stream: TcpStream,
    id: u64,
    state: Arc<Mutex<State>>,
    mut stop: watch::Receiver<bool>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    lock(&state).conns.insert(id, tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let mut dec = FrameDecoder::new(Limits::default());
    let mut buf = vec![0u8; 16 * 1024];
    'conn: loop {
        let n = tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = stop.changed() => break,
        };
        dec.push(&buf[..n]);
        loop {
            let f = match dec.next_frame() {
                Ok(Some(Decoded::Frame(f))) => f,
                Ok(Some(Decoded::HeartBeat)) => continue,
                Ok(None) => break,
                Err(e) => {
                    let err = Frame::new("ERROR").header("message", e.to_string());
                    if let Ok(b) = encode(&err) {
                        let _ = tx.send(b);
                    }
                    break 'conn;
                }
            };
            let reply = |f: Frame| {
                if let Ok(b) = encode(&f) {
                    let _ = tx.send(b);
                }
            };
            let receipt = f.get("receipt").map(str::to_owned);
            match f.command.as_str() {
                "CONNECT" | "STOMP" => reply(
                    Frame::new("CONNECTED")
                        .header("version", "1.2")
                        .header("heart-beat", "0,0")
                        .header("server", "cce-mini-broker"),
                ),
                "SUBSCRIBE" => {
                    let (Some(sub), Some(dest)) = (f.get("id"), f.get("destination")) else {
                        reply(
                            Frame::new("ERROR")
                                .header("message", "SUBSCRIBE needs id and destination"),
                        );
                        break 'conn;
                    };
                    let mut st = lock(&state);
                    st.subs.push((id, sub.to_owned(), dest.to_owned()));
                    // Hand over what waited on a queue.
                    if dest.starts_with("/queue/") {
                        let waiting: Vec<Frame> = st
                            .queued
                            .get_mut(dest)
                            .map(|q| q.drain(..).collect())
                            .unwrap_or_default();
                        for m in waiting {
                            st.deliver(dest, &m);
                        }
                    }
                }
                "UNSUBSCRIBE" => {
                    let sub = f.get("id").unwrap_or_default().to_owned();
                    lock(&state)
                        .subs
                        .retain(|(c, s, _)| !(*c == id && *s == sub));
                }
                "SEND" => {
                    let Some(dest) = f.get("destination").map(str::to_owned) else {
                        reply(Frame::new("ERROR").header("message", "SEND needs a destination"));
                        break 'conn;
                    };
                    let mut msg = Frame::new("MESSAGE");
                    msg.headers = f
                        .headers
                        .iter()
                        .filter(|(k, _)| {
                            !matches!(k.as_str(), "destination" | "receipt" | "content-length")
                        })
                        .cloned()
                        .collect();
                    msg.body = f.body;
                    let mut st = lock(&state);
                    if !st.deliver(&dest, &msg) && dest.starts_with("/queue/") {
                        let q = st.queued.entry(dest).or_default();
                        if q.len() < MAX_QUEUED {
                            q.push_back(msg);
                        }
                    }
                }
                "DISCONNECT" => {
                    if let Some(r) = receipt {
                        reply(Frame::new("RECEIPT").header("receipt-id", r));
                    }
                    break 'conn;
                }
                _ => {}
            }
            if let Some(r) = receipt {
                let reply = |f: Frame| {
                    if let Ok(b) = encode(&f) {
                        let _ = tx.send(b);
                    }
                };
                reply(Frame::new("RECEIPT").header("receipt-id", r));
            }
        }
    }
    {
        let mut st = lock(&state);
        st.conns.remove(&id);
        st.subs.retain(|(c, _, _)| *c != id);
    }
    drop(tx);
    let _ = writer.await;
}
