//! `include/gobridge.h` is generated from the crate by cbindgen and checked in; this test fails
//! when it is stale. Regenerate with `UPDATE_HEADER=1 cargo test --test header`.

use std::path::Path;

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/gobridge.h");
    let fresh = generate();
    if std::env::var_os("UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/gobridge.h");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != fresh {
        let first = checked_in
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| checked_in.lines().count().min(fresh.lines().count()));
        panic!(
            "include/gobridge.h is stale (first difference at line {}): run \
             `UPDATE_HEADER=1 cargo test --test header` and commit the result",
            first + 1
        );
    }
}

#[test]
fn header_declares_the_core_abi() {
    let h = generate();
    for unwanted in ["#if defined(GOBRIDGE_CAPI)", "#define Gobridge", "_ALIGN"] {
        assert!(!h.contains(unwanted), "header contains `{unwanted}`");
    }
    for item in [
        "uint32_t gobridge_abi_version(void)",
        "const struct GobridgeTypeLayout *gobridge_type_layouts(size_t *count)",
        "typedef struct GobridgeStatus",
        "typedef struct GobridgeOwnedBuf",
        "typedef struct GobridgeForeignSlice_u8",
        "typedef struct GobridgeForeignSliceMut_u8",
        "#define GOBRIDGE_OK 0",
        "#define GOBRIDGE_ABI_VERSION 1",
        "#define GOBRIDGE_E_STALE_HANDLE 6",
    ] {
        assert!(h.contains(item), "header lacks `{item}`");
    }
}

#[test]
fn header_defines_every_error_code_of_the_rust_table() {
    let h = generate();
    assert!(h.contains("#define GOBRIDGE_OK 0\n"), "header lacks GOBRIDGE_OK");
    for (name, code) in gobridge::codes::all() {
        let define = format!("#define {name} {code}\n");
        assert!(h.contains(&define), "header lacks `{}`", define.trim_end());
    }
}

#[test]
fn harness_probes_are_declared_only_under_gobridge_harness() {
    let h = generate();
    for probe in [
        "gobridge_sum(",
        "gobridge_fill(",
        "gobridge_bench_noop(",
        "gobridge_bench_noop_guarded(",
        "gobridge_sleep_interruptible(",
    ] {
        let at = h.find(probe).unwrap_or_else(|| panic!("header lacks {probe}"));
        let guard = h[..at].rfind("#if defined(GOBRIDGE_HARNESS)").map(|g| &h[g..at]);
        assert!(
            guard.is_some_and(|between| !between.contains("#endif")),
            "{probe} is declared outside `#if defined(GOBRIDGE_HARNESS)`"
        );
    }
    assert!(h.contains("int32_t gobridge_pool_submit_sleep("), "product ABI");
}
