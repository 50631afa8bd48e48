//! Stamps the build with what `tally --version` says: the commit and target.
//! `TALLY_COMMIT` overrides the commit (builds from a source tarball).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TALLY_COMMIT");
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=TALLY_TARGET={target}");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let commit = std::env::var("TALLY_COMMIT").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    // Release builds follow every commit; a debug build reads the commit
    // only when this package is rebuilt anyway (a commit alone would
    // otherwise rebuild the node crate and everything above it), and says so.
    if !release {
        println!("cargo:rerun-if-changed=src");
    } else {
        let git = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.git");
        println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
        if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
            && let Some(r) = head.trim().strip_prefix("ref: ")
        {
            println!("cargo:rerun-if-changed={}", git.join(r).display());
            println!(
                "cargo:rerun-if-changed={}",
                git.join("packed-refs").display()
            );
        }
    }
    let commit = match (commit, release) {
        (Some(c), true) => c,
        (Some(c), false) => format!("{c} (debug build: the commit when this crate was last built)"),
        (None, _) => "unknown (not built from a git checkout; set TALLY_COMMIT)".into(),
    };
    println!("cargo:rustc-env=TALLY_COMMIT={commit}");
}
