//! Link-time setting for the `mcpd` executable: packed relative relocations (`DT_RELR`).
//!
//! A position-independent executable carries one 24-byte `.rela.dyn` entry per pointer
//! the loader must adjust, about 800 KB for mcpd, and the loader reads all of it at
//! every start, so it stays resident. `-z pack-relative-relocs` stores the same
//! information as a bitmap of about 10 KB: idle RSS falls by about 0.8 MB
//! (docs/benchmarks.md), and the executable keeps its address randomisation.
//!
//! The loader must understand `DT_RELR` (glibc 2.36 or newer), and the executable is
//! marked as needing it, so the flag is only used for native builds on a glibc that has
//! it; anywhere else the executable is linked as before.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_is = |key: &str, value: &str| std::env::var(key).is_ok_and(|v| v == value);
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    if native
        && target_is("CARGO_CFG_TARGET_OS", "linux")
        && target_is("CARGO_CFG_TARGET_ENV", "gnu")
        && host_glibc().is_some_and(|version| version >= (2, 36))
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The build machine's glibc version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn host_glibc() -> Option<(u32, u32)> {
    let output = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let version = text.trim().strip_prefix("glibc ")?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()?;
    Some((major, minor))
}
