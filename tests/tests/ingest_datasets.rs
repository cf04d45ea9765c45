//! Public datasets as they are distributed (`tests/data/adfa-ld`, `tests/data/unm`; LID-DS in
//! `ingest_lidds`), folders and archives: one dataset file per import, a run per trace, row
//! groups per split, the labels in the runs table, the files that are not traces skipped and
//! counted, and a malformed trace line still named by file and line. Every expected value is
//! read off the fixtures by hand. The helpers here serve `ingest_lidds` too.

use std::path::{Path, PathBuf};

use tests::{
    bin, copy_folder, metadata, read_processes, read_runs, read_syscalls, row_groups, workspace,
    zip_folder,
};
use tracer::ingest::{Format, IngestConfig, IngestSummary};
use tracer_dataset::{RunLabels, layout::dataset_paths, meta, rows::SyscallRecord};

pub(crate) fn config(format: Format, input: &Path, out: &Path) -> IngestConfig {
    IngestConfig {
        input: input.to_path_buf(),
        output: out.to_path_buf(),
        format,
        arch: Some(match format {
            Format::LidDs => tracer::ingest::Arch::X86_64,
            _ => tracer::ingest::Arch::X86,
        }),
        date: None,
        lenient: false,
        run_id: None,
        scenario: None,
        pid: None,
    }
}

pub(crate) fn ingest(c: &IngestConfig) -> IngestSummary {
    tracer::ingest::run(c).unwrap_or_else(|e| panic!("ingest {}: {e:#?}", c.input.display()))
}

/// The error of an ingest that must fail, with its whole chain.
pub(crate) fn ingest_err(c: &IngestConfig) -> String {
    let e = tracer::ingest::run(c).expect_err("the ingest fails");
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// The syscalls, processes and runs files of dataset `name` imported into folder `out`.
pub(crate) fn files(out: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    dataset_paths(out, name)
}

/// Rows of run `id`, in order.
pub(crate) fn of<'a>(rows: &'a [SyscallRecord], id: &str) -> Vec<&'a SyscallRecord> {
    rows.iter().filter(|r| r.run_id == id).collect()
}

pub(crate) fn names(rows: &[&SyscallRecord]) -> Vec<String> {
    rows.iter().map(|r| r.syscall.clone()).collect()
}

/// The labels of run `id`.
pub(crate) fn label<'a>(runs: &'a [RunLabels], id: &str) -> &'a RunLabels {
    runs.iter()
        .find(|r| r.run_id == id)
        .unwrap_or_else(|| panic!("no labels of {id}"))
}

/// (run id, split, label, attack, scenario) of every run, in file order.
pub(crate) fn classes(runs: &[RunLabels]) -> Vec<[Option<&str>; 5]> {
    runs.iter()
        .map(|r| {
            [
                Some(r.run_id.as_str()),
                r.split.as_deref(),
                r.label.as_deref(),
                r.attack.as_deref(),
                r.scenario.as_deref(),
            ]
        })
        .collect()
}

