//! The scenarios README.md shows are valid scenarios.

mod common;

use common::Scratch;

#[test]
fn every_yaml_example_in_the_readme_validates() {
    let readme = include_str!("../README.md");
    let s = Scratch::new();
    // The first example reads a data file.
    s.file("users.csv", "user,password\nann,secret\n");
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or(""))
        .collect();
    assert!(blocks.len() >= 2, "README has its HTTP and MQTT examples");
    for (i, block) in blocks.iter().enumerate() {
        if block.contains("\nruns:") {
            suite_example(block);
            continue;
        }
        if let Err(e) = cicada_core::scenario::parse(block, "README.md", s.dir.path(), None) {
            panic!("README yaml example {} is invalid:\n{e}", i + 1);
        }
    }
}

/// A suite example: checked as a suite file beside the repository's
/// `suites/pushpop/` scenarios.
fn suite_example(block: &str) {
    let s = Scratch::new();
    let suites = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/pushpop");
    std::os::unix::fs::symlink(suites, s.path("pushpop")).expect("symlink");
    let file = s.file("suite.yaml", block);
    let values = cicada_core::suite::spec::Placeholders {
        cicada: "cicada".into(),
        out: "/tmp/out".into(),
        free_port: || Ok(8081),
    };
    if let Err(e) = cicada_core::suite::spec::load(&file, &values) {
        panic!("README's suite example is invalid:\n{e}");
    }
}
