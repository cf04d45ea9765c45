//! What the LID-DS measures need of an imported dataset's labels: the `runs` table beside its
//! `syscalls` files (split, exploit start), and for each exploit recording which of its calls
//! come at or after the exploit's start, by `seq`, so the scoring pass (which reads no times)
//! can tell a window's side from the `seq` of its last call.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use tracer_dataset::{
    RunLabels, col,
    labels::read_runs,
    layout::{self, RUNS_DIR, SYSCALLS_DIR},
    stream::{Bounds, SyscallStream},
    table,
};

use crate::{dataset::Dataset, error::AnalysisError};

/// The `runs` file of a `syscalls` file: in a dataset folder the same name under `runs/`
/// (`D/syscalls/x.parquet` -> `D/runs/x.parquet`), otherwise beside it (`x.runs.parquet`).
fn runs_file_for(syscalls: &Path) -> PathBuf {
    let parent = syscalls.parent();
    if parent
        .and_then(Path::file_name)
        .is_some_and(|n| n == SYSCALLS_DIR)
        && let (Some(root), Some(name)) = (parent.and_then(Path::parent), syscalls.file_name())
    {
        return root.join(RUNS_DIR).join(name);
    }
    layout::runs_path(syscalls)
}

/// The labels of every run of `dataset` that has a `runs` table (none for captures and
/// ingested strace logs), by run id.
pub fn run_labels(dataset: &Dataset) -> Result<HashMap<String, RunLabels>, AnalysisError> {
    let mut out = HashMap::new();
    let mut seen = Vec::new();
    for file in dataset.files() {
        let runs = runs_file_for(file);
        if seen.contains(&runs) || !runs.is_file() {
            continue;
        }
        let is_runs = layout::table_of(&runs)
            .map_err(|e| match e {
                layout::LayoutError::Io {
                    action,
                    path,
                    source,
                } => AnalysisError::io(action, path, source),
                layout::LayoutError::NotFound(p) => AnalysisError::NoInput(p.display().to_string()),
            })?
            .is_some_and(|t| t == table::RUNS);
        if is_runs {
            for r in read_runs(&runs)? {
                out.insert(r.run_id.clone(), r);
            }
        }
        seen.push(runs);
    }
    Ok(out)
}

/// Which calls of one exploit recording are at or after the exploit's start. A call without a
/// time counts as before. Times need not grow with `seq`: calls of the `seq` range where
/// before and after mix are listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExploitCut {
    /// The lowest `seq` of a call at or after the start (`None`: the exploit starts after the
    /// recording's last call).
    first_after: Option<u64>,
    /// The highest `seq` of a call before the start.
    last_before: Option<u64>,
    /// The calls at or after the start with `seq` in `first_after..=last_before`, sorted.
    mixed_after: Vec<u64>,
}

impl ExploitCut {
    /// Whether the call `seq` came at or after the exploit's start.
    #[inline]
    pub fn is_after(&self, seq: u64) -> bool {
        match (self.first_after, self.last_before) {
            (None, _) => false,
            (Some(a), _) if seq < a => false,
            (Some(_), Some(b)) if seq <= b => self.mixed_after.binary_search(&seq).is_ok(),
            (Some(_), _) => true,
        }
    }

    /// Whether some calls at or after the start come before some calls before it in `seq`.
    fn mixed(&self) -> bool {
        matches!((self.first_after, self.last_before), (Some(a), Some(b)) if b > a)
    }

    /// First pass: one call.
    fn observe(&mut self, seq: u64, after: bool) {
        if after {
            self.first_after = Some(self.first_after.map_or(seq, |a| a.min(seq)));
        } else {
            self.last_before = Some(self.last_before.map_or(seq, |b| b.max(seq)));
        }
    }

