//! The memory allocator the binaries (and the Python module) run on: mimalloc, the one
//! polars recommends, asked for huge pages. Reading a book allocates columns of tens of
//! millions of rows; with 4 KiB pages every fresh column costs a page fault per 4 KiB,
//! which measured a third of the reading time. Huge pages (where the system allows them:
//! transparent huge pages in `madvise` or `always` mode) cut that by 512x.

/// The allocator to install with `#[global_allocator]`.
pub type Allocator = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3 alike); libmimalloc-sys does not
/// name it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Backs large allocations with huge pages where the system allows them, and returns
/// freed memory to the system at once rather than 10 ms later. Call first thing in
/// `main`: allocations made before it keep 4 KiB pages. Harmless where the process runs
/// on another allocator or huge pages are off.
///
/// Why the purge: loading frees each source's polars frame right after converting it,
/// and the next source is read within milliseconds; with the default delay the freed
/// pages were still resident then. Labeling 1M clients peaked at 2.08-2.18 GB with the
/// delay and 1.83-1.86 GB without, in the same time within this machine's noise.
pub fn prepare_for_large_tables() {
    // SAFETY: `mi_option_set` stores an option value; it has no preconditions and is
    // thread-safe.
    unsafe {
        libmimalloc_sys::mi_option_set(libmimalloc_sys::mi_option_large_os_pages, 1);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}
