//! Public datasets as they are distributed (`tests/data/adfa-ld`, `tests/data/unm`,
//! `tests/data/lid-ds/{2021,2019}`), folders and archives: one dataset file per import, a run per
//! trace, row groups per split, the labels in the runs table, the files that are not traces
//! skipped and counted, and a malformed trace line still named by file and line. Every expected
//! value is read off the fixtures by hand.

use std::path::{Path, PathBuf};

use tests::{
    bin, copy_folder, metadata, python, read_processes, read_runs, read_syscalls, row_groups,
    workspace, zip_folder,
};
use tracer::ingest::{Format, IngestConfig, IngestSummary};
use tracer_dataset::{RunLabels, layout::dataset_paths, meta, rows::SyscallRecord};

fn config(format: Format, input: &Path, out: &Path) -> IngestConfig {
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

fn ingest(c: &IngestConfig) -> IngestSummary {
    tracer::ingest::run(c).unwrap_or_else(|e| panic!("ingest {}: {e:#?}", c.input.display()))
}

/// The error of an ingest that must fail, with its whole chain.
fn ingest_err(c: &IngestConfig) -> String {
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
fn files(out: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    dataset_paths(out, name)
}

/// Rows of run `id`, in order.
fn of<'a>(rows: &'a [SyscallRecord], id: &str) -> Vec<&'a SyscallRecord> {
    rows.iter().filter(|r| r.run_id == id).collect()
}

fn names(rows: &[&SyscallRecord]) -> Vec<String> {
    rows.iter().map(|r| r.syscall.clone()).collect()
}

/// The labels of run `id`.
fn label<'a>(runs: &'a [RunLabels], id: &str) -> &'a RunLabels {
    runs.iter()
        .find(|r| r.run_id == id)
        .unwrap_or_else(|| panic!("no labels of {id}"))
}

/// (run id, split, label, attack, scenario) of every run, in file order.
fn classes(runs: &[RunLabels]) -> Vec<[Option<&str>; 5]> {
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
    assert_eq!(
        s.skipped
            .by_kind
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect::<Vec<_>>(),
        [("(none)", 1), ("map", 1)]
    );
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

/// The LID-DS 2021 fixture in its distributed layout under `dir`: each checked-in recording
/// folder `<name>/` zipped into `<name>.zip`. Returns the scenario folder.
fn lidds_2021(dir: &Path) -> PathBuf {
    let src = workspace().join("tests/data/lid-ds/2021/CVE-2017-7529");
    let dst = dir.join("CVE-2017-7529");
    fn build(src: &Path, dst: &Path) {
        std::fs::create_dir_all(dst).expect("mkdir");
        for entry in std::fs::read_dir(src).expect("read_dir") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if !path.is_dir() {
                std::fs::copy(&path, dst.join(&name)).expect("copy");
            } else if path.join(format!("{name}.sc")).exists() {
                zip_folder(&path, &dst.join(format!("{name}.zip")), None);
            } else {
                build(&path, &dst.join(&name));
            }
        }
    }
    build(&src, &dst);
    dst
}

const ATTACK_2021: &str = "CVE-2017-7529/test/normal_and_attack/defeated_chandrasekhar_3584";

