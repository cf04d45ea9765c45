//! Writes a synthetic M.S / M.R experiment and its report, to see the analysis without a capture.
//!
//! Usage: cargo run -p analysis --example demo_report -- [OUT_DIR]   (default target/demo-report)
//! Then open OUT_DIR/report/index.html.

use std::path::PathBuf;

use analysis::{
    report::{ReportConfig, write_report},
    synth::{ExperimentSpec, write_experiment},
};

fn main() {
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/demo-report"), PathBuf::from);
    let dataset = out.join("dataset");
    let spec = ExperimentSpec {
        reps: 4,
        ..Default::default()
    };
    write_experiment(&dataset, &spec).expect("write the synthetic experiment");
    // Each scenario's four M.S runs are scored leave-one-out, the M.R runs against all four.
    let cfg = ReportConfig::default();
    let summary = write_report(&dataset, &out.join("report"), &cfg).expect("write the report");
    print!("{}", summary.table());
    println!("open {}", summary.index_html.display());
}
