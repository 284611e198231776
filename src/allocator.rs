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

/// How long freed memory is kept for reuse in a run labelled part by part.
const PARTS_PURGE_DELAY_MS: std::ffi::c_long = 1000;

/// Keeps freed memory for a second before returning it to the system, for runs that
/// free and allocate the same amounts over and over: a book labelled in client parts
/// reads, labels and frees one part after another. Returned at once, every part's
/// columns were faulted in and zeroed afresh by the kernel (a 10M book: 88 s of system
/// time, 2 min 53 s); kept, the next part reuses them (52 s, 2 min 33 s). Not for a
/// run in one piece, where nothing repeats and the kept pages only add to the peak
/// (labeling 1M clients: 1.45 -> 1.55 GB). Harmless under another allocator.
pub fn reuse_freed_memory() {
    // SAFETY: as in `prepare_for_large_tables`.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PARTS_PURGE_DELAY_MS);
    }
}
