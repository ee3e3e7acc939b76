//! A descriptor a host event loop can wait on: readable while a handle has events.
//!
//! A connected socket pair: the library writes one byte when events arrive in an
//! empty queue; the poll functions read everything back before taking events and
//! write one byte again if events are left after a batch. Both ends are non-blocking,
//! so neither the I/O thread nor the caller ever waits on it.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The wake-up socket pair of one handle.
pub(crate) struct WakeFd {
    /// The end the host waits on.
    read: UnixStream,
    /// The end the library signals.
    write: UnixStream,
}

impl WakeFd {
    /// A new, non-readable descriptor.
    pub(crate) fn new() -> std::io::Result<Self> {
        let (read, write) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        Ok(WakeFd { read, write })
    }

    /// The descriptor to wait on.
    pub(crate) fn raw(&self) -> i32 {
        self.read.as_raw_fd()
    }

    /// Makes the descriptor readable (a full buffer already is: nothing to do).
    pub(crate) fn wake(&self) {
        let _ = (&self.write).write(&[1]);
    }

    /// Makes the descriptor non-readable.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = (&self.read).read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }

    /// Clears the descriptor, then makes it readable again if `pending`.
    pub(crate) fn rearm(&self, pending: bool) {
        self.drain();
        if pending {
            self.wake();
        }
    }
}
