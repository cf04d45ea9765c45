//! The comparison of two captures of the same workload.
//!
//! 1. Known differences between the captures are removed first (see `KNOWN_DIFFERENCES`),
//!    each counted per side in the report.
//! 2. Processes are paired by what they executed and in which order: a process's key is the chain
//!    of files it executed successfully (`/bin/sh -> /bin/ls`), or `fork of <parent's key>` when
//!    it executed nothing; the n-th process with a key in A is paired with the n-th with that key
//!    in B, in order of creation (the parent's fork/clone return; a root's first call), which
//!    the workload fixes, unlike the order of first calls, which the scheduler decides. Pids
//!    never need to agree. The tree agrees for a pair when
//!    their parents are paired too (or both are roots).
//! 3. Threads of paired processes are paired in order of creation (the main thread first).
//! 4. For each pair of threads, the syscall-name sequences are aligned (longest common
//!    subsequence): edit-distance ratio = 2·matches / (len A + len B); identical-window share =
//!    shared k-windows (multiset) / the larger window count. Over the whole capture both sum over
//!    all threads, unpaired ones counting as entirely different.
//! 5. On the aligned calls, return values and paths are compared (see `RUN_VARIANT_RETURNS`).

use std::collections::{HashMap, HashSet};

use tracer_dataset::intern::SyscallId;

use super::{
    align::align,
    load::{Call, Capture, Names},
};

/// Calls whose successful return value differs from run to run by nature (addresses under ASLR,
/// pids, times): only success vs failure, and the errno, are compared for them.
pub const RUN_VARIANT_RETURNS: &[&str] = &[
    "mmap",
    "mmap2",
    "mremap",
    "brk",
    "shmat",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "getpid",
    "getppid",
    "gettid",
    "set_tid_address",
    "wait4",
    "waitid",
    "time",
    "times",
    "gettimeofday",
    "clock_gettime",
    "getrandom",
    "rseq",
    "poll",
    "ppoll",
    "epoll_wait",
    "epoll_pwait",
    "select",
    "pselect6",
    "futex",
];

/// The strace-vs-eBPF differences parity removes before comparing, as (id, description).
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "pre-exec",
        "calls of a root process before its first successful execve: strace shows the traced \
         command from its execve on, while a launcher that forks and then execs (tracer record) \
         makes setup calls in the child first (and a PATH search may try failing execve first)",
    ),
    (
        "never-returned",
        "calls without a return value other than exit/exit_group: threads killed inside a call by \
         another thread's exit_group show as <unfinished ...> in strace, and the eBPF side sees \
         no sys_exit for them",
    ),
    (
        "killed-in-call",
        "the last call of a thread killed by a signal: strace prints `= ?`, while sys_exit still \
         fires with the kernel's -ERESTART* value (-512..-516) before the signal is delivered",
    ),
    ("ignored", "calls named with --ignore"),
];

/// Returns of calls cut by a signal: ERESTARTSYS (512) to ERESTART_RESTARTBLOCK (516).
const RESTART_RETURNS: std::ops::RangeInclusive<i64> = -516..=-512;

/// Report knobs.
#[derive(Clone, Debug)]
pub struct Options {
    /// Window length k for the identical-window share.
    pub window: usize,
    /// Syscall names left out of the comparison.
    pub ignore: Vec<String>,
}

/// One side's totals.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Side {
    /// What was named.
    pub input: String,
    /// Run id.
    pub run_id: String,
    /// `source` column.
    pub source: String,
    /// Calls in the capture.
    pub calls: usize,
    /// Calls left after removing the known differences.
    pub calls_compared: usize,
    /// Processes.
    pub processes: usize,
    /// Threads.
    pub threads: usize,
}

/// A known difference and how many calls it removed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Adjustment {
    /// Id from `KNOWN_DIFFERENCES`.
    pub id: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Calls removed from A.
    pub removed_a: usize,
    /// Calls removed from B.
    pub removed_b: usize,
}

/// Agreement counts.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Agreement {
    /// Pairs compared.
    pub compared: usize,
    /// Pairs that agree.
    pub agreed: usize,
}

