//! Compiles `clawsec/v1/clawsec.proto` with protox, so no system `protoc` is needed,
//! and keeps the encoded descriptor set for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "clawsec/v1/clawsec.proto";
    println!("cargo:rerun-if-changed={proto}");

    let fds = protox::compile([proto], ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("clawsec_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;
    tonic_prost_build::configure()
        .build_transport(true)
        .compile_fds(fds)?;
    Ok(())
}
