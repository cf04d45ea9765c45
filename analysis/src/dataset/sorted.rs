//! The reader's path for a file whose rows are not in (run, seq) order: the projected columns
//! are loaded (about 24 bytes per row), sorted by run (in order of first appearance) and `seq`,
//! and fed run by run in batches. Memory proportional to that one file.

use std::path::Path;

use arrow::{
    array::{ArrayRef, AsArray, RecordBatch},
    datatypes::{DataType, Int32Type, UInt64Type},
};
use tracer_dataset::col;

use super::{
    columns::{LabelColumns, column_as, read_batches, syscall_ids},
    reader::{BATCH_ROWS, RowChunk, RowConsumer, ScanStats},
    select::{RunMeta, Selection},
};
use crate::{error::AnalysisError, intern::Interner};

const SCAN_COLUMNS: [&str; 8] = [
    col::RUN_ID,
    col::SOURCE,
    col::SCENARIO,
    col::MODE,
    col::SEQ,
    col::PID,
    col::TID,
    col::SYSCALL,
];

/// The seq, pid and tid columns of a batch.
fn numeric_columns(
    path: &Path,
    batch: &RecordBatch,
) -> Result<(ArrayRef, ArrayRef, ArrayRef), AnalysisError> {
    Ok((
        column_as(path, batch, col::SEQ, &DataType::UInt64)?,
        column_as(path, batch, col::PID, &DataType::Int32)?,
        column_as(path, batch, col::TID, &DataType::Int32)?,
    ))
}

/// Loads `path`, sorts it and feeds the runs matching `selection`.
pub(super) fn scan_sorted(
    path: &Path,
    selection: &Selection,
    interner: &mut Interner,
    consumer: &mut dyn RowConsumer,
    stats: &mut ScanStats,
) -> Result<(), AnalysisError> {
    let mut runs: Vec<RunMeta> = Vec::new();
    let mut run_of_row: Vec<u32> = Vec::new();
    let (mut seqs, mut pids, mut tids, mut syss) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut ids = Vec::new();
    read_batches(path, &SCAN_COLUMNS, |batch| {
        let n = batch.num_rows();
        stats.rows_read += n as u64;
        let labels = LabelColumns::new(path, batch)?;
        syscall_ids(path, batch, interner, &mut ids)?;
        let (seq, pid, tid) = numeric_columns(path, batch)?;
        let keys = labels.run_id.keys().values();
        let mut last_key = None;
        let mut run_index = 0u32;
        for i in 0..n {
            if last_key != Some(keys[i]) {
                last_key = Some(keys[i]);
                let id = labels.run_id(i);
                run_index = match runs.iter().position(|r| r.run_id == id) {
                    Some(p) => p as u32,
                    None => {
                        runs.push(labels.meta(i));
                        (runs.len() - 1) as u32
                    }
                };
            }
            run_of_row.push(run_index);
        }
        seqs.extend_from_slice(seq.as_primitive::<UInt64Type>().values());
        pids.extend_from_slice(pid.as_primitive::<Int32Type>().values());
        tids.extend_from_slice(tid.as_primitive::<Int32Type>().values());
        syss.extend_from_slice(&ids);
        Ok(())
    })?;
    let mut order: Vec<u32> = (0..seqs.len() as u32).collect();
    order.sort_by_key(|&i| (run_of_row[i as usize], seqs[i as usize]));
    let (mut cs, mut cp, mut ct, mut cy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut start = 0;
    while start < order.len() {
        let run_index = run_of_row[order[start] as usize];
        let mut end = start;
        while end < order.len() && run_of_row[order[end] as usize] == run_index {
            end += 1;
        }
        let run = &runs[run_index as usize];
        if selection.matches(run) {
            stats.runs_selected += 1;
            stats.rows_selected += (end - start) as u64;
            consumer.begin_run(run)?;
            for piece in order[start..end].chunks(BATCH_ROWS) {
                cs.clear();
                cp.clear();
                ct.clear();
                cy.clear();
                for &i in piece {
                    let i = i as usize;
                    cs.push(seqs[i]);
                    cp.push(pids[i]);
                    ct.push(tids[i]);
                    cy.push(syss[i]);
                }
                consumer.rows(&RowChunk {
                    seq: &cs,
                    pid: &cp,
                    tid: &ct,
                    syscall: &cy,
                });
            }
            consumer.end_run()?;
        }
        start = end;
    }
    Ok(())
}
