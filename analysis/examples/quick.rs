fn main() {
    let dir = std::path::Path::new("/tmp/synth1");
    analysis::synth::write_experiment(dir, &analysis::synth::ExperimentSpec::default()).unwrap();
    let cfg = analysis::compare::CompareConfig {
        inputs: vec![dir.display().to_string()],
        ..Default::default()
    };
    let mut r = analysis::compare::run(&cfg).unwrap();
    let out = std::path::Path::new("/tmp/plots");
    std::fs::create_dir_all(out).unwrap();
    analysis::plot::coverage_chart(&r, &out.join("coverage")).unwrap();
    analysis::plot::mismatch_chart(&r, &out.join("mismatch")).unwrap();
    analysis::plot::matrix_heatmap(&r.matrix, &out.join("matrix")).unwrap();
    let run = r
        .most_anomalous_trace(analysis::view::View::Interleaved)
        .unwrap()
        .run_id
        .clone();
    let t = r.timeline(&run, analysis::view::View::Interleaved).unwrap();
    analysis::plot::timeline_chart(&t, &out.join("timeline")).unwrap();
}
