//! The streaming reader on real Parquet files: inputs (file, folder, glob), skipping processes
//! files, selection, and files whose rows are not in seq order.

use crate::common::*;
use analysis::{
    dataset::{Dataset, RowChunk, RowConsumer, RunMeta, Selection},
    error::AnalysisError,
    intern::Interner,
};

/// One row as (seq, tid, syscall id).
type Row = (u64, i32, u16);

/// Records every run and its rows.
#[derive(Default)]
struct Collect {
    interner_names: Vec<String>,
    runs: Vec<(RunMeta, Vec<Row>)>,
}

impl RowConsumer for Collect {
    fn begin_run(&mut self, run: &RunMeta) -> Result<(), AnalysisError> {
        self.runs.push((run.clone(), Vec::new()));
        Ok(())
    }
    fn rows(&mut self, c: &RowChunk<'_>) {
        let rows = &mut self.runs.last_mut().expect("begin_run first").1;
        for i in 0..c.len() {
            rows.push((c.seq[i], c.tid[i], c.syscall[i]));
        }
    }
    fn end_run(&mut self) -> Result<(), AnalysisError> {
        Ok(())
    }
}

fn scan(inputs: &[String], sel: &Selection) -> (Collect, Interner, analysis::dataset::ScanStats) {
    let ds = Dataset::open(inputs).expect("open dataset");
    let mut interner = Interner::new();
    let mut c = Collect::default();
    let stats = ds.scan(sel, &mut interner, &mut c).expect("scan");
    c.interner_names = interner.names().to_vec();
    (c, interner, stats)
}

#[test]
fn folder_glob_and_file_inputs_skip_processes_files() {
    let (_dir, root) = temp_tiny_experiment();
    let ds = Dataset::open(&[root.display().to_string()]).expect("open folder");
    assert_eq!(
        ds.files().len(),
        3,
        "processes file must be skipped: {:?}",
        ds.files()
    );
    let glob = format!("{}/syscalls/*-ms-*.parquet", root.display());
    assert_eq!(Dataset::open(&[glob]).expect("open glob").files().len(), 2);
    let file = root.join("syscalls/s-mr-0.parquet").display().to_string();
    assert_eq!(Dataset::open(&[file]).expect("open file").files().len(), 1);
    let only_processes = root.join("processes").display().to_string();
    let err = Dataset::open(std::slice::from_ref(&only_processes)).expect_err("no syscalls file");
    assert!(err.to_string().contains(&only_processes), "{err}");
    let missing = root.join("nope.parquet").display().to_string();
    let err = Dataset::open(&[missing]).expect_err("missing file");
    assert!(err.to_string().contains("nope.parquet"), "{err}");
}

#[test]
fn runs_are_listed_and_selected() {
    let (_dir, root) = temp_tiny_experiment();
    let root = root.display().to_string();
    let ds = Dataset::open(std::slice::from_ref(&root)).expect("open");
    let runs = ds.runs().expect("runs");
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["s-mr-0", "s-ms-0", "s-ms-1"]);
    assert_eq!(runs[0].mode.as_deref(), Some("mr"));
    let (c, _, stats) = scan(&[root], &Selection::parse("mode=ms").expect("parse"));
    assert_eq!(c.runs.len(), 2);
    // The M.R file is skipped after the light first pass.
    assert_eq!((stats.files, stats.files_without_selected_runs), (3, 1));
    assert_eq!(
        (stats.rows_read, stats.rows_selected, stats.runs_selected),
        (24, 24, 2)
    );
    // Rows arrive in seq order with names interned.
    let (_, rows) = &c.runs[0];
    assert_eq!(rows.len(), 12);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| c.interner_names[usize::from(r.2)].as_str())
        .collect();
    assert_eq!(names.join(""), "abcabcxyzxyz");
}

#[test]
fn unsorted_file_is_sorted_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("u.parquet");
    // seq order: 0..6, written shuffled.
    let rows: Vec<(u64, Call<'_>)> = vec![
        (3, (1, 1, "d")),
        (0, (1, 1, "a")),
        (5, (1, 2, "f")),
        (1, (1, 1, "b")),
        (4, (1, 2, "e")),
        (2, (1, 1, "c")),
    ];
    write_run_with_seq(&path, "u", None, None, &rows);
    let (c, interner, stats) = scan(&[path.display().to_string()], &Selection::all());
    assert_eq!(stats.files_sorted_in_memory, 1);
    let seqs: Vec<u64> = c.runs[0].1.iter().map(|r| r.0).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
    let names: String = c.runs[0].1.iter().map(|r| interner.name(r.2)).collect();
    assert_eq!(names, "abcdef");
    assert_eq!(c.runs[0].0.scenario, None);
}

