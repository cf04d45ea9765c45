//! The cross-scenario ("behavioural") mismatch matrix: each scenario's profile scored against
//! each other scenario's profile, as if the first were one trace.

use std::collections::BTreeMap;

use crate::{
    dataset::{Dataset, RunMeta, Selection},
    error::AnalysisError,
    profile::{Profile, ProfileBuilder},
    tidy::label,
    view::View,
};

/// Options of the `matrix` command: which runs form each scenario's profile, in which view.
#[derive(Clone, Debug)]
pub struct MatrixConfig {
    /// Files, folders or globs.
    pub inputs: Vec<String>,
    /// Runs used (typically `mode=ms`).
    pub selection: Selection,
    /// View of the profiles.
    pub view: View,
    /// Window length.
    pub k: usize,
}

/// Builds one profile per scenario from the selected runs and scores each against each other.
pub fn run(cfg: &MatrixConfig) -> Result<MismatchMatrix, AnalysisError> {
    let dataset = Dataset::open(&cfg.inputs)?;
    let mut interner = crate::intern::for_k(cfg.k);
    let mut builder = ProfileBuilder::new(
        cfg.view,
        cfg.k,
        Box::new(|r: &RunMeta| Some(label(&r.scenario))),
    )?;
    dataset.scan(&cfg.selection, &mut interner, &mut builder)?;
    let profiles = builder.into_profiles();
    if profiles.is_empty() {
        return Err(AnalysisError::Empty(format!(
            "no run selected in {}",
            cfg.inputs.join(", ")
        )));
    }
    let mut m = mismatch_matrix(&profiles);
    m.view = cfg.view;
    m.k = cfg.k;
    Ok(m)
}

/// Mismatch and coverage of every profile against every other.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MismatchMatrix {
    /// The view the profiles were built in.
    pub view: View,
    /// Window length.
    pub k: usize,
    /// Row and column labels.
    pub scenarios: Vec<String>,
    /// `mismatch[i][j]` = |U(i) \ U(j)| / |U(i)|: share of scenario i's distinct windows that
    /// scenario j's profile lacks (`None` if i has no window). The diagonal is 0.
    pub mismatch: Vec<Vec<Option<f64>>>,
    /// `coverage[i][j]`: share of scenario i's windows (with counts) that j's profile knows.
    pub coverage: Vec<Vec<Option<f64>>>,
    /// Distinct windows of each scenario's profile.
    pub distinct_windows: Vec<u64>,
}

/// Scores every profile of `profiles` against every other (all of one k and view).
pub fn mismatch_matrix(profiles: &BTreeMap<String, Profile>) -> MismatchMatrix {
    let scenarios: Vec<String> = profiles.keys().cloned().collect();
    let (view, k) = profiles
        .values()
        .next()
        .map_or((View::Thread, 0), |p| (p.view, p.k));
    let mut mismatch = Vec::new();
    let mut coverage = Vec::new();
    for a in profiles.values() {
        let mut mrow = Vec::new();
        let mut crow = Vec::new();
        for b in profiles.values() {
            let (mut unknown, mut known_count) = (0u64, 0u64);
            for (key, count) in a.iter() {
                if b.contains(key) {
                    known_count += count;
                } else {
                    unknown += 1;
                }
            }
            let distinct = a.distinct() as u64;
            mrow.push((distinct > 0).then(|| unknown as f64 / distinct as f64));
            crow.push(
                (a.total_windows() > 0).then(|| known_count as f64 / a.total_windows() as f64),
            );
        }
        mismatch.push(mrow);
        coverage.push(crow);
    }
    MismatchMatrix {
        view,
        k,
        distinct_windows: profiles.values().map(|p| p.distinct() as u64).collect(),
        scenarios,
        mismatch,
        coverage,
    }
}

impl MismatchMatrix {
    /// The matrix as a markdown table (rows: scored scenario, columns: baseline).
    pub fn markdown(&self) -> String {
        let mut s = String::from("| scored \\ baseline |");
        for c in &self.scenarios {
            s.push_str(&format!(" {c} |"));
        }
        s.push_str("\n|---|");
        s.push_str(&"---:|".repeat(self.scenarios.len()));
        s.push('\n');
        for (i, r) in self.scenarios.iter().enumerate() {
            s.push_str(&format!("| {r} |"));
            for v in &self.mismatch[i] {
                s.push_str(&format!(" {} |", fmt_opt(*v)));
            }
            s.push('\n');
        }
        s
    }
}

/// Formats an optional ratio with three decimals, `-` when undefined.
pub fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ngram::pack;

    #[test]
    fn hand_computed_matrix() {
        let mut a = Profile::new(2, View::Thread).unwrap();
        a.add(pack(&[1, 2]), 3);
        a.add(pack(&[2, 3]), 1);
        let mut b = Profile::new(2, View::Thread).unwrap();
        b.add(pack(&[1, 2]), 1);
        b.add(pack(&[5, 5]), 1);
        b.add(pack(&[6, 6]), 2);
        let m = mismatch_matrix(&BTreeMap::from([
            ("a".to_string(), a),
            ("b".to_string(), b),
        ]));
        assert_eq!(m.scenarios, vec!["a", "b"]);
        assert_eq!(m.mismatch[0], vec![Some(0.0), Some(0.5)]);
        assert_eq!(m.mismatch[1], vec![Some(2.0 / 3.0), Some(0.0)]);
        // a's windows 1-2 x3 known by b, 2-3 x1 not: 3/4. b's 1-2 x1 known by a of 4: 1/4.
        assert_eq!(m.coverage[0], vec![Some(1.0), Some(0.75)]);
        assert_eq!(m.coverage[1], vec![Some(0.25), Some(1.0)]);
        assert_eq!(m.distinct_windows, vec![2, 3]);
        assert!(
            m.markdown().contains("| b | 0.667 | 0.000 |"),
            "{}",
            m.markdown()
        );
    }
}
