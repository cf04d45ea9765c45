//! Benchmark of `tracer ingest` on strace logs (target: >= 1.5 million lines/s on one core).
//!
//! Generates a realistic `strace -f -tt -T -o` log (several processes and threads; file opens
//! with paths, failed calls, reads with escaped strings, mmaps, `<unfinished ...>` pairs, clone,
//! signals, exits), ingests it to Parquet through `tracer::ingest::run` on one thread, and prints
//! lines/s and the ratio to the target.
//!
//! `cargo run --release -p tracer --example bench_ingest -- [--lines N] [--keep DIR]`

use std::{fmt::Write as _, io::Write as _, path::PathBuf, time::Instant};

use tracer::ingest::{Format, IngestConfig};

/// The target, lines per second on one core.
const TARGET_LINES_PER_S: f64 = 1_500_000.0;

/// Appends about `lines` lines of strace output to `out`.
fn generate(lines: usize, out: &mut String) {
    // A small deterministic generator (xorshift) so every run ingests the same log.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pids = [4100, 4101, 4102, 4103];
    let mut t_us: u64 = 13 * 3600 * 1_000_000;
    let mut n = 0;
    let stamp = |t: u64| {
        let s = t / 1_000_000;
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            s / 3600,
            s / 60 % 60,
            s % 60,
            t % 1_000_000
        )
    };
    let _ = writeln!(
        out,
        "4100  {} execve(\"/usr/bin/make\", [\"make\", \"-j4\"], 0x7ffd3c1e7a28 /* 31 vars */) = 0 <0.000412>",
        stamp(t_us)
    );
    n += 1;
    while n < lines {
        t_us += 1 + rnd() % 40;
        let pid = pids[(rnd() % 4) as usize];
        let ts = stamp(t_us);
        let fd = 3 + rnd() % 20;
        let line = match rnd() % 16 {
            0 | 1 => format!(
                "{pid}  {ts} openat(AT_FDCWD, \"/usr/include/x86_64-linux-gnu/bits/types/struct_{}.h\", O_RDONLY|O_CLOEXEC) = {fd} <0.000011>",
                rnd() % 500
            ),
            2 => format!(
                "{pid}  {ts} openat(AT_FDCWD, \"/usr/local/include/missing_{}.h\", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000007>",
                rnd() % 100
            ),
            3 | 4 => format!(
                "{pid}  {ts} read({fd}, \"#include <stdio.h>\\n/* (c) \\\"x\\\" = 1 */\\n\\t\\0\"..., 4096) = 4096 <0.000006>"
            ),
            5 => format!(
                "{pid}  {ts} newfstatat({fd}, \"\", {{st_mode=S_IFREG|0644, st_size={}, ...}}, AT_EMPTY_PATH) = 0 <0.000004>",
                rnd() % 100_000
            ),
            6 => format!("{pid}  {ts} close({fd})                = 0 <0.000003>"),
            7 => format!(
                "{pid}  {ts} mmap(NULL, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f{:010x} <0.000009>",
                rnd() % 0xff_ffff_ffff
            ),
            8 => format!(
                "{pid}  {ts} write(1, \"gcc -c -o obj/{}.o src/x.c\\n\", 28) = 28 <0.000012>",
                rnd() % 999
            ),
            9 => format!("{pid}  {ts} lseek({fd}, 0, SEEK_CUR)   = 0 <0.000002>"),
            10 => format!(
                "{pid}  {ts} rt_sigaction(SIGCHLD, {{sa_handler=0x55d0c1a2b3c0, sa_mask=[], sa_flags=SA_RESTORER, sa_restorer=0x7f2f0ae3e050}}, NULL, 8) = 0 <0.000003>"
            ),
            11 => {
                // An unfinished/resumed pair with another process's call in between.
                let other = pids[((pid as usize) + 1) % 4];
                t_us += 3;
                let ts2 = stamp(t_us);
                n += 2;
                format!(
                    "{pid}  {ts} wait4(-1,  <unfinished ...>\n{other}  {ts2} getpid()     = {other} <0.000002>\n{pid}  {ts2} <... wait4 resumed>[{{WIFEXITED(s) && WEXITSTATUS(s) == 0}}], 0, NULL) = {} <0.000750>",
                    5000 + rnd() % 1000
                )
            }
            12 => format!(
                "{pid}  {ts} brk(NULL)                    = 0x55d0c2{:06x} <0.000003>",
                rnd() % 0xffffff
            ),
            13 => format!(
                "{pid}  {ts} access(\"/etc/ld.so.preload\", R_OK) = -1 ENOENT (No such file or directory) <0.000005>"
            ),
            14 => format!(
                "{pid}  {ts} pread64({fd}, \"\\177ELF\\2\\1\\1\\3\\0\\0\\0\\0\\0\\0\\0\\0\\3\\0>\\0\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\"..., 832, 64) = 832 <0.000005>"
            ),
            _ => format!(
                "{pid}  {ts} --- SIGCHLD {{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid={}, si_uid=0, si_status=0}} ---",
                5000 + rnd() % 1000
            ),
        };
        out.push_str(&line);
        out.push('\n');
        n += 1;
    }
    for pid in pids {
        let _ = writeln!(out, "{pid}  {} exit_group(0)             = ?", stamp(t_us));
        let _ = writeln!(out, "{pid}  {} +++ exited with 0 +++", stamp(t_us));
    }
}

fn main() {
    let mut lines = 3_000_000usize;
    let mut keep: Option<PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--lines" => {
                lines = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--lines takes a number")
            }
            "--keep" => keep = Some(PathBuf::from(it.next().expect("--keep takes a folder"))),
            "-h" | "--help" => {
                println!("bench_ingest [--lines N] [--keep DIR]");
                return;
            }
            other => panic!("unknown argument {other:?} (try --help)"),
        }
    }
    let tmp = tempfile::tempdir().expect("create a temporary folder");
    let dir = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("create the output folder");
    let log = dir.join("bench.strace");
    let mut text = String::with_capacity(lines * 110);
    generate(lines, &mut text);
    std::fs::File::create(&log)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write the generated log");
    let bytes = text.len();
    drop(text);
    let args = IngestConfig {
        input: log.clone(),
        output: dir.join("bench.parquet"),
        format: Format::Strace,
        arch: Some(tracer::ingest::Arch::X86_64),
        date: Some("2026-01-01".parse().expect("a valid date")),
        lenient: false,
        run_id: None,
        scenario: None,
        pid: None,
    };
    let started = Instant::now();
    let summary = tracer::ingest::run(&args).expect("ingest the generated log");
    let secs = started.elapsed().as_secs_f64();
    let rate = summary.lines() as f64 / secs;
    println!(
        "ingest: {} lines ({:.1} MB) -> {} rows in {:.3} s: {:.0} lines/s, {:.1} MB/s",
        summary.lines(),
        bytes as f64 / 1e6,
        summary.rows(),
        secs,
        rate,
        bytes as f64 / 1e6 / secs
    );
    println!(
        "target >= {:.0} lines/s on one core: ratio {:.2} ({})",
        TARGET_LINES_PER_S,
        rate / TARGET_LINES_PER_S,
        if rate >= TARGET_LINES_PER_S {
            "met"
        } else {
            "NOT met"
        }
    );
}
