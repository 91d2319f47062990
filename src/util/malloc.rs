//! The one setting of the C allocator (glibc's malloc) the server wants, applied by
//! re-executing itself.
//!
//! glibc keeps freed chunks of up to 128 bytes (a 100-byte string value with its key is
//! one) in per-arena "fastbins" without coalescing them, and coalesces the whole pile
//! the next time a thread of that arena asks for 1 KiB or more (`malloc_consolidate`),
//! holding the arena's lock meanwhile. A value is freed into the arena of the thread
//! that allocated it, so after keys loaded by one connection are overwritten by others,
//! that arena holds hundreds of thousands of loose chunks; the next large request there
//! (a new connection's read buffer) walks them all while every thread of the arena,
//! perhaps one holding the keyspace lock, waits (a profile of SET over 1M keys after a
//! load: 11% of the samples in `malloc_consolidate` and its `unlink_chunk`, all under a
//! new connection's `BufReader` allocation). Without fastbins a freed chunk is coalesced
//! at once, and no pile builds up.
//!
//! The tunable (`glibc.malloc.mxfast=0`) is read only when a process starts, and
//! setting it from inside would take `mallopt` through FFI (unsafe), so the server
//! re-executes itself once with it added to `GLIBC_TUNABLES`. One already given there
//! is kept as it is.

/// The tunable that turns fastbins off.
pub const MXFAST: &str = "glibc.malloc.mxfast";

/// `GLIBC_TUNABLES` with fastbins turned off, or `None` if it already sets `mxfast`.
pub fn tunables_with_mxfast(current: Option<&str>) -> Option<String> {
    match current {
        Some(t) if t.split(':').any(|kv| kv.split('=').next() == Some(MXFAST)) => None,
        Some(t) if !t.is_empty() => Some(format!("{t}:{MXFAST}=0")),
        _ => Some(format!("{MXFAST}=0")),
    }
}

/// Re-executes the running binary with the same arguments and fastbins turned off,
/// unless `GLIBC_TUNABLES` already sets them. Returns only if that is so, or the
/// re-execution failed (the server then runs with the allocator's defaults).
pub fn reexec_without_fastbins() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let current = std::env::var("GLIBC_TUNABLES").ok();
        let Some(tunables) = tunables_with_mxfast(current.as_deref()) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut argv = std::env::args_os();
        let arg0 = argv.next().unwrap_or_else(|| exe.clone().into_os_string());
        // `exec` returns only on failure.
        let _ = std::process::Command::new(exe)
            .arg0(arg0)
            .args(argv)
            .env("GLIBC_TUNABLES", tunables)
            .exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mxfast_is_added_once_and_a_given_one_is_kept() {
        assert_eq!(tunables_with_mxfast(None).unwrap(), "glibc.malloc.mxfast=0");
        assert_eq!(
            tunables_with_mxfast(Some("")).unwrap(),
            "glibc.malloc.mxfast=0"
        );
        assert_eq!(
            tunables_with_mxfast(Some("glibc.malloc.arena_max=2")).unwrap(),
            "glibc.malloc.arena_max=2:glibc.malloc.mxfast=0"
        );
        assert_eq!(tunables_with_mxfast(Some("glibc.malloc.mxfast=0")), None);
        assert_eq!(
            tunables_with_mxfast(Some("glibc.malloc.tcache_count=0:glibc.malloc.mxfast=64")),
            None
        );
    }
}
