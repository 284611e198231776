//! The memory allocator the binaries run on: mimalloc, the one polars recommends. Reading
//! a book allocates columns of tens of millions of rows, so how fresh memory reaches the
//! process is a large part of the reading time (a third of it under glibc's malloc).

/// The allocator to install with `#[global_allocator]`.
pub type Allocator = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 and v3 alike); libmimalloc-sys does not
/// name it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory is kept for reuse in a run in one piece.
const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Sets the process up for large tables. Call first thing in `main` of a binary that
/// runs on [`Allocator`]; it changes process-wide memory settings, so a library embedded
/// in someone else's process (the Python module) does not call it.
///
/// - Small (4 KiB) pages, not transparent huge pages. On the virtual machines this runs
///   on (KVM with a free-page-reporting balloon), the host backs a fresh 2 MiB page only
///   when it is first touched: 1.6 GB of fresh huge pages took 4.0 s to fault in, the
///   same in small pages 0.53 s (`benches/page_faults.c`). Reading a 1M-client book:
///   6.2-6.4 s -> 5.3-5.4 s, system time 4.0-4.5 s -> 2.0-2.2 s. Where huge pages come
///   warm (bare metal) they would save about 0.2 s per GB.
/// - Freed memory is kept for 0.1 s before it goes back to the system: loading frees
///   each column's polars text right after converting it and allocates the next
///   column's within milliseconds. Returned at once, every one was faulted in afresh:
///   reading a 1M book 5.3 -> 4.8 s (1.38 -> 1.42 GB peak), labeling it 9.5 -> 8.7 s
///   (1.39 -> 1.43 GB), training 37.7 -> 35.8 s (1.73 -> 2.11 GB). A second kept
///   (as runs in parts do, [`reuse_freed_memory`]) took labeling 1M to 1.53 GB.
pub fn prepare_for_large_tables() {
    disable_transparent_huge_pages();
    // SAFETY: `mi_option_set` stores an option value; it has no preconditions and is
    // thread-safe.
    unsafe {
        libmimalloc_sys::mi_option_set(libmimalloc_sys::mi_option_large_os_pages, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
    }
}

/// Opts the process out of transparent huge pages (also where the system's policy is
/// `always`, and although mimalloc asks for them with `madvise`): memory faulted in from
/// now on comes in small pages.
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE sets a flag of the calling process; it takes no
    // pointers. A kernel without it returns an error, which leaves huge pages as they
    // were (slower where they are cold, never wrong).
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

/// How long freed memory is kept for reuse in a run labelled part by part.
const PARTS_PURGE_DELAY_MS: std::ffi::c_long = 1000;

/// Keeps freed memory for a second before returning it to the system, for runs that
/// free and allocate the same amounts over and over: a book labelled in client parts
/// reads, labels and frees one part after another. Returned at once, every part's
/// columns were faulted in and zeroed afresh by the kernel (a 10M book: 88 s of system
/// time, 2 min 53 s); kept, the next part reuses them (52 s, 2 min 33 s). A labeling
/// run in one piece keeps them 0.1 s while it reads (`prepare_for_large_tables`), then
/// a second once the tables only the features read are dropped: labeling's chunks reuse
/// that memory (1M clients: system time 3.2 -> 2.2 s, the peak still reading's).
/// Harmless under another allocator.
pub fn reuse_freed_memory() {
    // SAFETY: as in `prepare_for_large_tables`.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PARTS_PURGE_DELAY_MS);
    }
}
