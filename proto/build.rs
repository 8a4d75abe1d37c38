// Compiles the versioned schema. protoc comes from Debian's protobuf-compiler,
// installed by deploy/setup.sh; PROTOC overrides the location.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["streetwatch/v1/incident.proto", "streetwatch/v1/camera_status.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    prost_build::Config::new().compile_protos(&files, &["."])?;
    Ok(())
}
