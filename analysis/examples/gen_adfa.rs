//! Writes an ADFA-LD-shaped corpus (`analysis::synth::adfa`) in the three forms the stide
//! benchmark reads, and prints its counts as JSON.
//!
//! Usage: cargo run --release -p analysis --example gen_adfa -- DIR [--share X] [--seed N]
//!   DIR/ADFA-LD/       the raw layout (Training_Data_Master/UTD-0001.txt, ...)
//!   DIR/adfa/          one Parquet file per trace under syscalls/, as the importer writes
//!   DIR/adfa-runs/     one Parquet file holding every trace as a run (syscalls/adfa.parquet)
//!   --share X          this share of every split (default 1: the size of ADFA-LD)
//!   --seed N           generator seed (default: the spec's)

use std::path::PathBuf;

use analysis::synth::adfa::{AdfaCorpus, AdfaSpec};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut spec = AdfaSpec::adfa_ld();
    let mut share = 1.0;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--share" => share = args.next().unwrap_or_default().parse()?,
            "--seed" => spec.seed = args.next().unwrap_or_default().parse()?,
            "-h" | "--help" => {
                println!("see the doc comment of analysis/examples/gen_adfa.rs");
                return Ok(());
            }
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.ok_or_else(|| anyhow::anyhow!("usage: gen_adfa DIR [--share X] [--seed N]"))?;
    let spec = spec.scaled(share);
    let corpus = AdfaCorpus::generate(&spec);
    for sub in ["ADFA-LD", "adfa", "adfa-runs"] {
        let d = dir.join(sub);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
    }
    corpus.write_text(&dir.join("ADFA-LD"))?;
    corpus.write_dataset(&dir.join("adfa"))?;
    corpus.write_runs_file(&dir.join("adfa-runs/syscalls/adfa.parquet"))?;
    println!("{}", serde_json::to_string(&corpus.stats())?);
    Ok(())
}