impl Agreement {
    /// Share that agrees (1 when nothing was compared).
    pub fn ratio(&self) -> f64 {
        if self.compared == 0 {
            1.0
        } else {
            self.agreed as f64 / self.compared as f64
        }
    }
}

/// A syscall whose count differs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CountDiff {
    /// Name.
    pub syscall: String,
    /// Calls in A.
    pub a: usize,
    /// Calls in B.
    pub b: usize,
}

/// Disagreements on aligned calls kept as examples in the report.
pub const MAX_EXAMPLES: usize = 20;

/// A return value or path that differs on an aligned call.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Mismatch {
    /// The thread pair.
    pub thread: String,
    /// The call.
    pub syscall: String,
    /// `ret` or `path`.
    pub field: &'static str,
    /// A's value.
    pub a: String,
    /// B's value.
    pub b: String,
}

/// One pair of threads.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ThreadPair {
    /// The process key and thread rank.
    pub key: String,
    /// Thread id in A.
    pub tid_a: i32,
    /// Thread id in B.
    pub tid_b: i32,
    /// Calls compared in A.
    pub calls_a: usize,
    /// Calls compared in B.
    pub calls_b: usize,
    /// 2·matches / (calls A + calls B).
    pub edit_ratio: f64,
    /// Identical k-windows / larger window count.
    pub window_share: f64,
}

/// Process pairing.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ProcessMatch {
    /// Pairs.
    pub paired: usize,
    /// Pairs whose parents are paired too (or both roots).
    pub tree_agrees: usize,
    /// Keys of A's processes with no partner.
    pub only_a: Vec<String>,
    /// Keys of B's processes with no partner.
    pub only_b: Vec<String>,
    /// Threads paired.
    pub threads_paired: usize,
    /// Threads of A with no partner.
    pub threads_only_a: usize,
    /// Threads of B with no partner.
    pub threads_only_b: usize,
}

/// The result of a comparison.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ParityReport {
    /// Side A.
    pub a: Side,
    /// Side B.
    pub b: Side,
    /// Known differences removed.
    pub adjustments: Vec<Adjustment>,
    /// Process and thread pairing.
    pub processes: ProcessMatch,
    /// Edit-distance ratio over all compared calls: the similarity.
    pub similarity: f64,
    /// Window length used.
    pub window: usize,
    /// Identical-window share over all threads.
    pub window_share: f64,
    /// Return values on aligned calls.
    pub returns: Agreement,
    /// Paths on aligned calls where both have one.
    pub paths: Agreement,
    /// The first disagreements on aligned calls.
    pub mismatches: Vec<Mismatch>,
    /// Syscalls whose counts differ, largest difference first.
    pub count_differences: Vec<CountDiff>,
    /// Every thread pair.
    pub thread_pairs: Vec<ThreadPair>,
}

/// The process structure of one capture.
struct Structure {
    /// pid -> parent pid within the capture.
    parent: HashMap<i32, i32>,
    /// pid -> successful exec paths in order.
    execs: HashMap<i32, Vec<String>>,
    /// pids in order of creation.
    order: Vec<i32>,
    /// tid -> seq of the fork/clone call that created it.
    created: HashMap<i32, u64>,
    /// tid -> seq of its last call.
    last_call: HashMap<i32, u64>,
    /// pid -> seq of its first successful execve.
    first_exec_seq: HashMap<i32, u64>,
}

