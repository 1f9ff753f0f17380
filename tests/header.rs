//! `include/gobridge.h` is generated from the crate by cbindgen and checked in; this test fails
//! when it is stale. Regenerate with `UPDATE_HEADER=1 cargo test --test header`.

use std::path::Path;

/// The header's opening comment: the first paragraph and the `# Conventions` section of the
/// docs of `src/capi/mod.rs`, the one place the C ABI's conventions are written.
fn preamble(capi_docs: &str) -> String {
    let docs = capi_docs
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l));
    let mut lines: Vec<&str> = Vec::new();
    let mut section = "intro";
    for line in docs {
        if let Some(heading) = line.strip_prefix("# ") {
            section = heading;
            if heading == "Conventions" {
                lines.push(heading);
            }
        } else if section == "intro" || section == "Conventions" {
            lines.push(line);
        }
    }
    let paragraph_ends = lines.iter().position(|l| l.is_empty()).unwrap_or(lines.len());
    let conventions = lines.iter().position(|l| *l == "Conventions").expect("# Conventions");
    lines.drain(paragraph_ends..conventions);
    lines.insert(paragraph_ends, "");
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    assert!(lines.iter().all(|l| !l.contains("*/")), "`*/` would end the header's comment");
    let mut out = String::from("/*\n");
    for line in lines {
        out += if line.is_empty() { " *\n" } else { " * " };
        if !line.is_empty() {
            out += line;
            out += "\n";
        }
    }
    out + " */"
}

fn generate() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let capi_docs = std::fs::read_to_string(root.join("src/capi/mod.rs")).expect("src/capi/mod.rs");
    config.header = Some(preamble(&capi_docs));
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
