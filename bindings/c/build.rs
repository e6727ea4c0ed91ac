//! Generates `include/stateful_redis.h` with the pinned cbindgen and gives the
//! shared library its SONAME (`libstateful_redis.so.<ABI>`; on macOS the install
//! name `@rpath/libstateful_redis.<ABI>.dylib`).
//!
//! The header is written only when its text changes, so builds do not touch it
//! needlessly; CI regenerates it and fails when the committed copy differs
//! (`git diff --exit-code include/`).

use std::path::PathBuf;

include!("src/abi.rs");

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");

    // The SONAME carries the ABI version, not the crate version: a minor release
    // that only adds functions stays loadable by programs linked before it.
    // The names match bindings/c/CMakeLists.txt, which installs the library
    // under them (only Linux is built by CI).
    match std::env::var("CARGO_CFG_TARGET_OS").as_deref() {
        Ok("linux") => println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-soname,libstateful_redis.so.{SR_ABI_VERSION}"
        ),
        // macOS: the install name plays the SONAME's part.
        Ok("macos") => println!(
            "cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libstateful_redis.{SR_ABI_VERSION}.dylib"
        ),
        // Windows: the DLL keeps cargo's name (its import library records it).
        _ => {}
    }

    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap();
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap();
    let patch = std::env::var("CARGO_PKG_VERSION_PATCH").unwrap();
    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("bindings/c/cbindgen.toml");
    config.after_includes = Some(format!(
        "\n/** The library version (the `version` of the workspace's Cargo.toml). */\n\
         #define SR_VERSION \"{version}\"\n\
         #define SR_VERSION_MAJOR {major}\n\
         #define SR_VERSION_MINOR {minor}\n\
         #define SR_VERSION_PATCH {patch}"
    ));
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate include/stateful_redis.h");

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    bindings.write_to_file(out_dir.join("stateful_redis.h"));
    let include_dir = crate_dir.join("../../include");
    if include_dir.is_dir() {
        // write_to_file leaves the file alone when the text is unchanged.
        bindings.write_to_file(include_dir.join("stateful_redis.h"));
    } else {
        println!(
            "cargo:warning=include/ not found; header left in {}",
            out_dir.display()
        );
    }
}
