// No build step: this script exists for the `syn` build-dependency (see Cargo.toml).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