#[test]
fn adfa_ld_as_distributed_folder_and_zip() {
    let dir = tempfile::tempdir().expect("tmp");
    let fixture = workspace().join("tests/data/adfa-ld");
    let out = dir.path().join("adfa");
    let s = ingest(&config(Format::AdfaLd, &fixture, &out));
    // The syscall list at the root is not a trace: skipped and counted.
    assert_eq!(
        (s.skipped.files, s.skipped.by_kind.get("txt")),
        (1, Some(&1))
    );
    let (sys, procs, runs_file) = files(&out, "adfa-ld");
    assert_eq!(s.paths.syscalls, sys);
    assert!(!procs.exists(), "ADFA-LD knows no processes");
    let m = metadata(&sys);
    assert_eq!(
        (
            m[meta::FILES_SKIPPED].as_str(),
            m[meta::FILES_SKIPPED_DETAIL].as_str(),
            m[meta::RUNS].as_str()
        ),
        ("1", r#"{"txt":1}"#, "8")
    );
    assert!(
        !m.contains_key(meta::RUN_ID),
        "a dataset file names no single run"
    );
    let runs = read_runs(&runs_file);
    // Sorted by split, then run.
    let attack = |id, family, scenario| {
        [
            Some(id),
            Some("test"),
            Some("attack"),
            Some(family),
            Some(scenario),
        ]
    };
    assert_eq!(
        classes(&runs),
        vec![
            [
                Some("Training_Data_Master/UTD-0001"),
                Some("training"),
                Some("normal"),
                None,
                Some("training")
            ],
            [
                Some("Training_Data_Master/UTD-0002"),
                Some("training"),
                Some("normal"),
                None,
                Some("training")
            ],
            [
                Some("Validation_Data_Master/UVD-0001"),
                Some("validation"),
                Some("normal"),
                None,
                Some("validation")
            ],
            attack(
                "Attack_Data_Master/Adduser_1/UAD-Adduser-1-1234",
                "adduser",
                "attack:adduser"
            ),
            attack(
                "Attack_Data_Master/Hydra_FTP_1/UAD-Hydra-FTP-1-2",
                "hydra_ftp",
                "attack:hydra_ftp"
            ),
            attack(
                "Attack_Data_Master/Java_Meterpreter_2/UAD-Java-Meterpreter-2-77",
                "java_meterpreter",
                "attack:java_meterpreter"
            ),
            attack(
                "Attack_Data_Master/Meterpreter_1/UAD-Meterpreter-1-5",
                "meterpreter",
                "attack:meterpreter"
            ),
            attack(
                "Attack_Data_Master/Web_Shell_4/UAD-WS-4-310",
                "web_shell",
                "attack:web_shell"
            ),
        ]
    );
    assert_eq!(
        runs.iter().map(|r| r.calls).collect::<Vec<_>>(),
        [10, 7, 3, 6, 5, 3, 4, 3]
    );
    assert_eq!(
        label(&runs, "Training_Data_Master/UTD-0002").origin,
        "adfa-ld/Training_Data_Master/UTD-0002.txt"
    );
    // Rows: in the runs' order, each run's rows in seq order, the scenario on every row.
    let rows = read_syscalls(&sys);
    let order: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    let mut grouped = order.clone();
    grouped.dedup();
    assert_eq!(
        grouped,
        runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>()
    );
    let t2 = of(&rows, "Training_Data_Master/UTD-0002");
    assert_eq!(
        names(&t2),
        ["open", "read", "read", "close", "brk", "brk", "munmap"]
    );
    assert_eq!(
        t2.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (0..7).collect::<Vec<u64>>()
    );
    let ws = of(&rows, "Attack_Data_Master/Web_Shell_4/UAD-WS-4-310");
    assert_eq!(names(&ws), ["execve", "execve", "stat64"]);
    assert!(
        ws.iter()
            .all(|r| r.scenario.as_deref() == Some("attack:web_shell"))
    );
    let met = of(
        &rows,
        "Attack_Data_Master/Meterpreter_1/UAD-Meterpreter-1-5",
    );
    assert_eq!(
        names(&met),
        ["socketcall", "read", "write", "close"],
        "a trace of two lines"
    );
    // One row group per split: a reader skips training when it asks for validation.
    assert_eq!(
        row_groups(&sys),
        vec![
            (17, Some("training".into()), Some("training".into())),
            (3, Some("validation".into()), Some("validation".into())),
            (
                21,
                Some("attack:adduser".into()),
                Some("attack:web_shell".into())
            ),
        ]
    );

    // The same distribution as a zip holding the `ADFA-LD/` folder: the same dataset.
    let zip = dir.path().join("ADFA-LD.zip");
    zip_folder(&fixture, &zip, Some("ADFA-LD"));
    let zout = dir.path().join("adfa-zip");
    let z = ingest(&config(Format::AdfaLd, &zip, &zout));
    assert_eq!(z.skipped, s.skipped);
    let (zsys, _, zruns) = files(&zout, "ADFA-LD");
    assert_eq!(read_syscalls(&zsys), rows);
    let mut zlabels = read_runs(&zruns);
    assert_eq!(
        label(&zlabels, "Training_Data_Master/UTD-0002").origin,
        "ADFA-LD/Training_Data_Master/UTD-0002.txt"
    );
    for (z, f) in zlabels.iter_mut().zip(&runs) {
        z.origin = f.origin.clone();
    }
    assert_eq!(zlabels, runs);

    // A malformed line of a real trace still names file and line, in the folder and the zip.
    let bad = dir.path().join("ADFA-LD");
    copy_folder(&fixture, &bad);
    std::fs::write(
        bad.join("Training_Data_Master/UTD-0002.txt"),
        "5 3\n3 x 6\n",
    )
    .expect("write");
    let err = ingest_err(&config(Format::AdfaLd, &bad, &dir.path().join("bad")));
    assert!(
        err.contains(
            "Training_Data_Master/UTD-0002.txt:2: malformed line: expected a syscall number: \"x\""
        ),
        "{err}"
    );
    assert!(
        !dir.path().join("bad/syscalls/ADFA-LD.parquet").exists(),
        "nothing half-written"
    );
    let badzip = dir.path().join("bad.zip");
    zip_folder(&bad, &badzip, Some("ADFA-LD"));
    let err = ingest_err(&config(Format::AdfaLd, &badzip, &dir.path().join("badz")));
    assert!(
        err.contains("bad.zip/ADFA-LD/Training_Data_Master/UTD-0002.txt:2: malformed line"),
        "{err}"
    );
}

#[test]
fn adfa_ld_import_feeds_the_evaluation() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("adfa");
    ingest(&config(
        Format::AdfaLd,
        &workspace().join("tests/data/adfa-ld"),
        &out,
    ));
    let out = out.to_string_lossy().into_owned();
    let run = std::process::Command::new(bin("tracer-analyze"))
        .args(["eval", "--json", "-k", "2", "--train", &out])
        .args(["--train-where", "scenario=training", "--normal", &out])
        .args(["--normal-where", "scenario=validation", "--anomalous", &out])
        .args(["--anomalous-where", "scenario=attack:*"])
        .output()
        .expect("tracer-analyze");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(v["profile_runs"], 2, "{v}");
    assert_eq!(
        (
            &v["auc"][0]["normal_traces"],
            &v["auc"][0]["anomalous_traces"]
        ),
        (&serde_json::json!(1), &serde_json::json!(5)),
        "{v}"
    );
}