    /// Second pass (only where `mixed`): one call.
    fn observe_mixed(&mut self, seq: u64, after: bool) {
        if let (Some(a), Some(b)) = (self.first_after, self.last_before)
            && after
            && (a..=b).contains(&seq)
        {
            self.mixed_after.push(seq);
        }
    }
}

/// The cut of every run of `dataset` named in `starts` (run id -> exploit start, ns since the
/// epoch), from its `run_id`, `seq` and `ts_ns` columns. A second pass reads again only when a
/// recording's times do not grow with `seq`.
pub fn exploit_cuts(
    dataset: &Dataset,
    starts: &HashMap<String, i64>,
) -> Result<HashMap<String, ExploitCut>, AnalysisError> {
    let mut cuts: HashMap<String, ExploitCut> = starts
        .keys()
        .map(|k| (k.clone(), ExploitCut::default()))
        .collect();
    if starts.is_empty() {
        return Ok(cuts);
    }
    for pass in 0..2 {
        if pass == 1 && !cuts.values().any(ExploitCut::mixed) {
            break;
        }
        for file in dataset.files() {
            let stream = SyscallStream::open_columns(
                file,
                &Bounds::default(),
                Some(&[col::RUN_ID, col::SEQ, col::TS_NS]),
            )?;
            for batch in stream {
                let batch = batch?;
                for i in 0..batch.len() {
                    let (Some(start), Some(cut)) =
                        (starts.get(batch.run_id(i)), cuts.get_mut(batch.run_id(i)))
                    else {
                        continue;
                    };
                    let row = batch.row(i);
                    let after = row.ts_ns.is_some_and(|t| t >= *start);
                    if pass == 0 {
                        cut.observe(row.seq, after);
                    } else {
                        cut.observe_mixed(row.seq, after);
                    }
                }
            }
        }
    }
    for cut in cuts.values_mut() {
        cut.mixed_after.sort_unstable();
        cut.mixed_after.dedup();
    }
    Ok(cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cut of calls (seq, after), built with both passes as `exploit_cuts` does.
    fn cut(calls: &[(u64, bool)]) -> ExploitCut {
        let mut c = ExploitCut::default();
        for &(s, a) in calls {
            c.observe(s, a);
        }
        if c.mixed() {
            for &(s, a) in calls {
                c.observe_mixed(s, a);
            }
        }
        c.mixed_after.sort_unstable();
        c
    }

    #[test]
    fn times_growing_with_seq_cut_once() {
        let calls = [(0, false), (1, false), (2, true), (3, true)];
        let c = cut(&calls);
        assert!(!c.mixed() && c.mixed_after.is_empty());
        for (s, a) in calls {
            assert_eq!(c.is_after(s), a, "seq {s}");
        }
        assert!(c.is_after(99));
    }

    #[test]
    fn times_out_of_seq_order_are_exact() {
        // 3 is after the start but 4 and 6 are before it (an earlier time logged later).
        let calls = [
            (0, false),
            (1, false),
            (3, true),
            (4, false),
            (5, true),
            (6, false),
            (7, true),
        ];
        let c = cut(&calls);
        assert!(c.mixed());
        assert_eq!(c.mixed_after, [3, 5]);
        for (s, a) in calls {
            assert_eq!(c.is_after(s), a, "seq {s}");
        }
    }

    #[test]
    fn no_call_after_the_start_is_never_after() {
        let c = cut(&[(0, false), (1, false)]);
        assert!(!c.is_after(0) && !c.is_after(5));
        let all = cut(&[(4, true), (5, true)]);
        assert!(all.is_after(4) && all.is_after(5) && !all.is_after(3));
    }

    #[test]
    fn runs_file_beside_or_in_the_runs_folder() {
        assert_eq!(
            runs_file_for(Path::new("d/syscalls/x.parquet")),
            Path::new("d/runs/x.parquet")
        );
        assert_eq!(
            runs_file_for(Path::new("d/x.parquet")),
            Path::new("d/x.runs.parquet")
        );
    }
}