fn structure(cap: &Capture, names: &Names) -> Structure {
    // Processes with calls, and those only the processes table knows (a child killed before
    // its first call shows in one capture and not in the other; it must still take its place
    // in the creation order).
    let pids: HashSet<i32> = cap
        .calls
        .iter()
        .map(|c| c.pid)
        .chain(cap.processes.keys().copied())
        .collect();
    let mut s = Structure {
        parent: HashMap::new(),
        execs: HashMap::new(),
        order: Vec::new(),
        created: HashMap::new(),
        last_call: HashMap::new(),
        first_exec_seq: HashMap::new(),
    };
    let mut first_call: HashMap<i32, u64> = HashMap::new();
    let mut seen = HashSet::new();
    for c in &cap.calls {
        if seen.insert(c.pid) {
            s.order.push(c.pid);
        }
        first_call.entry(c.pid).or_insert(c.seq);
        s.last_call.insert(c.tid, c.seq);
        let name = names.name(c.name);
        match (name, c.ret) {
            ("clone" | "clone3" | "fork" | "vfork", Some(r)) if r > 0 => {
                let child = r as i32;
                s.created.entry(child).or_insert(c.seq);
                if pids.contains(&child) && child != c.pid {
                    s.parent.entry(child).or_insert(c.pid);
                }
            }
            ("execve" | "execveat", Some(0)) => {
                s.execs
                    .entry(c.pid)
                    .or_default()
                    .push(c.path.as_deref().unwrap_or("?").to_string());
                s.first_exec_seq.entry(c.pid).or_insert(c.seq);
            }
            _ => {}
        }
    }
    let mut table_only: Vec<i32> = cap
        .processes
        .keys()
        .copied()
        .filter(|p| !seen.contains(p))
        .collect();
    table_only.sort_unstable();
    s.order.extend(table_only);
    s.order.sort_by_key(|p| {
        s.created
            .get(p)
            .or(first_call.get(p))
            .copied()
            .unwrap_or(u64::MAX)
    });
    for (pid, p) in &cap.processes {
        if let Some(pp) = p.ppid
            && pids.contains(pid)
            && pids.contains(&pp)
        {
            s.parent.entry(*pid).or_insert(pp);
        }
    }
    s
}

fn process_key(s: &Structure, pid: i32, depth: usize) -> String {
    match s.execs.get(&pid) {
        Some(chain) => chain.join(" -> "),
        None => match s.parent.get(&pid) {
            Some(pp) if depth < 64 => format!("fork of [{}]", process_key(s, *pp, depth + 1)),
            _ => "(no exec)".to_string(),
        },
    }
}

/// (key, rank) of every process.
fn keyed(s: &Structure) -> HashMap<(String, usize), i32> {
    let mut rank: HashMap<String, usize> = HashMap::new();
    let mut out = HashMap::new();
    for &pid in &s.order {
        let key = process_key(s, pid, 0);
        let r = rank.entry(key.clone()).or_insert(0);
        out.insert((key, *r), pid);
        *r += 1;
    }
    out
}

/// Removes the known differences; returns the calls kept and the counts removed per id.
fn normalise<'c>(
    cap: &'c Capture,
    s: &Structure,
    names: &Names,
    opts: &Options,
) -> (Vec<&'c Call>, [usize; KNOWN_DIFFERENCES.len()]) {
    let roots: HashSet<i32> = s
        .order
        .iter()
        .copied()
        .filter(|p| !s.parent.contains_key(p))
        .collect();
    let ignored: HashSet<SyscallId> = opts.ignore.iter().filter_map(|n| names.get(n)).collect();
    let mut removed = [0usize; KNOWN_DIFFERENCES.len()];
    let kept = cap
        .calls
        .iter()
        .filter(|c| {
            if roots.contains(&c.pid)
                && let Some(first) = s.first_exec_seq.get(&c.pid)
                && c.seq < *first
            {
                removed[0] += 1;
                return false;
            }
            let name = names.name(c.name);
            if c.ret.is_none() && !matches!(name, "exit" | "exit_group") {
                removed[1] += 1;
                return false;
            }
            if c.ret.is_some_and(|r| RESTART_RETURNS.contains(&r))
                && s.last_call.get(&c.tid) == Some(&c.seq)
            {
                removed[2] += 1;
                return false;
            }
            if ignored.contains(&c.name) {
                removed[3] += 1;
                return false;
            }
            true
        })
        .collect();
    (kept, removed)
}

fn windows(seq: &[u32], k: usize) -> HashMap<&[u32], usize> {
    let mut m = HashMap::new();
    if seq.is_empty() {
        return m;
    }
    if seq.len() < k {
        m.insert(seq, 1);
        return m;
    }
    for w in seq.windows(k) {
        *m.entry(w).or_insert(0) += 1;
    }
    m
}

fn window_count(len: usize, k: usize) -> usize {
    if len == 0 {
        0
    } else if len < k {
        1
    } else {
        len - k + 1
    }
}

