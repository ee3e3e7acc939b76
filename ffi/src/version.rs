//! The library version as C preprocessor constants (`CCE_VERSION_MAJOR` ... in `cce.h`).
//!
//! The values are literals because cbindgen copies them into the header; the build fails
//! if they drift from the crate version, and `cce_version()` returns the same numbers.

/// Major version of libcce (the `<major>` of the SONAME `libcce.so.<major>`).
pub const CCE_VERSION_MAJOR: u32 = 0;
/// Minor version of libcce.
pub const CCE_VERSION_MINOR: u32 = 1;
/// Patch version of libcce.
pub const CCE_VERSION_PATCH: u32 = 0;

/// Parses a decimal number at compile time (the version parts Cargo hands over).
const fn parse(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut n = 0u32;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version part is not a number");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

const _: () = assert!(
    CCE_VERSION_MAJOR == parse(env!("CARGO_PKG_VERSION_MAJOR")),
    "CCE_VERSION_MAJOR differs from the crate version"
);
const _: () = assert!(
    CCE_VERSION_MINOR == parse(env!("CARGO_PKG_VERSION_MINOR")),
    "CCE_VERSION_MINOR differs from the crate version"
);
const _: () = assert!(
    CCE_VERSION_PATCH == parse(env!("CARGO_PKG_VERSION_PATCH")),
    "CCE_VERSION_PATCH differs from the crate version"
);
