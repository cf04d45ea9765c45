//! A corpus shaped like ADFA-LD (Creech and Hu, UNSW 2013) for the stide benchmark and tests,
//! generated here because the real one cannot be downloaded: thousands of short single-process
//! traces of i386 syscall numbers, with training, validation and attack splits.
//!
//! What it reproduces of the real corpus (5,951 traces, 2,747,550 calls, 175 distinct numbers,
//! 833 training / 4,372 validation / 746 attack traces in six families): the split sizes, trace
//! lengths (log-normal, median about 280 calls, mean about 460, a long tail to a few thousand),
//! a Zipf-like call frequency over about 175 numbers, and traces that repeat a program's loops
//! with small variations, so the training profile has tens of thousands of distinct windows at
//! k = 6 and most unknown windows of a normal trace are a substitution or two away from a known
//! one. Each trace comes from one of a set of "programs" (a vocabulary, a loader prologue and
//! weighted loops); attacks are program traces with family-specific payloads of rarer calls
//! spliced in, and some attack traces have none, so detection is good but not perfect.
//!
//! Written in the raw ADFA-LD layout (`Training_Data_Master/UTD-0001.txt`,
//! `Validation_Data_Master/UVD-0001.txt`,
//! `Attack_Data_Master/<Family>_<n>/UAD-<Family>-<n>-<k>.txt`, one line of space-separated
//! numbers per file) and as a dataset the way
//! `tracer ingest --format adfa-ld` imports it (one file per trace under `DIR/syscalls/`, run id =
//! path without `.txt`, scenario `training` / `validation` / `attack:<family>`, names from the
//! i386 table), or with every trace as one run of a single file.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
};

use tracer_dataset::{Arch, RunInfo, SyscallRow, SyscallSink, layout, meta};

use crate::{compare::SplitMix64, error::AnalysisError};

/// The source name the ADFA-LD importer writes.
pub const SOURCE: &str = "adfa-ld";

/// The i386 calls most frequent in traces of ordinary Linux programs, most frequent first; the
/// generator's alphabet starts with these and continues in table order.
const COMMON_I386: [i32; 64] = [
    3, 6, 5, 4, 192, 197, 195, 91, 45, 125, 240, 265, 168, 102, 142, 54, 221, 174, 175, 33, 243,
    122, 11, 258, 311, 191, 78, 13, 252, 120, 7, 114, 220, 183, 12, 85, 199, 201, 200, 202, 20, 64,
    37, 19, 140, 146, 145, 180, 63, 41, 42, 162, 10, 38, 39, 15, 60, 94, 213, 214, 1, 27, 196, 90,
];

/// One attack family: its folder name in `Attack_Data_Master` and its trace count.
#[derive(Clone, Debug)]
pub struct AttackFamily {
    /// Folder name without the instance number, e.g. `Hydra_FTP`.
    pub folder: String,
    /// Attack instances (folders `<folder>_1` ...).
    pub instances: usize,
    /// Traces over all instances.
    pub traces: usize,
}

/// Shape of a generated corpus.
#[derive(Clone, Debug)]
pub struct AdfaSpec {
    /// Training traces (normal).
    pub training: usize,
    /// Validation traces (normal).
    pub validation: usize,
    /// Attack families.
    pub families: Vec<AttackFamily>,
    /// Distinct syscall numbers drawn from.
    pub alphabet: usize,
    /// Programs the traces come from.
    pub programs: usize,
    /// Median calls per trace.
    pub median_calls: f64,
    /// Standard deviation of the log of the length.
    pub length_sigma: f64,
    /// Shortest trace.
    pub min_calls: usize,
    /// Longest trace.
    pub max_calls: usize,
    /// Seed.
    pub seed: u64,
}

impl AdfaSpec {
    /// The size of ADFA-LD: 833 training, 4,372 validation and 746 attack traces.
    pub fn adfa_ld() -> Self {
        let family = |folder: &str, traces| AttackFamily {
            folder: folder.into(),
            instances: 10,
            traces,
        };
        Self {
            training: 833,
            validation: 4372,
            families: vec![
                family("Adduser", 91),
                family("Hydra_FTP", 162),
                family("Hydra_SSH", 176),
                family("Java_Meterpreter", 124),
                family("Meterpreter", 75),
                family("Web_Shell", 118),
            ],
            alphabet: 175,
            programs: 140,
            median_calls: 290.0,
            length_sigma: 0.98,
            min_calls: 40,
            max_calls: 4500,
            seed: 2013,
        }
    }

    /// The same shape with `share` of the traces of every split (at least one each).
    pub fn scaled(mut self, share: f64) -> Self {
        let scale = |n: usize| ((n as f64 * share).round() as usize).max(1);
        self.training = scale(self.training);
        self.validation = scale(self.validation);
        for f in &mut self.families {
            f.traces = scale(f.traces);
            f.instances = f.instances.min(f.traces);
        }
        self
    }
}