fn returns_agree(name: &str, a: i64, b: i64) -> bool {
    if RUN_VARIANT_RETURNS.contains(&name) {
        (a < 0) == (b < 0) && (a >= 0 || a == b)
    } else {
        a == b
    }
}

/// Cut to 255 bytes, as the strace ingest keeps paths (the capture keeps up to 4095).
fn cut(p: &str) -> &str {
    let mut end = p.len().min(255);
    while !p.is_char_boundary(end) {
        end -= 1;
    }
    &p[..end]
}

/// Calls by process, then by thread in order of creation (the main thread first).
type Threads<'c> = HashMap<i32, Vec<(i32, Vec<&'c Call>)>>;

fn by_thread<'c>(calls: &[&'c Call], s: &Structure) -> Threads<'c> {
    let mut m: Threads<'c> = HashMap::new();
    for c in calls {
        let threads = m.entry(c.pid).or_default();
        match threads.iter_mut().find(|(t, _)| *t == c.tid) {
            Some((_, v)) => v.push(c),
            None => threads.push((c.tid, vec![c])),
        }
    }
    for (pid, threads) in m.iter_mut() {
        threads.sort_by_key(|(tid, v)| {
            let created = if tid == pid {
                None
            } else {
                s.created.get(tid).copied()
            };
            (tid != pid, created.unwrap_or(v[0].seq))
        });
    }
    m
}

/// Compares two captures.
pub fn compare(a: &Capture, b: &Capture, names: &Names, opts: &Options) -> ParityReport {
    let k = opts.window.max(1);
    let (sa, sb) = (structure(a, names), structure(b, names));
    let (kept_a, removed_a) = normalise(a, &sa, names, opts);
    let (kept_b, removed_b) = normalise(b, &sb, names, opts);
    let (ta, tb) = (by_thread(&kept_a, &sa), by_thread(&kept_b, &sb));
    let (pa, pb) = (keyed(&sa), keyed(&sb));
    let mut pairing = pair_processes(&sa, &sb, &pa, &pb);
    let totals = compare_threads(&mut pairing, &ta, &tb, names, k);
    let total = kept_a.len() + kept_b.len();
    ParityReport {
        a: side(a, &sa, kept_a.len(), &ta),
        b: side(b, &sb, kept_b.len(), &tb),
        adjustments: adjustments(&removed_a, &removed_b),
        processes: pairing.processes,
        similarity: if total == 0 {
            1.0
        } else {
            2.0 * totals.matched as f64 / total as f64
        },
        window: k,
        window_share: if totals.windows_total == 0 {
            1.0
        } else {
            totals.windows_shared as f64 / totals.windows_total as f64
        },
        returns: totals.returns,
        paths: totals.paths,
        mismatches: totals.mismatches,
        count_differences: count_differences(&kept_a, &kept_b, names),
        thread_pairs: totals.thread_pairs,
    }
}

/// The known differences with the calls each removed per side.
fn adjustments(
    removed_a: &[usize; KNOWN_DIFFERENCES.len()],
    removed_b: &[usize; KNOWN_DIFFERENCES.len()],
) -> Vec<Adjustment> {
    KNOWN_DIFFERENCES
        .iter()
        .enumerate()
        .map(|(i, (id, description))| Adjustment {
            id,
            description,
            removed_a: removed_a[i],
            removed_b: removed_b[i],
        })
        .collect()
}

/// One side's totals.
fn side(cap: &Capture, s: &Structure, kept: usize, threads: &Threads<'_>) -> Side {
    Side {
        input: cap.input.display().to_string(),
        run_id: cap.run_id.clone(),
        source: cap.source.clone(),
        calls: cap.calls.len(),
        calls_compared: kept,
        processes: s.order.len(),
        threads: threads.values().map(Vec::len).sum(),
    }
}

/// A's processes paired with B's by (key, rank).
struct Pairing<'k> {
    /// A's (key, rank) and pid, in A's order of creation.
    ordered: Vec<(&'k (String, usize), i32)>,
    /// A's pid -> its partner's pid in B.
    pair_of_a: HashMap<i32, i32>,
    /// The counts for the report (the thread counts are filled by `compare_threads`).
    processes: ProcessMatch,
}

