//! Compiles `proto/greeter.proto` into Rust (messages, client and server) with protox, a
//! protobuf compiler written in Rust: no system `protoc` is needed. Also writes the
//! compiled descriptors, which server reflection serves (`grpcurl list` reads them).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).open_file("greeter.proto")?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("greeter_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure().compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
