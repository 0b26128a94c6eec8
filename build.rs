//! Compiles every `.proto` file under `proto/` once, into the root crate,
//! and lists the services they define.
use std::path::{Path, PathBuf};

use prost::Message as _;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fresh machine needs no system protoc: the vendored binary is used unless
    // the caller points PROTOC somewhere else.
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let mut prost_config = prost_build::Config::new();
    prost_config.protoc_executable(protoc);
    let mut protos = Vec::new();
    collect(Path::new("proto"), &mut protos)?;
    protos.sort();
    println!("cargo:rerun-if-changed=proto");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptors = out_dir.join("airis_descriptor.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptors)
        .include_file("_includes.rs")
        .compile_with_config(prost_config, &protos, &[PathBuf::from("proto")])?;

    // The set holds imported files too (well-known types): only the
    // services of our own packages are the API.
    let set = prost_types::FileDescriptorSet::decode(std::fs::read(&descriptors)?.as_slice())?;
    let mut services: Vec<String> = set
        .file
        .iter()
        .filter(|file| file.package().starts_with("airis."))
        .flat_map(|file| {
            file.service
                .iter()
                .map(move |service| format!("{}.{}", file.package(), service.name()))
        })
        .collect();
    services.sort();
    let list: String = services.iter().map(|s| format!("    {s:?},\n")).collect();
    std::fs::write(
        out_dir.join("services.rs"),
        format!(
            "/// Every service under `proto/airis/`, fully qualified and sorted: the\n\
             /// public API, which the edge routes and whose reflection lists them.\n\
             pub const SERVICES: &[&str] = &[\n{list}];\n"
        ),
    )?;
    Ok(())
}
