//! Views: how a run's rows become sequences, and the windows of each sequence.
//!
//! `thread` makes one sequence per tid, `process` one per pid, `interleaved` one for the whole run
//! (the system-wide stream, as `strace -f` writes it); each in `seq` order. A `Windower` keeps one
//! rolling key per open sequence, so windows never cross a sequence (or run) boundary, and memory
//! is one small state per open sequence. Sequences shorter than k yield no windows and are
//! counted in `SequenceStats`, so they are reported rather than silently dropped.
//!
//! Gaps: a capture's gap row (`tracer_dataset::gap`, read as `intern::GAP_ID`) marks records
//! lost at that point, so no window spans it. It is not a call; it restarts the windows of the
//! sequences it touches: in the interleaved view the run's; in the thread and process views the
//! lost thread's (its tid) or process's (its pid), or every sequence of the run when the gap's
//! tid is 0 (records of more than one thread were lost).

use std::{fmt, str::FromStr};

use crate::{
    dataset::RowChunk,
    error::AnalysisError,
    intern::GAP_ID,
    ngram::{KeyLayout, KeyMap, MAX_K, WindowKey},
};

/// How rows are grouped into sequences.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// One sequence per thread id.
    Thread,
    /// One sequence per process id (its threads' calls in `seq` order).
    Process,
    /// One sequence per run: the system-wide order.
    Interleaved,
}

impl View {
    /// All views, in report order.
    pub const ALL: [View; 3] = [View::Thread, View::Process, View::Interleaved];

    /// The view's name as used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            View::Thread => "thread",
            View::Process => "process",
            View::Interleaved => "interleaved",
        }
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for View {
    type Err = AnalysisError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "thread" | "tid" => Ok(View::Thread),
            "process" | "pid" => Ok(View::Process),
            "interleaved" | "system" => Ok(View::Interleaved),
            _ => Err(AnalysisError::Config {
                option: "view",
                message: format!("`{s}` is not one of thread, process, interleaved"),
            }),
        }
    }
}

/// Checks a window length.
pub fn check_k(k: usize) -> Result<(), AnalysisError> {
    if (1..=MAX_K).contains(&k) {
        Ok(())
    } else {
        Err(AnalysisError::Config {
            option: "k (window length)",
            message: format!("{k} is outside 1..={MAX_K}"),
        })
    }
}

/// Counts of the sequences of one or more runs in one view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SequenceStats {
    /// Sequences (threads, processes or runs).
    pub sequences: u64,
    /// Calls in all sequences.
    pub calls: u64,
    /// Sequences shorter than k, which yield no window.
    pub short_sequences: u64,
    /// Calls in those short sequences.
    pub short_sequence_calls: u64,
}

impl SequenceStats {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &SequenceStats) {
        self.sequences += other.sequences;
        self.calls += other.calls;
        self.short_sequences += other.short_sequences;
        self.short_sequence_calls += other.short_sequence_calls;
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct SeqState {
    key: WindowKey,
    /// Calls of the sequence.
    len: u64,
    /// Calls since the sequence began or its last gap: windows need k of them.
    since_gap: u64,
}

impl SeqState {
    #[inline(always)]
    fn push(&mut self, layout: &KeyLayout, id: u16, k: u64) -> Option<WindowKey> {
        self.key = layout.roll(self.key, id);
        self.len += 1;
        self.since_gap += 1;
        (self.since_gap >= k).then_some(self.key)
    }

    fn restart(&mut self) {
        self.key = 0;
        self.since_gap = 0;
    }
}

const NO_TAG: i64 = i64::MIN;

/// Turns the rows of one run at a time into windows, in one view.
#[derive(Debug)]
pub struct Windower {
    view: View,
    layout: KeyLayout,
    slots: KeyMap<i32, u32>,
    states: Vec<SeqState>,
    last_tag: i64,
    last_slot: usize,
}

impl Windower {
    /// A windower of length-`k` windows in `view`.
    pub fn new(view: View, k: usize) -> Result<Self, AnalysisError> {
        check_k(k)?;
        Ok(Self {
            view,
            layout: KeyLayout::new(k),
            slots: KeyMap::default(),
            states: Vec::new(),
            last_tag: NO_TAG,
            last_slot: 0,
        })
    }

