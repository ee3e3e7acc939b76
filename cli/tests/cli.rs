//! The `cce sim` command: runs example scenarios and exits, refuses bad options; `cce --version`.

use std::process::Command;

fn cce() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cce"))
}

fn scenario(name: &str) -> String {
    format!(
        "{}/../examples/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn runs_a_scenario_on_a_free_port_and_exits() {
    let out = cce()
        .args(["sim", "cti", "--port", "0", "--scenario"])
        .arg(scenario("inbound_call.json"))
        .arg("--exit-after-scenario")
        .output()
        .expect("run cce");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r#""side":"A","address":"127.0.0.1:"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""errors":[]"#), "{stdout}");
    // Every line is JSON.
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect(line);
    }
}

#[test]
fn duplex_with_a_load_and_a_version() {
    let out = cce()
        .args(["sim", "--port", "0", "--port-b", "0", "--version", "20"])
        .args([
            "--load",
            r#"{"agents":10,"calls_per_second":100,"calls":20,"talk_ms":10}"#,
        ])
        .arg("--exit-after-scenario")
        .output()
        .expect("run cce");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(r#""side":"B","address":"127.0.0.1:"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""completed":20"#), "{stdout}");
}

#[test]
fn bad_options_fail() {
    for bad in [
        vec!["sim", "--nope"],
        vec!["sim", "--version", "14", "--exit-after-scenario"],
        vec!["sim", "--scenario", "/no/such/file.json"],
        vec!["frobnicate"],
        vec![
            "sim",
            "cti",
            "--wait-clients",
            "1",
            "--wait-timeout",
            "0",
            "--scenario",
            &scenario("inbound_call.json"),
            "--port",
            "0",
        ],
        vec!["tap"],
        vec!["decode", "/no/such/file"],
        vec!["replay", "/no/such/file"],
    ] {
        let out = cce().args(&bad).output().expect("run cce");
        assert!(!out.status.success(), "{bad:?}");
    }
    assert!(cce()
        .arg("--help")
        .output()
        .expect("run cce")
        .status
        .success());
}

#[test]
fn version_is_the_library_version() {
    let out = cce().arg("--version").output().expect("run cce");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), format!("cce {}", cce::VERSION));
    for sub in ["sim", "tap", "decode", "record", "replay", "agent"] {
        let out = cce().args([sub, "--help"]).output().expect("run cce");
        assert!(out.status.success(), "{sub} --help");
    }
}
