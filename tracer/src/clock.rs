//! Clocks: wall time, and the offset that turns the kernel's `CLOCK_MONOTONIC` stamps
//! (`bpf_ktime_get_ns`) into UTC timestamps.

fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// `CLOCK_REALTIME - CLOCK_MONOTONIC`, from the tightest of a few paired readings.
pub fn clock_offset_ns() -> i64 {
    let mut best = (i64::MAX, 0);
    for _ in 0..5 {
        let m1 = clock_ns(libc::CLOCK_MONOTONIC);
        let r = clock_ns(libc::CLOCK_REALTIME);
        let m2 = clock_ns(libc::CLOCK_MONOTONIC);
        if m2 - m1 < best.0 {
            best = (m2 - m1, r - (m1 + (m2 - m1) / 2));
        }
    }
    best.1
}

/// `CLOCK_MONOTONIC` nanoseconds, as this process sees it (a time namespace shifts it).
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC).max(0) as u64
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    clock_ns(libc::CLOCK_REALTIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_offset_is_plausible() {
        let off = clock_offset_ns();
        // Realtime is after 2020 and monotonic is time since boot.
        assert!(off > 1_577_836_800_000_000_000, "{off}");
        let mono = clock_ns(libc::CLOCK_MONOTONIC);
        assert!((mono + off - now_ns()).abs() < 1_000_000_000);
    }
}