    /// The view.
    pub fn view(&self) -> View {
        self.view
    }

    /// The window length.
    pub fn k(&self) -> usize {
        self.layout.k()
    }

    /// How the windows are packed.
    pub fn layout(&self) -> KeyLayout {
        self.layout
    }

    /// Feeds rows of the current run; calls `on_window` with each completed window, in row order.
    #[inline]
    pub fn feed(&mut self, chunk: &RowChunk<'_>, mut on_window: impl FnMut(WindowKey)) {
        self.feed_indexed(chunk, |_, key| on_window(key));
    }

    /// As `feed`, also passing the index in `chunk` of the row that completed each window (its
    /// last call), for callers that need that call's `seq` or time.
    #[inline]
    pub fn feed_indexed(
        &mut self,
        chunk: &RowChunk<'_>,
        mut on_window: impl FnMut(usize, WindowKey),
    ) {
        let k = self.layout.k() as u64;
        let layout = self.layout;
        let tags = match self.view {
            View::Thread => chunk.tid,
            View::Process => chunk.pid,
            View::Interleaved => {
                if self.states.is_empty() {
                    self.states.push(SeqState::default());
                }
                let st = &mut self.states[0];
                for (i, &id) in chunk.syscall.iter().enumerate() {
                    if id == GAP_ID {
                        st.restart();
                    } else if let Some(key) = st.push(&layout, id, k) {
                        on_window(i, key);
                    }
                }
                return;
            }
        };
        for (i, (&tag, &id)) in tags.iter().zip(chunk.syscall).enumerate() {
            if id == GAP_ID {
                self.gap(tag, chunk.tid[i]);
                continue;
            }
            if i64::from(tag) != self.last_tag {
                let next = self.states.len() as u32;
                let slot = *self.slots.entry(tag).or_insert(next);
                if slot == next {
                    self.states.push(SeqState::default());
                }
                self.last_tag = i64::from(tag);
                self.last_slot = slot as usize;
            }
            if let Some(key) = self.states[self.last_slot].push(&layout, id, k) {
                on_window(i, key);
            }
        }
    }

    /// A gap row of sequence `tag` (its tid or pid), lost thread `tid` (0: several).
    fn gap(&mut self, tag: i32, tid: i32) {
        if tid == 0 {
            self.states.iter_mut().for_each(SeqState::restart);
        } else if let Some(&slot) = self.slots.get(&tag) {
            self.states[slot as usize].restart();
        }
    }