/// One generated trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdfaTrace {
    /// Path below the corpus root without `.txt`: the run id the importer gives it.
    pub rel_path: String,
    /// `training`, `validation` or `attack:<family>`.
    pub scenario: String,
    /// i386 syscall numbers, in order.
    pub calls: Vec<i32>,
}

/// A generated corpus.
#[derive(Clone, Debug)]
pub struct AdfaCorpus {
    /// Training, then validation, then attack traces.
    pub traces: Vec<AdfaTrace>,
}

/// Counts of a corpus.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CorpusStats {
    /// Traces.
    pub traces: usize,
    /// Calls.
    pub calls: u64,
    /// Distinct syscall numbers.
    pub distinct_syscalls: usize,
    /// Training traces.
    pub training: usize,
    /// Validation traces.
    pub validation: usize,
    /// Attack traces.
    pub attack: usize,
    /// Longest trace.
    pub max_calls: usize,
}

/// Draws from a Zipf-like law over ranks 0..n: weight 1 / (rank + 1)^s.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|r| {
                total += 1.0 / ((r + 1) as f64).powf(s);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn draw(&self, rng: &mut SplitMix64) -> usize {
        let total = *self.cumulative.last().expect("at least one rank");
        let x = unit(rng) * total;
        self.cumulative
            .partition_point(|c| *c <= x)
            .min(self.cumulative.len() - 1)
    }
}

