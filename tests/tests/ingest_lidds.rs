//! LID-DS as distributed (`tests/data/lid-ds/2021`, `tests/data/lid-ds/2019`): a 2021 scenario of
//! zipped recordings with their `.json` labels, a 2019 scenario with its `runs.csv`, each as a
//! folder and as an archive; the labels checked against the calls before and after the exploit
//! started, and the README's DuckDB query. Every expected value is read off the fixtures by hand.

use std::path::{Path, PathBuf};

use tests::{
    copy_folder, metadata, python, read_processes, read_runs, read_syscalls, row_groups, workspace,
    zip_folder,
};
use tracer::ingest::Format;
use tracer_dataset::meta;

use crate::ingest_datasets::{classes, config, files, ingest, ingest_err, label, names, of};

/// The LID-DS 2021 fixture in its distributed layout under `dir`: each checked-in recording
/// folder `<name>/` zipped into `<name>.zip`. Returns the scenario folder.
pub(crate) fn lidds_2021(dir: &Path) -> PathBuf {
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
    assert_eq!(s.skipped.kinds(), [("json", 1), ("pcap", 4), ("res", 4)]);
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
fn lid_ds_2021_recordings_as_extracted_keep_their_labels() {
    // The scenario as a user who unzipped every recording has it: `<split>/<name>/<name>.sc`
    // with its `.json` beside it (the checked-in folder). The same runs, labels and rows as the
    // zipped scenario; only `origin` names other files.
    let dir = tempfile::tempdir().expect("tmp");
    let zipped = dir.path().join("zipped");
    ingest(&config(Format::LidDs, &lidds_2021(dir.path()), &zipped));
    let extracted = workspace().join("tests/data/lid-ds/2021/CVE-2017-7529");
    let out = dir.path().join("extracted");
    let s = ingest(&config(Format::LidDs, &extracted, &out));
    assert_eq!(
        s.skipped.kinds(),
        [("json", 1), ("pcap", 4), ("res", 4)],
        "the recordings' .json are read as labels; only the loader's leftover is skipped"
    );
    let (zsys, _, zruns) = files(&zipped, "CVE-2017-7529");
    let (esys, _, eruns) = files(&out, "CVE-2017-7529");
    let strip = |runs: Vec<tracer_dataset::RunLabels>| -> Vec<_> {
        runs.into_iter()
            .map(|r| tracer_dataset::RunLabels {
                origin: String::new(),
                ..r
            })
            .collect()
    };
    let (z, e) = (strip(read_runs(&zruns)), strip(read_runs(&eruns)));
    assert_eq!(e, z);
    assert_eq!(
        label(&e, ATTACK_2021).label.as_deref(),
        Some("attack"),
        "labelled from its .json"
    );
    assert_eq!(read_syscalls(&esys), read_syscalls(&zsys));
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
