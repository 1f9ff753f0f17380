//! Builds the `gobridge-capi` staticlib, compiles `tests/c/abi_test.c` against it and
//! `include/gobridge.h` with the system C compiler, and runs the program — directly, then under
//! valgrind memcheck, which must report no error and no definite or indirect leak (Rust's std
//! keeps a few "still reachable" blocks at exit; those are allowed).
//!
//! The staticlib is built by a nested `cargo build --release -p gobridge-capi` into its own
//! target directory (`target/c-abi-test`), so this test works the same from `cargo test`,
//! `cargo test --workspace` or `make test` without waiting on the outer cargo's lock. The C
//! program uses the harness probes (`--features harness`, `-DGOBRIDGE_HARNESS`); a second build
//! without the feature proves that a product staticlib contains none of them.
//! Environment: `CC` picks the compiler (default `cc`); `GOBRIDGE_SKIP_VALGRIND=1` skips the
//! valgrind run where valgrind cannot be installed (CI installs it: `.ci/run`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Libraries a Rust staticlib needs on Linux (`rustc --print native-static-libs`).
const NATIVE_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed: {}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// The probes only the Go harness calls (feature `harness`): absent from a product build.
const HARNESS_PROBES: &[&str] = &[
    "gobridge_sum",
    "gobridge_fill",
    "gobridge_bench_noop",
    "gobridge_bench_noop_guarded",
    "gobridge_sleep_interruptible",
];

/// Builds the staticlib with `features` and returns a copy named for them. Builds share one
/// target directory (the dependencies are built once) and run one at a time, since each
/// writes the same `libgobridge_capi.a`.
fn build_staticlib(target_dir: &Path, features: &str) -> PathBuf {
    static ONE_BUILD_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _build = ONE_BUILD_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    run(Command::new(cargo)
        .current_dir(root())
        .args(["build", "--release", "--quiet", "-p", "gobridge-capi", "--features", features])
        .arg("--target-dir")
        .arg(target_dir));
    let lib = target_dir.join("release/libgobridge_capi.a");
    assert!(lib.exists(), "{} was not built", lib.display());
    let name = if features.is_empty() { "product" } else { features };
    // Copied then renamed: the other test may still be reading (nm, cc) an earlier copy of
    // the same name, and a copy in place would truncate it under that reader.
    let copy = target_dir.join(format!("libgobridge_capi-{name}.a"));
    let partial = target_dir.join(format!("libgobridge_capi-{name}.a.partial"));
    std::fs::copy(&lib, &partial).unwrap_or_else(|e| panic!("copy {}: {e}", lib.display()));
    std::fs::rename(&partial, &copy).unwrap_or_else(|e| panic!("rename {}: {e}", copy.display()));
    copy
}

/// The NUL-separated strings of an archive: its symbol index and the objects' string tables
/// hold every symbol name as one of them (no `nm` needed).
fn archive_strings(archive: &[u8]) -> std::collections::HashSet<&[u8]> {
    archive.split(|&b| b == 0).collect()
}

#[test]
fn product_staticlib_has_no_harness_probes() {
    let target_dir = root().join("target/c-abi-test");
    let product = std::fs::read(build_staticlib(&target_dir, "")).unwrap();
    let harness = std::fs::read(build_staticlib(&target_dir, "harness")).unwrap();
    let (product, harness) = (archive_strings(&product), archive_strings(&harness));
    for probe in HARNESS_PROBES {
        assert!(harness.contains(probe.as_bytes()), "the harness build lacks {probe}");
        assert!(!product.contains(probe.as_bytes()), "the product build contains {probe}");
    }
    assert!(product.contains(b"gobridge_pool_submit_sleep".as_slice()), "product ABI");
}

fn compile(lib: &Path, out_dir: &Path) -> PathBuf {
    let exe = out_dir.join("abi_test");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    run(Command::new(cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-O1"])
        .args(["-DGOBRIDGE_HARNESS", "-I"])
        .arg(root().join("include"))
        .arg(root().join("tests/c/abi_test.c"))
        .arg(lib)
        .args(NATIVE_LIBS)
        .arg("-o")
        .arg(&exe));
    exe
}

#[test]
fn c_program_passes_under_valgrind() {
    let target_dir = root().join("target/c-abi-test");
    let lib = build_staticlib(&target_dir, "harness");

    // The staticlib exports the functions the header declares.
    if let Ok(nm) = Command::new("nm").args(["-g", "--defined-only"]).arg(&lib).output() {
        let symbols = String::from_utf8_lossy(&nm.stdout);
        let header = std::fs::read_to_string(root().join("include/gobridge.h")).unwrap();
        // Declarations start at column 0 (comment lines start with ` *` or `/`); those inside
        // `#if defined(FEATURE)` blocks exist only in builds with that feature.
        let mut in_feature_block = false;
        let mut decls = Vec::new();
        for l in header.lines() {
            if l.starts_with("#if defined(") {
                in_feature_block = true;
            } else if l.starts_with("#endif") {
                in_feature_block = false;
            } else if !in_feature_block
                && !l.starts_with([' ', '*', '/', '#'])
                && l.contains("gobridge_")
                && l.ends_with(");")
            {
                decls.push(l);
            }
        }
        assert!(decls.len() >= 9, "header declarations not found");
        for decl in decls {
            let name = decl.split('(').next().unwrap().rsplit([' ', '*']).next().unwrap();
            assert!(
                symbols.contains(&format!(" T {name}\n")),
                "{name} is not exported by {}",
                lib.display()
            );
        }
    }

    let exe = compile(&lib, &target_dir);
    let out = run(&mut Command::new(&exe));
    assert!(String::from_utf8_lossy(&out.stdout).contains("abi_test: all checks passed"));

    if std::env::var_os("GOBRIDGE_SKIP_VALGRIND").is_some_and(|v| v == "1") {
        eprintln!("GOBRIDGE_SKIP_VALGRIND=1: valgrind run skipped");
        return;
    }
    // "Possibly lost" is shown but not an error: std keeps each thread's `Thread` handle
    // (here the C main thread's, created the first time it blocks on a channel) behind a
    // tagged pointer in a thread-local that is never freed at exit, which memcheck can only
    // call "possibly lost" (48 bytes). Definite and indirect leaks fail the test.
    let valgrind = Command::new("valgrind")
        .args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect,possible",
        ])
        .arg(&exe)
        .output();
    let out = match valgrind {
        Ok(out) => out,
        Err(e) => panic!(
            "valgrind is required for this test ({e}); install it (`.ci/run` does) or set \
             GOBRIDGE_SKIP_VALGRIND=1"
        ),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "valgrind reported errors or leaks ({}):\n{stderr}", out.status);
    assert!(stderr.contains("ERROR SUMMARY: 0 errors"), "{stderr}");
    assert!(
        stderr.contains("definitely lost: 0 bytes")
            || stderr.contains("All heap blocks were freed"),
        "{stderr}"
    );
}
