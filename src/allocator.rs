//! The memory allocator the binaries (and the Python module) run on: mimalloc, the one
//! polars recommends, asked for huge pages. Reading a book allocates columns of tens of
//! millions of rows; with 4 KiB pages every fresh column costs a page fault per 4 KiB,
//! which measured a third of the reading time. Huge pages (where the system allows them:
//! transparent huge pages in `madvise` or `always` mode) cut that by 512x.

/// The allocator to install with `#[global_allocator]`.
pub type Allocator = mimalloc::MiMalloc;

/// Backs large allocations with huge pages where the system allows them. Call first thing
/// in `main`: allocations made before it keep 4 KiB pages. Harmless where the process
/// runs on another allocator or huge pages are off.
pub fn prefer_huge_pages() {
    // SAFETY: `mi_option_set` stores an option value; it has no preconditions and is
    // thread-safe.
    unsafe { libmimalloc_sys::mi_option_set(libmimalloc_sys::mi_option_large_os_pages, 1) }
}