/// Pairs the n-th process with a key in A with the n-th with that key in B (`pa`, `pb`: the
/// processes by (key, rank)), and checks whether their parents are paired too.
fn pair_processes<'k>(
    sa: &Structure,
    sb: &Structure,
    pa: &'k HashMap<(String, usize), i32>,
    pb: &HashMap<(String, usize), i32>,
) -> Pairing<'k> {
    let mut pm = ProcessMatch::default();
    let mut pair_of_a: HashMap<i32, i32> = HashMap::new();
    let mut keys: Vec<&(String, usize)> = pa.keys().collect();
    keys.sort();
    for key in &keys {
        match pb.get(*key) {
            Some(pid_b) => {
                pair_of_a.insert(pa[*key], *pid_b);
            }
            None => pm.only_a.push(format!("{} #{}", key.0, key.1)),
        }
    }
    let mut keys_b: Vec<&(String, usize)> = pb.keys().filter(|k| !pa.contains_key(*k)).collect();
    keys_b.sort();
    pm.only_b = keys_b.iter().map(|k| format!("{} #{}", k.0, k.1)).collect();
    pm.paired = pair_of_a.len();
    pm.tree_agrees = pair_of_a
        .iter()
        .filter(
            |(pid_a, pid_b)| match (sa.parent.get(pid_a), sb.parent.get(pid_b)) {
                (None, None) => true,
                (Some(pp_a), Some(pp_b)) => pair_of_a.get(pp_a) == Some(pp_b),
                _ => false,
            },
        )
        .count();
    let mut ordered: Vec<(&(String, usize), i32)> = keys.iter().map(|k| (*k, pa[*k])).collect();
    ordered.sort_by_key(|(_, pid)| sa.order.iter().position(|p| p == pid));
    Pairing {
        ordered,
        pair_of_a,
        processes: pm,
    }
}

/// Pairs the threads of paired processes in order of creation and compares each pair; threads
/// without a partner count as entirely different.
fn compare_threads<'n>(
    pairing: &mut Pairing<'_>,
    ta: &Threads<'_>,
    tb: &Threads<'_>,
    names: &'n Names,
    k: usize,
) -> Totals<'n> {
    let Pairing {
        ordered,
        pair_of_a,
        processes: pm,
    } = pairing;
    let mut totals = Totals::new(names, k);
    let mut paired_b_threads: HashSet<(i32, i32)> = HashSet::new();
    for (key, pid_a) in ordered.iter() {
        let threads_a = ta.get(pid_a).map(Vec::as_slice).unwrap_or(&[]);
        let Some(pid_b) = pair_of_a.get(pid_a) else {
            pm.threads_only_a += threads_a.len();
            totals.windows_total += threads_a
                .iter()
                .map(|(_, v)| window_count(v.len(), k))
                .sum::<usize>();
            continue;
        };
        let threads_b = tb.get(pid_b).map(Vec::as_slice).unwrap_or(&[]);
        for (rank, (tid_a, calls_a)) in threads_a.iter().enumerate() {
            let Some((tid_b, calls_b)) = threads_b.get(rank) else {
                pm.threads_only_a += 1;
                totals.windows_total += window_count(calls_a.len(), k);
                continue;
            };
            paired_b_threads.insert((*pid_b, *tid_b));
            pm.threads_paired += 1;
            let thread = format!("{} #{} thread {}", key.0, key.1, rank);
            totals.add_pair(thread, (*tid_a, calls_a), (*tid_b, calls_b));
        }
    }
    for (pid_b, threads) in tb {
        for (tid_b, calls) in threads {
            if !paired_b_threads.contains(&(*pid_b, *tid_b)) {
                pm.threads_only_b += 1;
                totals.windows_total += window_count(calls.len(), k);
            }
        }
    }
    totals
}

/// Sums over all threads, and what the report lists per pair.
struct Totals<'n> {
    names: &'n Names,
    /// Window length.
    k: usize,
    /// Aligned calls over all pairs.
    matched: usize,
    windows_shared: usize,
    windows_total: usize,
    returns: Agreement,
    paths: Agreement,
    thread_pairs: Vec<ThreadPair>,
    mismatches: Vec<Mismatch>,
}

