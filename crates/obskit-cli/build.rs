//! Tells Cargo to rebuild when the embedded template changes: `include_dir!` reads
//! `template/` at compile time but, on stable Rust, cannot declare those files itself.

fn main() {
    println!("cargo::rerun-if-changed=../../template");
}