#[test]
fn unm_sets_grouped_by_their_folders() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("unm.parquet");
    let s = ingest(&config(
        Format::Unm,
        &workspace().join("tests/data/unm"),
        &out,
    ));
    // The set's notes and its mapping file (a list of names) are not traces.
    assert_eq!(s.skipped.files, 2);
    assert_eq!(s.skipped.kinds(), [("(none)", 1), ("map", 1)]);
    let (sys, procs, runs_file) = files(&out, "unm");
    assert_eq!(
        (sys.as_path(), procs.file_name(), runs_file.file_name()),
        (
            out.as_path(),
            Some("unm.processes.parquet".as_ref()),
            Some("unm.runs.parquet".as_ref())
        )
    );
    let runs = read_runs(&runs_file);
    let normal = |id| [Some(id), None, Some("normal"), None, Some("normal")];
    assert_eq!(
        classes(&runs),
        vec![
            normal("lpr-mit/normal/host1-0218"),
            normal("lpr-mit/normal/host2-0219"),
            normal("lpr-mit/normal/host3-0220"),
            normal("sendmail/normal/sm-1"),
            [
                Some("lpr-mit/intrusions/lprcp/lprcp-1"),
                None,
                Some("attack"),
                Some("lprcp"),
                Some("attack:lprcp")
            ],
            [
                Some("sendmail/intrusions/sunsendmailcp-1"),
                None,
                Some("attack"),
                Some("sendmail"),
                Some("attack:sendmail")
            ],
            [Some("lpr"), None, None, None, None],
        ]
    );
    assert_eq!(
        runs.iter()
            .map(|r| (r.subset.as_deref(), r.calls))
            .collect::<Vec<_>>(),
        [
            (Some("lpr-mit"), 5),
            (Some("lpr-mit"), 2),
            (Some("lpr-mit"), 0),
            (Some("sendmail"), 5),
            (Some("lpr-mit"), 3),
            (Some("sendmail"), 3),
            (None, 5)
        ],
        "an empty trace is a run of no calls"
    );
    let rows = read_syscalls(&sys);
    let host1 = of(&rows, "lpr-mit/normal/host1-0218");
    assert_eq!(
        host1
            .iter()
            .map(|r| (r.seq, r.pid, r.tid, r.syscall.as_str()))
            .collect::<Vec<_>>(),
        [
            (0, 120, 120, "open"),
            (1, 120, 120, "read"),
            (2, 121, 121, "fork"),
            (3, 120, 120, "close"),
            (4, 121, 121, "exit")
        ]
    );
    assert!(
        host1
            .iter()
            .all(|r| r.scenario.as_deref() == Some("normal"))
    );
    let lprcp = of(&rows, "lpr-mit/intrusions/lprcp/lprcp-1");
    assert_eq!(names(&lprcp), ["open", "link", "exit"]);
    assert!(
        lprcp
            .iter()
            .all(|r| r.scenario.as_deref() == Some("attack:lprcp"))
    );
    let p = read_processes(&procs);
    let pids = |id: &str| {
        p.iter()
            .filter(|r| r.run_id == id)
            .map(|r| r.pid)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (
            pids("lpr-mit/normal/host1-0218"),
            pids("lpr-mit/intrusions/lprcp/lprcp-1")
        ),
        (vec![120, 121], vec![140])
    );
    assert_eq!(
        row_groups(&sys).iter().map(|g| g.0).collect::<Vec<_>>(),
        [12, 6, 5],
        "normal, intrusion, ungrouped"
    );

    // A malformed line of a trace names file and line.
    let bad = dir.path().join("unm");
    copy_folder(&workspace().join("tests/data/unm"), &bad);
    std::fs::write(bad.join("sendmail/normal/sm-1.int"), "200 5\n200 3\n200\n").expect("write");
    let err = ingest_err(&config(Format::Unm, &bad, &dir.path().join("bad.parquet")));
    assert!(
        err.contains("sendmail/normal/sm-1.int:3: malformed line"),
        "{err}"
    );
}

#[test]
fn the_command_prints_one_summary_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("adfa");
    let fixture = workspace().join("tests/data/adfa-ld");
    let run = tests::tracer(&[
        "ingest",
        "--format",
        "adfa-ld",
        &fixture.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    // stderr is not a terminal here: no progress, one line.
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tracer: 8 traces, 41 calls from 10 lines, 1 file skipped (1 .txt), in "),
        "{err}"
    );
    assert!(err.contains(" calls/s) -> "), "{err}");
    assert!(err.trim_end().ends_with("runs/adfa-ld.parquet"), "{err}");
}