/// A file as another tool (DuckDB, polars) might rewrite it: plain strings instead of
/// dictionaries, 64-bit ids, several runs in one file, one of them split in two pieces.
#[test]
fn plain_columns_and_multi_run_files() {
    use std::sync::Arc;

    use arrow::{
        array::{ArrayRef, Int64Array, RecordBatch, StringArray, UInt64Array},
        datatypes::{DataType, Field, Schema},
    };

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plain.parquet");
    let runs = ["r1", "r1", "r2", "r2", "r1"];
    let seqs = [0u64, 1, 0, 1, 2];
    let names = ["a", "b", "x", "y", "c"];
    let schema = Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("scenario", DataType::Utf8, true),
        Field::new("mode", DataType::Utf8, true),
        Field::new("seq", DataType::UInt64, false),
        Field::new("pid", DataType::Int64, false),
        Field::new("tid", DataType::Int64, false),
        Field::new("syscall", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(runs.to_vec())),
        Arc::new(StringArray::from(vec!["duckdb"; 5])),
        Arc::new(StringArray::from(vec![Some("s"); 5])),
        Arc::new(StringArray::from(vec![None::<&str>; 5])),
        Arc::new(UInt64Array::from(seqs.to_vec())),
        Arc::new(Int64Array::from(vec![7i64; 5])),
        Arc::new(Int64Array::from(vec![7i64; 5])),
        Arc::new(StringArray::from(names.to_vec())),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).expect("batch");
    let file = std::fs::File::create(&path).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");

    let (c, interner, stats) = scan(&[path.display().to_string()], &Selection::all());
    // r1 is not contiguous, so the file is sorted by run (first appearance) and seq.
    assert_eq!(stats.files_sorted_in_memory, 1);
    let got: Vec<(String, String)> = c
        .runs
        .iter()
        .map(|(r, rows)| {
            (
                r.run_id.clone(),
                rows.iter().map(|x| interner.name(x.2)).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("r1".to_string(), "abc".to_string()),
            ("r2".to_string(), "xy".to_string())
        ]
    );
    assert_eq!(
        (c.runs[0].0.source.as_str(), c.runs[0].0.mode.as_deref()),
        ("duckdb", None)
    );
}

/// A file holding several runs (`SyscallSink::next_run`, the importer's next layout): the first
/// pass finds them, a scan reads only the selected ones, and `seq` arrives as written, counted
/// when every run counts up by one and decoded otherwise.
#[test]
fn one_file_of_runs_reads_only_the_selected_runs() {
    use tracer_dataset::{RunInfo, SyscallRow, SyscallSink};

    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, runs: &[(&str, &str, &[u64])]| {
        let path = dir.path().join(name);
        let info = |id: &str, scenario: &str| RunInfo {
            run_id: id.into(),
            source: "test".into(),
            scenario: Some(scenario.into()),
            mode: None,
        };
        let mut sink = SyscallSink::create(&path, info(runs[0].0, runs[0].1), &[]).expect("create");
        for (i, (id, scenario, seqs)) in runs.iter().enumerate() {
            if i > 0 {
                sink.next_run(info(id, scenario)).expect("next run");
            }
            for (j, seq) in seqs.iter().enumerate() {
                sink.push(&SyscallRow {
                    seq: *seq,
                    pid: 1,
                    tid: 1,
                    syscall: ["a", "b", "c"][j % 3],
                    ..SyscallRow::default()
                })
                .expect("push");
            }
        }
        sink.close().expect("close");
        path.display().to_string()
    };
    let counted = write(
        "counted.parquet",
        &[
            ("r1", "x", &[0, 1, 2]),
            ("r2", "y", &[10, 11, 12, 13]),
            ("r3", "x", &[0, 1]),
        ],
    );
    let gaps = write(
        "gaps.parquet",
        &[
            ("r1", "x", &[0, 1, 2]),
            ("r2", "y", &[3, 7, 9]),
            ("r3", "x", &[5]),
        ],
    );
    for (file, r2_seq) in [(counted, vec![10, 11, 12, 13]), (gaps, vec![3, 7, 9])] {
        let ds = Dataset::open(std::slice::from_ref(&file)).expect("open");
        let ids: Vec<String> = ds
            .runs()
            .expect("runs")
            .into_iter()
            .map(|r| r.run_id)
            .collect();
        assert_eq!(ids, ["r1", "r2", "r3"]);
        let mut interner = Interner::new();
        let mut only_y = Collect::default();
        let stats = ds
            .scan(
                &Selection::parse("scenario=y").expect("parse"),
                &mut interner,
                &mut only_y,
            )
            .expect("scan");
        assert_eq!(only_y.runs.len(), 1, "{file}");
        let seqs: Vec<u64> = only_y.runs[0].1.iter().map(|r| r.0).collect();
        assert_eq!(seqs, r2_seq, "{file}");
        assert_eq!(
            (stats.rows_read, stats.rows_selected),
            (seqs.len() as u64, seqs.len() as u64)
        );
        let names: String = only_y.runs[0]
            .1
            .iter()
            .map(|r| interner.name(r.2))
            .collect();
        assert_eq!(&names[..3], "abc");
        // The first pass is kept: a second scan of the same dataset selects the others.
        let mut x = Collect::default();
        ds.scan(
            &Selection::parse("scenario=x").expect("parse"),
            &mut interner,
            &mut x,
        )
        .expect("scan");
        let got: Vec<(String, usize)> = x
            .runs
            .iter()
            .map(|(r, rows)| (r.run_id.clone(), rows.len()))
            .collect();
        let r3_rows = if r2_seq.len() == 4 { 2 } else { 1 };
        assert_eq!(got, [("r1".to_string(), 3), ("r3".to_string(), r3_rows)]);
    }
}