    /// Ends the current run: returns its sequence counts and forgets its sequences.
    pub fn finish_run(&mut self) -> SequenceStats {
        let k = self.layout.k() as u64;
        let mut stats = SequenceStats::default();
        for st in &self.states {
            stats.sequences += 1;
            stats.calls += st.len;
            if st.len < k {
                stats.short_sequences += 1;
                stats.short_sequence_calls += st.len;
            }
        }
        self.states.clear();
        self.slots.clear();
        self.last_tag = NO_TAG;
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows as (pid, tid, syscall id) in seq order.
    fn windows(view: View, k: usize, rows: &[(i32, i32, u16)]) -> (Vec<Vec<u16>>, SequenceStats) {
        let seq: Vec<u64> = (0..rows.len() as u64).collect();
        let pid: Vec<i32> = rows.iter().map(|r| r.0).collect();
        let tid: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let sys: Vec<u16> = rows.iter().map(|r| r.2).collect();
        let mut w = Windower::new(view, k).unwrap();
        let mut out = Vec::new();
        // Feed in two chunks to check that state carries across chunks.
        let cut = rows.len() / 2;
        for (a, b) in [(0, cut), (cut, rows.len())] {
            let chunk = RowChunk {
                seq: &seq[a..b],
                pid: &pid[a..b],
                tid: &tid[a..b],
                syscall: &sys[a..b],
            };
            let layout = w.layout();
            w.feed(&chunk, |key| out.push(layout.unpack(key)));
        }
        (out, w.finish_run())
    }

    // Process 1 has threads 10 and 11, process 2 has thread 20.
    const ROWS: [(i32, i32, u16); 7] = [
        (1, 10, 1),
        (1, 11, 2),
        (2, 20, 3),
        (1, 10, 4),
        (1, 11, 5),
        (1, 10, 6),
        (2, 20, 7),
    ];

    #[test]
    fn thread_view_by_hand() {
        let (w, s) = windows(View::Thread, 2, &ROWS);
        // tid 10: 1 4 6 -> [1,4] [4,6]; tid 11: 2 5 -> [2,5]; tid 20: 3 7 -> [3,7]
        assert_eq!(w, vec![vec![1, 4], vec![2, 5], vec![4, 6], vec![3, 7]]);
        assert_eq!(
            s,
            SequenceStats {
                sequences: 3,
                calls: 7,
                short_sequences: 0,
                short_sequence_calls: 0
            }
        );
        let (w, s) = windows(View::Thread, 3, &ROWS);
        assert_eq!(w, vec![vec![1, 4, 6]]);
        assert_eq!(s.short_sequences, 2);
        assert_eq!(s.short_sequence_calls, 4);
    }

    #[test]
    fn process_view_by_hand() {
        let (w, s) = windows(View::Process, 3, &ROWS);
        // pid 1: 1 2 4 5 6 -> [1,2,4] [2,4,5] [4,5,6]; pid 2: 3 7 is short
        assert_eq!(w, vec![vec![1, 2, 4], vec![2, 4, 5], vec![4, 5, 6]]);
        assert_eq!(
            (s.sequences, s.short_sequences, s.short_sequence_calls),
            (2, 1, 2)
        );
    }

    #[test]
    fn interleaved_view_by_hand() {
        let (w, s) = windows(View::Interleaved, 6, &ROWS);
        assert_eq!(w, vec![vec![1, 2, 3, 4, 5, 6], vec![2, 3, 4, 5, 6, 7]]);
        assert_eq!((s.sequences, s.calls, s.short_sequences), (1, 7, 0));
        let (w, s) = windows(View::Interleaved, 8, &ROWS);
        assert!(w.is_empty());
        assert_eq!((s.short_sequences, s.short_sequence_calls), (1, 7));
    }

    #[test]
    fn no_window_spans_a_gap() {
        let g = GAP_ID;
        // Thread 10 lost records between its calls 2 and 3; then threads of several processes
        // lost records (tid 0) after thread 11's call 6.
        let rows = [
            (1, 10, 1),
            (1, 11, 4),
            (1, 10, 2),
            (1, 10, g),
            (1, 10, 3),
            (1, 11, 5),
            (1, 10, 7),
            (1, 11, 6),
            (0, 0, g),
            (1, 11, 8),
            (1, 10, 9),
        ];
        let (w, s) = windows(View::Thread, 2, &rows);
        // tid 10: 1 2 | 3 7 | 9; tid 11: 4 5 6 | 8.
        assert_eq!(
            w,
            vec![vec![1, 2], vec![4, 5], vec![3, 7], vec![5, 6]],
            "thread view: windows of each piece only"
        );
        assert_eq!((s.sequences, s.calls), (2, 9), "gaps are not calls");
        let (w, _) = windows(View::Process, 3, &rows);
        // pid 1: 1 4 2 | (thread 10's gap breaks its process) 3 5 7 6 | 8 9.
        assert_eq!(
            w,
            vec![vec![1, 4, 2], vec![3, 5, 7], vec![5, 7, 6]],
            "process view"
        );
        let (w, _) = windows(View::Interleaved, 3, &rows);
        assert_eq!(
            w,
            vec![vec![1, 4, 2], vec![3, 5, 7], vec![5, 7, 6]],
            "interleaved view: every gap breaks the run's stream"
        );
    }

    #[test]
    fn k_one_and_k_sixteen() {
        let (w, _) = windows(View::Interleaved, 1, &ROWS);
        assert_eq!(w.len(), 7);
        let long: Vec<(i32, i32, u16)> = (0..20).map(|i| (1, 1, i)).collect();
        let (w, _) = windows(View::Thread, 16, &long);
        assert_eq!(w.len(), 5);
        assert_eq!(w[4], (4..20).collect::<Vec<u16>>());
    }

    #[test]
    fn bad_k_and_view_are_rejected() {
        assert!(Windower::new(View::Thread, 0).is_err());
        assert!(Windower::new(View::Thread, 17).is_err());
        assert!("threads".parse::<View>().is_err());
        assert_eq!("interleaved".parse::<View>().unwrap(), View::Interleaved);
    }
}