#[test]
fn lid_ds_2021_scenario_of_zipped_recordings() {
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = lidds_2021(dir.path());
    let out = dir.path().join("lid");
    let s = ingest(&config(Format::LidDs, &scenario, &out));
    // Each recording's pcap and resource statistics, and the loader's leftover json.
    assert_eq!(s.skipped.files, 9);
    assert_eq!(
        s.skipped
            .by_kind
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect::<Vec<_>>(),
        [("json", 1), ("pcap", 4), ("res", 4)]
    );
    let (sys, procs, runs_file) = files(&out, "CVE-2017-7529");
    let runs = read_runs(&runs_file);
    let normal = |id, split| [Some(id), Some(split), Some("normal"), None, Some(split)];
    assert_eq!(
        classes(&runs),
        vec![
            normal("CVE-2017-7529/training/aggressive_galois_5453", "training"),
            normal("CVE-2017-7529/validation/howling_mayer_9706", "validation"),
            normal("CVE-2017-7529/test/normal/spoiled_zhukovsky_3071", "test"),
            [
                Some(ATTACK_2021),
                Some("test"),
                Some("attack"),
                Some("cve-2017-7529"),
                Some("attack:cve-2017-7529")
            ],
        ]
    );
    assert!(
        runs.iter()
            .all(|r| r.subset.as_deref() == Some("CVE-2017-7529"))
    );
    let attack = label(&runs, ATTACK_2021);
    assert_eq!(
        (
            attack.exploit_start_ns,
            attack.warmup_end_ns,
            attack.container_ready_ns,
            attack.calls
        ),
        (
            Some(1_666_346_786_690_099_000),
            Some(1_666_346_773_224_091_300),
            Some(1_666_346_770_222_677_000),
            6
        )
    );
    assert_eq!(
        attack.origin,
        "CVE-2017-7529/test/normal_and_attack/defeated_chandrasekhar_3584.zip/defeated_chandrasekhar_3584.sc"
    );
    let train = label(&runs, "CVE-2017-7529/training/aggressive_galois_5453");
    assert_eq!(
        (train.exploit_start_ns, train.warmup_end_ns),
        (None, Some(1_666_345_247_583_469_400))
    );
    // Rows of the attack recording, and the calls before and after the exploit started.
    let rows = read_syscalls(&sys);
    let a = of(&rows, ATTACK_2021);
    assert_eq!(
        a.iter()
            .map(|r| (r.seq, r.tid, r.syscall.as_str(), r.ret))
            .collect::<Vec<_>>(),
        [
            (0, 3001, "epoll_wait", Some(1)),
            (1, 3001, "recvfrom", Some(180)),
            (2, 3001, "read", Some(4096)),
            (3, 3002, "openat", Some(9)),
            (4, 3001, "writev", Some(4276)),
            (5, 3001, "clone", Some(3101)),
        ]
    );
    assert!(
        a.iter()
            .all(|r| r.scenario.as_deref() == Some("attack:cve-2017-7529"))
    );
    let start = attack.exploit_start_ns.expect("exploit time");
    let (before, after): (Vec<_>, Vec<_>) =
        a.iter().partition(|r| r.ts_ns.expect("a time") < start);
    assert_eq!(
        (names(&before), names(&after)),
        (
            vec!["epoll_wait".to_string(), "recvfrom".into(), "read".into()],
            vec!["openat".to_string(), "writev".into(), "clone".into()]
        )
    );
    assert_eq!(a[3].path.as_deref(), Some("/var/cache/nginx/1/a3"));
    let p = read_processes(&procs);
    let child = p
        .iter()
        .find(|r| r.run_id == ATTACK_2021 && r.pid == 3101)
        .expect("the clone's child");
    assert_eq!(child.ppid, Some(3001));
    assert_eq!(
        row_groups(&sys)
            .iter()
            .map(|g| (g.0, g.1.as_deref().unwrap_or("")))
            .collect::<Vec<_>>(),
        [
            (5, "training"),
            (3, "validation"),
            (2, "test"),
            (6, "attack:cve-2017-7529")
        ]
    );
    let m = metadata(&sys);
    assert_eq!(
        (m[meta::TS_POINT].as_str(), m[meta::FILES_SKIPPED].as_str()),
        ("entry", "9")
    );

    // The scenario as one archive (recording zips inside a zip): the same dataset.
    let zip = dir.path().join("CVE-2017-7529.zip");
    zip_folder(&scenario, &zip, Some("CVE-2017-7529"));
    let zout = dir.path().join("lid-zip");
    let z = ingest(&config(Format::LidDs, &zip, &zout));
    assert_eq!(z.skipped, s.skipped);
    let (zsys, _, zruns) = files(&zout, "CVE-2017-7529");
    assert_eq!(read_syscalls(&zsys), rows);
    assert_eq!(read_runs(&zruns), runs);

    // One recording archive on its own: one run, labelled from its json.
    let one = scenario.join("test/normal_and_attack/defeated_chandrasekhar_3584.zip");
    let oout = dir.path().join("one.parquet");
    let o = ingest(&config(Format::LidDs, &one, &oout));
    assert_eq!((o.runs.len(), o.rows()), (1, 6));
    let (_, _, oruns) = files(&oout, "");
    let ol = &read_runs(&oruns)[0];
    assert_eq!(
        (
            ol.run_id.as_str(),
            ol.scenario.as_deref(),
            ol.exploit_start_ns
        ),
        (
            "defeated_chandrasekhar_3584",
            Some("attack:cve-2017-7529"),
            Some(start)
        )
    );

    // A malformed line inside a zipped recording names the archive, the member and the line.
    let bad = dir.path().join("bad/CVE-2017-7529/test/normal");
    std::fs::create_dir_all(&bad).expect("mkdir");
    let rec = dir.path().join("rec");
    copy_folder(
        &workspace()
            .join("tests/data/lid-ds/2021/CVE-2017-7529/test/normal/spoiled_zhukovsky_3071"),
        &rec,
    );
    std::fs::write(
        rec.join("spoiled_zhukovsky_3071.sc"),
        "1666346500300000000 101 3001 nginx 3001 epoll_wait > maxevents=512\n\
         1666346500300050000 101 3001 nginx 3001 epoll_wait ? res=1\n",
    )
    .expect("write");
    zip_folder(&rec, &bad.join("spoiled_zhukovsky_3071.zip"), None);
    let err = ingest_err(&config(
        Format::LidDs,
        &dir.path().join("bad/CVE-2017-7529"),
        &dir.path().join("bad-out"),
    ));
    assert!(
        err.contains("spoiled_zhukovsky_3071.zip/spoiled_zhukovsky_3071.sc:2: malformed line: expected a direction"),
        "{err}"
    );
}

