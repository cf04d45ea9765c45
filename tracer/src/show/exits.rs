//! Where the `+++ exited with N +++` lines go among the calls: each process's end (from the
//! processes table) is placed before the first call made after it, by time; processes without
//! an end time are placed after their `exit_group`, or at the end.

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap},
};

use tracer_dataset::rows::ProcessRecord;

use super::line::Exit;

/// The process ends still to be printed.
#[derive(Debug, Default)]
pub struct Exits {
    /// Timed ends, earliest first.
    timed: BinaryHeap<Reverse<(i64, i32)>>,
    /// Ends of processes without an end time, by pid.
    untimed: BTreeMap<i32, Exit>,
    /// Every end, by pid.
    by_pid: BTreeMap<i32, Exit>,
}

impl Exits {
    /// The ends of `processes` that `keep` selects (processes still running, or whose end the
    /// table does not know, have none).
    pub fn new<'a>(
        processes: impl IntoIterator<Item = &'a ProcessRecord>,
        keep: impl Fn(i32) -> bool,
    ) -> Self {
        let mut exits = Self::default();
        for p in processes {
            if !keep(p.pid) || (p.exit_code.is_none() && p.signal.is_none()) {
                continue;
            }
            let exit = Exit {
                pid: p.pid,
                exit_ns: p.exit_ns,
                code: p.exit_code,
                signal: p.signal,
            };
            exits.by_pid.insert(p.pid, exit);
            match p.exit_ns {
                Some(t) => exits.timed.push(Reverse((t, p.pid))),
                None => {
                    exits.untimed.insert(p.pid, exit);
                }
            }
        }
        exits
    }

    /// Drops the timed ends before `ts_ns` (they lie before the range shown).
    pub fn discard_before(&mut self, ts_ns: i64) {
        while let Some(Reverse((t, _))) = self.timed.peek() {
            if *t >= ts_ns {
                break;
            }
            self.timed.pop();
        }
    }

    /// Moves the ends that came before a call at `ts_ns` (strictly: a process's last call
    /// carries its end time) into `due`, earliest first.
    pub fn due_before(&mut self, ts_ns: i64, due: &mut Vec<Exit>) {
        while let Some(Reverse((t, pid))) = self.timed.peek().copied() {
            if t >= ts_ns {
                break;
            }
            self.timed.pop();
            if let Some(e) = self.by_pid.get(&pid) {
                due.push(*e);
            }
        }
    }

    /// The end of `pid` if it has no time, taken after its `exit_group` was printed.
    pub fn after_exit_call(&mut self, pid: i32) -> Option<Exit> {
        self.untimed.remove(&pid)
    }

    /// The ends left at the end of the run: the timed ones up to `until_ns`, then (`untimed`)
    /// those without a time.
    pub fn rest(&mut self, until_ns: i64, untimed: bool) -> Vec<Exit> {
        let mut out = Vec::new();
        self.due_before(until_ns.saturating_add(1), &mut out);
        self.timed.clear();
        if untimed {
            out.extend(std::mem::take(&mut self.untimed).into_values());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: i32, exit_ns: Option<i64>, code: Option<i32>) -> ProcessRecord {
        ProcessRecord {
            run_id: "r".into(),
            pid,
            ppid: None,
            start_ns: None,
            exit_ns,
            exit_code: code,
            signal: None,
            comm: None,
            exe: None,
            argv: None,
            followed: None,
            exit_from_wait: None,
        }
    }

    #[test]
    fn ends_come_before_the_next_later_call() {
        let procs = [
            proc(1, Some(300), Some(0)),
            proc(2, Some(100), Some(7)),
            proc(3, None, Some(1)),
            proc(4, Some(50), None),
            proc(5, Some(200), Some(2)),
        ];
        let mut e = Exits::new(&procs, |pid| pid != 5);
        let mut due = Vec::new();
        e.due_before(100, &mut due);
        assert!(due.is_empty(), "a call at the end time itself comes first");
        e.due_before(101, &mut due);
        assert_eq!(due.iter().map(|x| x.pid).collect::<Vec<_>>(), [2]);
        assert_eq!(e.after_exit_call(3).map(|x| x.code), Some(Some(1)));
        assert_eq!(e.after_exit_call(3), None);
        let rest: Vec<i32> = e.rest(i64::MAX, true).iter().map(|x| x.pid).collect();
        assert_eq!(rest, [1]);
        let mut e = Exits::new(&procs, |_| true);
        e.discard_before(150);
        let rest: Vec<i32> = e.rest(250, false).iter().map(|x| x.pid).collect();
        assert_eq!(rest, [5], "process 4 has no status; 1 ends after the range");
    }
}
