//! Returning freed memory to the operating system after a snapshot.
//!
//! Encoding a snapshot allocates and frees tens of megabytes of temporary vectors (the
//! canonical order of a million znodes and its work stacks). An allocator such as jemalloc
//! keeps freed pages for reuse and returns them only while it keeps allocating: on a
//! server that goes quiet after a burst of writes, never, and its resident memory stays
//! that much above the tree. This crate does not know the allocator (the binary chooses
//! it), so the binary registers how to release freed pages, and the snapshot thread calls
//! that after each snapshot: rarely (thousands of writes apart) and off the write path.

use std::sync::OnceLock;

static RELEASE_FREED_PAGES: OnceLock<fn()> = OnceLock::new();

/// Registers how to return the allocator's freed pages to the operating system. Only the
/// first registration counts; returns whether this one did.
pub fn set_release_freed_pages(release: fn()) -> bool {
    RELEASE_FREED_PAGES.set(release).is_ok()
}

/// Returns the allocator's freed pages, if the binary said how.
pub(crate) fn release_freed_pages() {
    if let Some(release) = RELEASE_FREED_PAGES.get() {
        release();
    }
}
