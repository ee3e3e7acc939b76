//! Writes throw-away TLS key material for the C, Python and Node tests:
//! `cargo run -p libcce --example test_pki -- DIR` (see support/pki.rs for the files).

#[path = "pki.rs"]
mod pki;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: test_pki DIR");
        std::process::exit(2);
    };
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = pki::write(&pki::generate(), &dir) {
        eprintln!("test_pki: {}: {e}", dir.display());
        std::process::exit(1);
    }
}
