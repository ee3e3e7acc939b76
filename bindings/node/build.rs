//! Build script: the platform link arguments a N-API addon needs.

fn main() {
    napi_build::setup();
}