impl<'n> Totals<'n> {
    fn new(names: &'n Names, k: usize) -> Self {
        Self {
            names,
            k,
            matched: 0,
            windows_shared: 0,
            windows_total: 0,
            returns: Agreement::default(),
            paths: Agreement::default(),
            thread_pairs: Vec::new(),
            mismatches: Vec::new(),
        }
    }

    /// Aligns the calls of one pair of threads, compares the aligned calls and the windows.
    fn add_pair(
        &mut self,
        thread: String,
        (tid_a, calls_a): (i32, &[&Call]),
        (tid_b, calls_b): (i32, &[&Call]),
    ) {
        let k = self.k;
        let na: Vec<u32> = calls_a.iter().map(|c| u32::from(c.name)).collect();
        let nb: Vec<u32> = calls_b.iter().map(|c| u32::from(c.name)).collect();
        let pairs = align(&na, &nb);
        for &(i, j) in &pairs {
            self.compare_calls(&thread, calls_a[i], calls_b[j]);
        }
        let (wa, wb) = (windows(&na, k), windows(&nb, k));
        let shared: usize = wa
            .iter()
            .map(|(w, ca)| (*ca).min(wb.get(w).copied().unwrap_or(0)))
            .sum();
        let wmax = window_count(na.len(), k).max(window_count(nb.len(), k));
        self.windows_shared += shared;
        self.windows_total += wmax;
        self.matched += pairs.len();
        let len = na.len() + nb.len();
        self.thread_pairs.push(ThreadPair {
            key: thread,
            tid_a,
            tid_b,
            calls_a: na.len(),
            calls_b: nb.len(),
            edit_ratio: if len == 0 {
                1.0
            } else {
                2.0 * pairs.len() as f64 / len as f64
            },
            window_share: if wmax == 0 {
                1.0
            } else {
                shared as f64 / wmax as f64
            },
        });
    }

    /// Compares the return values and paths of two aligned calls.
    fn compare_calls(&mut self, thread: &str, x: &Call, y: &Call) {
        if let (Some(ra), Some(rb)) = (x.ret, y.ret) {
            self.returns.compared += 1;
            if returns_agree(self.names.name(x.name), ra, rb) {
                self.returns.agreed += 1;
            } else {
                self.note(thread, x, "ret", ra.to_string(), rb.to_string());
            }
        }
        if let (Some(p), Some(q)) = (&x.path, &y.path) {
            self.paths.compared += 1;
            if cut(p) == cut(q) {
                self.paths.agreed += 1;
            } else {
                self.note(thread, x, "path", format!("{p:?}"), format!("{q:?}"));
            }
        }
    }

    /// Keeps a disagreement as an example, up to `MAX_EXAMPLES`.
    fn note(&mut self, thread: &str, x: &Call, field: &'static str, a: String, b: String) {
        if self.mismatches.len() < MAX_EXAMPLES {
            self.mismatches.push(Mismatch {
                thread: thread.to_string(),
                syscall: self.names.name(x.name).to_string(),
                field,
                a,
                b,
            });
        }
    }
}

/// Syscalls whose counts differ, largest difference first.
fn count_differences(kept_a: &[&Call], kept_b: &[&Call], names: &Names) -> Vec<CountDiff> {
    let mut counts: HashMap<SyscallId, (usize, usize)> = HashMap::new();
    for c in kept_a {
        counts.entry(c.name).or_default().0 += 1;
    }
    for c in kept_b {
        counts.entry(c.name).or_default().1 += 1;
    }
    let mut count_differences: Vec<CountDiff> = counts
        .into_iter()
        .filter(|(_, (x, y))| x != y)
        .map(|(n, (x, y))| CountDiff {
            syscall: names.name(n).to_string(),
            a: x,
            b: y,
        })
        .collect();
    count_differences
        .sort_by(|x, y| (y.a.abs_diff(y.b), &x.syscall).cmp(&(x.a.abs_diff(x.b), &y.syscall)));
    count_differences
}
