//! The first, light pass over a file the footer cannot describe (several runs, labels not
//! proven, more rows than a batch): which runs it holds, at which rows, and whether every run is
//! contiguous with a `seq` that never decreases. Labels the footer shows constant are not read.
//! A `Dataset` keeps the result, so later scans of the same file do not repeat it.

use std::{collections::HashSet, path::Path};

use arrow::{
    array::AsArray,
    datatypes::{DataType, Int32Type, UInt64Type},
};
use tracer_dataset::col;

use super::{
    columns::{column_as, dict_type, dict_value, read_batches},
    footer::FileSummary,
    select::RunMeta,
};
use crate::error::AnalysisError;

/// One run of a file found by the first pass: its labels and rows `start..end`.
#[derive(Clone, Debug)]
pub(super) struct RunSpan {
    /// Its labels.
    pub(super) meta: RunMeta,
    /// First row.
    pub(super) start: u64,
    /// One past the last row.
    pub(super) end: u64,
    /// `seq` of its first row.
    pub(super) first_seq: u64,
}

/// What the first pass over a file's labels and `seq` found.
#[derive(Clone, Debug)]
pub(super) struct FileRuns {
    /// Every run is contiguous and its `seq` never decreases.
    pub(super) ordered: bool,
    /// The runs in order of first appearance; their row spans are meaningful when `ordered`.
    pub(super) runs: Vec<RunSpan>,
    /// Ordered, and every run's `seq` goes up by exactly one per row (an import's positions,
    /// a capture's order): a later read can count `seq` instead of decoding it.
    pub(super) consecutive_seq: bool,
}

/// A string column of a batch as a dictionary, read or known constant from the footer.
enum Label {
    Read(arrow::array::DictionaryArray<Int32Type>),
    Constant(Option<String>),
}

impl Label {
    fn get(&self, i: usize) -> Option<String> {
        match self {
            Label::Read(d) => dict_value(d, i),
            Label::Constant(v) => v.clone(),
        }
    }
}

/// The first pass: every run of `path`, its rows, and whether the file is in (run, seq) order.
/// Labels the footer shows constant are not read.
pub(super) fn prescan(path: &Path, summary: &FileSummary) -> Result<FileRuns, AnalysisError> {
    let constants = [
        (col::SOURCE, summary.constant_source.clone().map(Some)),
        (col::SCENARIO, summary.constant_scenario.clone()),
        (col::MODE, summary.constant_mode.clone()),
    ];
    let mut columns = vec![col::RUN_ID, col::SEQ];
    columns.extend(constants.iter().filter(|c| c.1.is_none()).map(|c| c.0));
    let mut runs: Vec<RunSpan> = Vec::new();
    let mut finished: HashSet<String> = HashSet::new();
    let mut last_seq = 0u64;
    let mut ordered = true;
    let mut consecutive = true;
    let mut row = 0u64;
    read_batches(path, &columns, |batch| {
        let dict = |name| -> Result<_, AnalysisError> {
            Ok(column_as(path, batch, name, &dict_type())?
                .as_dictionary::<Int32Type>()
                .clone())
        };
        let run_id = dict(col::RUN_ID)?;
        let mut labels = Vec::with_capacity(3);
        for (name, value) in &constants {
            labels.push(match value {
                Some(v) => Label::Constant(v.clone()),
                None => Label::Read(dict(name)?),
            });
        }
        let seq = column_as(path, batch, col::SEQ, &DataType::UInt64)?;
        let seq = seq.as_primitive::<UInt64Type>().values();
        let keys = run_id.keys().values();
        let names = run_id.values().as_string::<i32>();
        let id_of = |i: usize| names.value(keys[i] as usize);
        let n = batch.num_rows();
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && (keys[end] == keys[start] || id_of(end) == id_of(start)) {
                end += 1;
            }
            let id = id_of(start);
            let piece = &seq[start..end];
            let continued = runs.last().is_some_and(|last| last.meta.run_id == id);
            if continued {
                if let Some(last) = runs.last_mut() {
                    last.end = row + end as u64;
                }
                // The run's previous row ended the last batch.
                if piece[0] < last_seq {
                    ordered = false;
                }
                if piece[0] != last_seq.wrapping_add(1) {
                    consecutive = false;
                }
            } else {
                if let Some(prev) = runs.last() {
                    finished.insert(prev.meta.run_id.clone());
                }
                if finished.contains(id) {
                    ordered = false;
                }
                runs.push(RunSpan {
                    meta: RunMeta {
                        run_id: id.to_string(),
                        source: labels[0].get(start).unwrap_or_default(),
                        scenario: labels[1].get(start),
                        mode: labels[2].get(start),
                    },
                    start: row + start as u64,
                    end: row + end as u64,
                    first_seq: piece[0],
                });
            }
            if !piece.is_sorted() {
                ordered = false;
            }
            if consecutive && piece.windows(2).any(|w| w[1] != w[0].wrapping_add(1)) {
                consecutive = false;
            }
            last_seq = seq[end - 1];
            start = end;
        }
        row += n as u64;
        Ok(())
    })?;
    if !ordered {
        // Runs split in pieces: keep each run once, in order of first appearance.
        let mut seen = HashSet::new();
        runs.retain(|r| seen.insert(r.meta.run_id.clone()));
    }
    Ok(FileRuns {
        ordered,
        consecutive_seq: ordered && consecutive,
        runs,
    })
}
