//! `--summary` totals: calls, errors and summed durations per syscall. Counted by slot (see
//! `rows::slot`), so counting a row costs no hashing; named when the capture ends.

use std::collections::HashMap;

use super::rows::{Named, SLOTS};

/// Per-syscall totals for `--summary`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallTotals {
    /// Calls.
    pub calls: u64,
    /// Calls that returned an error (-4095..=-1).
    pub errors: u64,
    /// Summed durations (duration mode).
    pub duration_ns: u64,
}

impl SyscallTotals {
    fn count(&mut self, ret: Option<i64>, duration_ns: Option<i64>) {
        self.calls += 1;
        if ret.is_some_and(|r| (-4095..0).contains(&r)) {
            self.errors += 1;
        }
        self.duration_ns += duration_ns.unwrap_or(0) as u64;
    }
}

/// The totals of one capture.
#[derive(Debug)]
pub struct Totals {
    /// By slot, with the slot's name once a call was counted in it.
    by_slot: Vec<(Option<&'static str>, SyscallTotals)>,
    /// Calls whose number has no slot, by name.
    other: HashMap<&'static str, SyscallTotals>,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            by_slot: vec![(None, SyscallTotals::default()); SLOTS],
            other: HashMap::new(),
        }
    }
}

impl Totals {
    /// Counts one row of call `named` that returned `ret` (`None`: never returned).
    #[inline]
    pub fn count(&mut self, named: Named, ret: Option<i64>, duration_ns: Option<i64>) {
        let totals = match named.slot {
            Some(i) => {
                let entry = &mut self.by_slot[i];
                entry.0 = Some(named.name);
                &mut entry.1
            }
            None => self.other.entry(named.name).or_default(),
        };
        totals.count(ret, duration_ns);
    }

    /// The totals by name, sorted by name. A name with both a 64-bit and a 32-bit slot keeps
    /// the 32-bit slot's totals.
    pub fn into_sorted(self) -> Vec<(&'static str, SyscallTotals)> {
        let mut by_name = self.other;
        for (name, t) in self.by_slot {
            if let Some(name) = name {
                by_name.insert(name, t);
            }
        }
        let mut totals: Vec<_> = by_name.into_iter().collect();
        totals.sort_by_key(|t| t.0);
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_errors_and_durations_by_name() {
        let mut totals = Totals::default();
        let read = Named {
            slot: Some(0),
            name: "read",
            known: true,
        };
        let odd = Named {
            slot: None,
            name: "syscall_5000",
            known: false,
        };
        totals.count(read, Some(10), Some(100));
        totals.count(read, Some(-2), Some(50));
        totals.count(read, Some(-5000), None);
        totals.count(odd, None, None);
        let sorted = totals.into_sorted();
        assert_eq!(
            sorted,
            vec![
                (
                    "read",
                    SyscallTotals {
                        calls: 3,
                        errors: 1,
                        duration_ns: 150
                    }
                ),
                (
                    "syscall_5000",
                    SyscallTotals {
                        calls: 1,
                        errors: 0,
                        duration_ns: 0
                    }
                ),
            ],
            "-4095..=-1 are errors, -5000 is a value; no-slot calls are kept by name"
        );
    }
}
