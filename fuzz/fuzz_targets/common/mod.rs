//! Shared by the fuzz targets: a global allocator that records the largest single
//! allocation, so a target can check that memory follows the input's real size
//! and never a length the input merely claims.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Wraps the system allocator and remembers the largest request since [`reset`].
pub struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Forgets the largest allocation seen so far.
pub fn reset() {
    LARGEST.store(0, Ordering::Relaxed);
}

/// Fails if any single allocation since [`reset`] exceeded `per_byte` bytes per
/// input byte plus a fixed `slack`.
pub fn check(input_len: usize, per_byte: usize, slack: usize) {
    let largest = LARGEST.load(Ordering::Relaxed);
    let bound = input_len.saturating_mul(per_byte).saturating_add(slack);
    assert!(
        largest <= bound,
        "allocated {largest} bytes at once for a {input_len}-byte input (bound {bound})"
    );
}
