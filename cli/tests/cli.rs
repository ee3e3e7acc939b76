//! The `cce sim` command: runs example scenarios and exits, refuses bad options.

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
        .args(["sim", "--port", "0", "--scenario"])
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
        stdout.contains("side A listening on 127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains(r#""errors":[]"#), "{stdout}");
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
        stdout.contains("side B listening on 127.0.0.1:"),
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
