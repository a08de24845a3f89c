//! Allocator settings per command. The binary allocates with mimalloc (v3).
//!
//! `idp rebuild` is a batch job that grows a heap of a GB or more (every user's state, the
//! buffered rows of a bulk load and their sorted copies) and frees and refills much of it at
//! every load. Two defaults made the kernel zero pages far more often than the heap grew:
//! - mimalloc purges freed memory back to the OS after a delay, so the next load faults and
//!   zeroes the same memory again;
//! - transparent huge pages (mimalloc advises them on its arenas): every first touch zeroes
//!   2 MiB, and the kernel's cost of finding and zeroing a huge page varied from run to run.
//!
//! On a 200k-record replay these were 2–3 of 6–7 CPU-seconds of system time, and the run to
//! run spread of the replay's CPU time (docs/benchmarks.md). A rebuild therefore keeps the
//! memory it frees and uses normal pages; the process exits when it ends, so keeping its peak
//! heap costs nothing afterwards. `idp serve` keeps the defaults (a long-running server
//! should give memory back).

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc's `mi_option_e` (mimalloc.h; the same index in v2 and
/// v3): milliseconds before freed memory is purged, -1 = never.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;
/// `mi_option_allow_thp` in mimalloc v3's `mi_option_e`: advise huge pages on new OS memory.
const MI_OPTION_ALLOW_THP: mi_option_t = 43;

/// Settings for a batch job that builds a large heap: keep freed memory, no huge pages.
pub fn for_batch_job() {
    // SAFETY: mimalloc's option setters store into its option table and are meant to be
    // called at run time with any value. Called before other threads start.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        mi_option_set(MI_OPTION_ALLOW_THP, 0);
    }
    // Memory mimalloc already mapped may carry MADV_HUGEPAGE: the process-wide switch covers it.
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "could not disable transparent huge pages");
    }
}

/// The purge delay (ms, -1 = never) and whether huge pages are advised, as now in force.
#[cfg(test)]
pub fn settings() -> (libc::c_long, bool) {
    // SAFETY: reads mimalloc's option table.
    unsafe { (libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), libmimalloc_sys::mi_option_get(MI_OPTION_ALLOW_THP) != 0) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn batch_job_settings_keep_freed_memory_and_drop_huge_pages() {
        // v3's defaults for these two options and no others with the same values nearby:
        // the indexes name the right options (unless the environment overrides them).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() && std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            assert_eq!(super::settings(), (1000, true));
        }
        super::for_batch_job();
        assert_eq!(super::settings(), (-1, false));
        assert_eq!(rustix::thread::transparent_huge_pages_are_disabled().ok(), Some(true));
    }
}