/// Uniform in [0, 1).
fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard normal (Box-Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u = unit(rng).max(1e-12);
    let v = unit(rng);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// Log-uniform in [lo, hi].
fn log_uniform(rng: &mut SplitMix64, lo: f64, hi: f64) -> f64 {
    (lo.ln() + unit(rng) * (hi.ln() - lo.ln())).exp()
}

/// The alphabet: `n` i386 numbers, the common ones first, then the table in number order.
fn alphabet(n: usize) -> Vec<i32> {
    let table = Arch::X86;
    let mut out: Vec<i32> = Vec::with_capacity(n);
    let rest = table.all().into_iter().map(|(nr, _)| nr);
    for nr in COMMON_I386.iter().copied().chain(rest) {
        if out.len() >= n {
            break;
        }
        if table.name_of(i64::from(nr)).is_some() && !out.contains(&nr) {
            out.push(nr);
        }
    }
    out
}

/// A program: a vocabulary (indices into the alphabet, most frequent first), a loader
/// prologue and weighted loops over the vocabulary.
struct Program {
    vocab: Vec<usize>,
    vocab_law: Zipf,
    prologue: Vec<usize>,
    loops: Vec<Vec<usize>>,
    loop_law: Zipf,
}

/// Indices into the alphabet of the loader's calls: execve brk access open fstat64 mmap2 close
/// open read fstat64 mmap2 mprotect mmap2 close set_thread_area mprotect munmap.
const LOADER: [usize; 17] = [22, 8, 19, 2, 5, 4, 1, 2, 0, 5, 4, 9, 4, 1, 20, 9, 7];
/// One more shared library: open read fstat64 mmap2 mmap2 mprotect mmap2 close.
const LIBRARY: [usize; 8] = [2, 0, 5, 4, 4, 9, 4, 1];

impl Program {
    fn new(rng: &mut SplitMix64, alphabet: usize, global: &Zipf) -> Self {
        let size = 18 + rng.below(40);
        let mut vocab: Vec<usize> = Vec::with_capacity(size);
        while vocab.len() < size.min(alphabet) {
            let id = global.draw(rng);
            if !vocab.contains(&id) {
                vocab.push(id);
            }
        }
        vocab.sort_unstable();
        let vocab_law = Zipf::new(vocab.len(), 1.1);
        let mut prologue = LOADER.to_vec();
        for _ in 0..1 + rng.below(6) {
            prologue.extend_from_slice(&LIBRARY);
        }
        prologue.retain(|id| *id < alphabet);
        let loops = (0..6 + rng.below(22))
            .map(|_| {
                let len = 2 + rng.below(4) + rng.below(4) * rng.below(6);
                (0..len).map(|_| vocab[vocab_law.draw(rng)]).collect()
            })
            .collect::<Vec<Vec<usize>>>();
        let loop_law = Zipf::new(loops.len(), 1.0);
        Self {
            vocab,
            vocab_law,
            prologue,
            loops,
            loop_law,
        }
    }

    /// A substitute call: mostly from the vocabulary, sometimes from the whole alphabet.
    fn variant(&self, rng: &mut SplitMix64, global: &Zipf) -> usize {
        if rng.below(4) == 0 {
            global.draw(rng)
        } else {
            self.vocab[self.vocab_law.draw(rng)]
        }
    }

    /// About `len` calls: prologue, loops repeated with substitutions at rate `noise`, exit.
    fn trace(&self, rng: &mut SplitMix64, global: &Zipf, len: usize, noise: f64) -> Vec<usize> {
        let mut out = self.prologue.clone();
        while out.len() + 1 < len {
            let body = &self.loops[self.loop_law.draw(rng)];
            let mut repeats = 1;
            while repeats < 12 && unit(rng) < 0.65 {
                repeats += 1;
            }
            for _ in 0..repeats {
                for &id in body {
                    if out.len() + 1 >= len {
                        break;
                    }
                    let x = unit(rng);
                    if x < noise {
                        out.push(self.variant(rng, global));
                    } else if x < noise * 1.3 {
                        // A skipped call.
                    } else {
                        out.push(id);
                    }
                }
            }
        }
        // exit_group
        out.push(28);
        out.truncate(len.max(1));
        out
    }
}

/// Family-specific payloads: short sequences rich in rarely used calls.
fn payloads(rng: &mut SplitMix64, alphabet: usize, global: &Zipf) -> Vec<Vec<usize>> {
    let rare_from = 40.min(alphabet - 1);
    (0..3)
        .map(|_| {
            let len = 6 + rng.below(20);
            (0..len)
                .map(|_| {
                    if rng.below(2) == 0 {
                        rare_from + rng.below(alphabet - rare_from)
                    } else {
                        global.draw(rng)
                    }
                })
                .collect()
        })
        .collect()
}

impl AdfaCorpus {
    /// Generates the corpus of `spec` (deterministic for a seed).
    pub fn generate(spec: &AdfaSpec) -> Self {
        let numbers = alphabet(spec.alphabet.max(LOADER.len() + 12));
        let n = numbers.len();
        let global = Zipf::new(n, 1.05);
        let mut rng = SplitMix64::new(spec.seed);
        let programs: Vec<Program> = (0..spec.programs.max(1))
            .map(|_| Program::new(&mut rng, n, &global))
            .collect();
        let program_law = Zipf::new(programs.len(), 0.9);
        let length = |rng: &mut SplitMix64| {
            let l = (spec.median_calls.ln() + spec.length_sigma * normal(rng)).exp();
            (l as usize).clamp(spec.min_calls, spec.max_calls)
        };
        let to_numbers =
            |ids: Vec<usize>| -> Vec<i32> { ids.iter().map(|i| numbers[*i]).collect() };
        let mut traces = Vec::new();
        for (split, folder, prefix, count) in [
            ("training", "Training_Data_Master", "UTD", spec.training),
            (
                "validation",
                "Validation_Data_Master",
                "UVD",
                spec.validation,
            ),
        ] {
            for i in 0..count {
                let p = &programs[program_law.draw(&mut rng)];
                let noise = log_uniform(&mut rng, 0.001, 0.05);
                let len = length(&mut rng);
                traces.push(AdfaTrace {
                    rel_path: format!("{folder}/{prefix}-{:04}", i + 1),
                    scenario: split.to_string(),
                    calls: to_numbers(p.trace(&mut rng, &global, len, noise)),
                });
            }
        }
        for family in &spec.families {
            let family_payloads = payloads(&mut rng, n, &global);
            let instances = family.instances.max(1);
            let dash = family.folder.replace('_', "-");
            for t in 0..family.traces {
                let instance = 1 + t * instances / family.traces.max(1);
                let p = &programs[program_law.draw(&mut rng)];
                let noise = log_uniform(&mut rng, 0.002, 0.06);
                let len = length(&mut rng);
                let mut calls = p.trace(&mut rng, &global, len, noise);
                // A sixth of the attack traces carry no payload (the victim's own behaviour).
                if rng.below(6) != 0 {
                    for _ in 0..1 + rng.below(3) {
                        let payload = &family_payloads[rng.below(family_payloads.len())];
                        let at = rng.below(calls.len().max(1));
                        let mut spliced = Vec::new();
                        for _ in 0..1 + rng.below(3) {
                            for &id in payload {
                                spliced.push(if unit(&mut rng) < 0.05 {
                                    p.variant(&mut rng, &global)
                                } else {
                                    id
                                });
                            }
                        }
                        calls.splice(at..at, spliced);
                    }
                }
                traces.push(AdfaTrace {
                    rel_path: format!(
                        "Attack_Data_Master/{}_{instance}/UAD-{dash}-{instance}-{}",
                        family.folder,
                        t + 1
                    ),
                    scenario: format!("attack:{}", family.folder.to_lowercase()),
                    calls: to_numbers(calls),
                });
            }
        }
        Self { traces }
    }

    /// Counts of the corpus.
    pub fn stats(&self) -> CorpusStats {
        let mut seen = std::collections::BTreeSet::new();
        let mut s = CorpusStats {
            traces: self.traces.len(),
            ..CorpusStats::default()
        };
        for t in &self.traces {
            s.calls += t.calls.len() as u64;
            s.max_calls = s.max_calls.max(t.calls.len());
            seen.extend(t.calls.iter().copied());
            match t.scenario.as_str() {
                "training" => s.training += 1,
                "validation" => s.validation += 1,
                _ => s.attack += 1,
            }
        }
        s.distinct_syscalls = seen.len();
        s
    }

    /// Writes the raw ADFA-LD layout under `root` (one `.txt` file per trace: the numbers on one
    /// line, each followed by a space, as in the distributed files). Returns the files written.
    pub fn write_text(&self, root: &Path) -> Result<usize, AnalysisError> {
        let mut line = String::new();
        for t in &self.traces {
            let path = root.join(format!("{}.txt", t.rel_path));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io("creating", dir, e))?;
            }
            line.clear();
            for nr in &t.calls {
                let _ = write!(line, "{nr} ");
            }
            line.push('\n');
            std::fs::write(&path, &line).map_err(|e| AnalysisError::io("writing", &path, e))?;
        }
        Ok(self.traces.len())
    }

    fn run_info(t: &AdfaTrace) -> RunInfo {
        RunInfo {
            run_id: t.rel_path.clone(),
            source: SOURCE.into(),
            scenario: Some(t.scenario.clone()),
            mode: None,
        }
    }

    fn push_calls(sink: &mut SyscallSink, t: &AdfaTrace) -> Result<(), AnalysisError> {
        let table = Arch::X86.table();
        for (seq, nr) in t.calls.iter().enumerate() {
            let name = table
                .by_nr(i64::from(*nr))
                .map(|i| i.name)
                .unwrap_or("<unknown>");
            sink.push(&SyscallRow {
                seq: seq as u64,
                syscall: name,
                nr: *nr,
                ..SyscallRow::default()
            })?;
        }
        Ok(())
    }

    fn file_metadata() -> Vec<(String, String)> {
        vec![(meta::ARCH.to_string(), Arch::X86.as_str().to_string())]
    }

    /// Writes the corpus as the ADFA-LD importer does: `dir/syscalls/<run>.parquet`, one file
    /// per trace. Returns the files.
    pub fn write_dataset(&self, dir: &Path) -> Result<Vec<PathBuf>, AnalysisError> {
        let sys_dir = dir.join(layout::SYSCALLS_DIR);
        std::fs::create_dir_all(&sys_dir)
            .map_err(|e| AnalysisError::io("creating", &sys_dir, e))?;
        let mut files = Vec::with_capacity(self.traces.len());
        for t in &self.traces {
            let path = sys_dir.join(layout::run_file_name(&t.rel_path));
            let mut sink = SyscallSink::create(&path, Self::run_info(t), &Self::file_metadata())?;
            Self::push_calls(&mut sink, t)?;
            sink.close()?;
            files.push(path);
        }
        Ok(files)
    }

    /// Writes every trace as one run of the single `syscalls` file `path`. Returns its rows.
    pub fn write_runs_file(&self, path: &Path) -> Result<u64, AnalysisError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| AnalysisError::io("creating", dir, e))?;
        }
        let Some(first) = self.traces.first() else {
            return Err(AnalysisError::Empty("an empty corpus".into()));
        };
        let mut sink = SyscallSink::create(path, Self::run_info(first), &Self::file_metadata())?;
        for (i, t) in self.traces.iter().enumerate() {
            if i > 0 {
                sink.next_run(Self::run_info(t))?;
            }
            Self::push_calls(&mut sink, t)?;
        }
        Ok(sink.close()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_of_the_full_corpus() {
        let c = AdfaCorpus::generate(&AdfaSpec::adfa_ld());
        let s = c.stats();
        assert_eq!((s.training, s.validation, s.attack), (833, 4372, 746));
        assert!(
            (2_300_000..3_300_000).contains(&s.calls),
            "about 2.7 M calls: {s:?}"
        );
        assert!((150..=175).contains(&s.distinct_syscalls), "{s:?}");
        assert!(s.max_calls > 3000, "a long tail: {s:?}");
        assert_eq!(c.traces[0].rel_path, "Training_Data_Master/UTD-0001");
        let last = c.traces.last().expect("traces");
        assert_eq!(last.scenario, "attack:web_shell");
        assert!(
            last.rel_path
                .starts_with("Attack_Data_Master/Web_Shell_10/UAD-Web-Shell-10-"),
            "{}",
            last.rel_path
        );
    }

    #[test]
    fn deterministic_and_scalable() {
        let spec = AdfaSpec::adfa_ld().scaled(0.02);
        let a = AdfaCorpus::generate(&spec);
        let b = AdfaCorpus::generate(&spec);
        assert_eq!(a.traces, b.traces);
        assert_eq!(a.stats().training, 17);
    }
}