#[test]
fn lid_ds_2019_scenario_with_runs_csv() {
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = workspace().join("tests/data/lid-ds/2019/Bruteforce_CWE-307");
    let out = dir.path().join("lid19");
    let s = ingest(&config(Format::LidDs, &scenario, &out));
    assert_eq!(s.skipped.files, 0, "runs.csv is read, not skipped");
    let (sys, _, runs_file) = files(&out, "Bruteforce_CWE-307");
    let runs = read_runs(&runs_file);
    // The first 200 normal recordings are training data (LID-DS's 2019 loader): both here.
    assert_eq!(
        classes(&runs),
        vec![
            [
                Some("Bruteforce_CWE-307/slimy_bhabha_8709"),
                Some("training"),
                Some("normal"),
                None,
                Some("training")
            ],
            [
                Some("Bruteforce_CWE-307/sweet_greider_4408"),
                Some("training"),
                Some("normal"),
                None,
                Some("training")
            ],
            [
                Some("Bruteforce_CWE-307/ripe_faraday_5596"),
                Some("test"),
                Some("attack"),
                Some("bruteforce_cwe-307"),
                Some("attack:bruteforce_cwe-307")
            ],
        ]
    );
    // 01:47:07 is the first event; the exploit starts 24 s later, the warm-up ends after 10.
    let first = (3600 + 47 * 60 + 7) * 1_000_000_000i64;
    let attack = label(&runs, "Bruteforce_CWE-307/ripe_faraday_5596");
    assert_eq!(
        (attack.exploit_start_ns, attack.warmup_end_ns),
        (Some(first + 24_000_000_000), Some(first + 10_000_000_000))
    );
    assert_eq!(
        label(&runs, "Bruteforce_CWE-307/sweet_greider_4408").exploit_start_ns,
        None
    );
    let rows = read_syscalls(&sys);
    let a = of(&rows, "Bruteforce_CWE-307/ripe_faraday_5596");
    assert_eq!(
        a.iter()
            .map(|r| (r.syscall.as_str(), r.pid, r.tid, r.ret))
            .collect::<Vec<_>>(),
        [
            ("read", 29915, 29915, Some(31)),
            ("writev", 29915, 29915, Some(31)),
            ("shutdown", 29915, 29915, Some(-107)),
            ("close", 29916, 29916, Some(0)),
        ],
        "2019 recordings have no pid: the thread's id stands for it"
    );
    let start = attack.exploit_start_ns.expect("exploit");
    let after = a.iter().filter(|r| r.ts_ns.expect("time") >= start).count();
    assert_eq!((a.len() - after, after), (2, 2));
    assert_eq!(a[0].ts_ns, Some(first));
    // A recording that passes midnight goes on into the next day.
    let night = of(&rows, "Bruteforce_CWE-307/slimy_bhabha_8709");
    assert_eq!(
        (night[0].ts_ns, night[0].duration_ns),
        (Some(86_399_900_000_000), Some(200_000_000))
    );
    assert_eq!(
        row_groups(&sys).iter().map(|g| g.0).collect::<Vec<_>>(),
        [3, 4]
    );

    // The scenario archive: the same dataset.
    let zip = dir.path().join("Bruteforce_CWE-307.zip");
    zip_folder(&scenario, &zip, Some("Bruteforce_CWE-307"));
    let zout = dir.path().join("lid19-zip");
    ingest(&config(Format::LidDs, &zip, &zout));
    let (zsys, _, zruns) = files(&zout, "Bruteforce_CWE-307");
    assert_eq!(read_syscalls(&zsys), rows);
    let mut zl = read_runs(&zruns);
    for (z, f) in zl.iter_mut().zip(&runs) {
        assert!(z.origin.starts_with("Bruteforce_CWE-307/"), "{}", z.origin);
        z.origin = f.origin.clone();
    }
    assert_eq!(zl, runs);

    // A runs.csv row whose recording is not there: an error naming it, skipped with --lenient.
    let gone = dir.path().join("Bruteforce_CWE-307");
    copy_folder(&scenario, &gone);
    let mut csv = std::fs::read_to_string(gone.join("runs.csv")).expect("csv");
    csv.push_str("victim_bruteforce:latest, gone_1234, False, 10, 50, -1\n");
    std::fs::write(gone.join("runs.csv"), csv).expect("write");
    let mut c = config(Format::LidDs, &gone, &dir.path().join("gone"));
    let err = ingest_err(&c);
    assert!(
        err.contains("runs.csv: line 5: recording \"gone_1234\""),
        "{err}"
    );
    c.lenient = true;
    assert_eq!(ingest(&c).runs.len(), 3);
}

#[test]
fn duckdb_finds_the_calls_after_the_exploit_started() {
    let dir = tempfile::tempdir().expect("tmp");
    let scenario = lidds_2021(dir.path());
    let out = dir.path().join("lid");
    ingest(&config(Format::LidDs, &scenario, &out));
    // The query of the README.
    let got = python(
        r#"
import sys, duckdb
out = sys.argv[1]
print(duckdb.sql(f"""
SELECT s.run_id, count(*) AS calls_after_exploit
FROM read_parquet('{out}/syscalls/*.parquet') s
JOIN read_parquet('{out}/runs/*.parquet') r USING (run_id)
WHERE s.ts_ns >= r.exploit_start_ns
GROUP BY s.run_id
""").fetchall())
print(duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/syscalls/*.parquet') WHERE scenario = 'training'").fetchall())
"#,
        &[&out.to_string_lossy()],
    );
    assert_eq!(got, format!("[('{ATTACK_2021}', 3)]\n[(5,)]\n"),);
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
