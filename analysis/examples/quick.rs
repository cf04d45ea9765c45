fn main() {
    let dir = std::path::Path::new("/tmp/synth1");
    analysis::synth::write_experiment(dir, &analysis::synth::ExperimentSpec::default()).unwrap();
    let cfg = analysis::compare::CompareConfig { inputs: vec![dir.display().to_string()], ..Default::default() };
    let r = analysis::compare::run(&cfg).unwrap();
    println!("{}", r.markdown());
}
