//! Gives the release shared library its SONAME, `libcce.so.<major>`, so that programs
//! linked against the SDK's `libcce.so` record the ABI version they need.
//!
//! Debug builds keep no SONAME: the in-tree tests run them through `-L target/debug -lcce`
//! with `LD_LIBRARY_PATH`, where no `libcce.so.<major>` link exists.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if release && linux {
        let major = env!("CARGO_PKG_VERSION_MAJOR");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcce.so.{major}");
    }
}
