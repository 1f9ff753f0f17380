//! The unsafe map stays true: the crate is `#![deny(unsafe_code)]`, a module that needs
//! `unsafe` has `#[allow(unsafe_code)]` on its `mod` line, every other leaf file is
//! `#![forbid(unsafe_code)]`, and the "Unsafe code" table of the crate docs (src/lib.rs)
//! lists exactly the allowed modules. (The compiler enforces the attributes; this test keeps
//! the table and the attributes in step.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `mod` declarations of a module file: (name, allowed to use unsafe).
fn child_modules(source: &str) -> Vec<(String, bool)> {
    let mut children = Vec::new();
    let mut allow = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[allow(unsafe_code)]") {
            allow = true;
        } else if line.starts_with("#[") {
            // other attributes between the allow and the `mod` line
        } else if let Some(name) = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("pub(crate) mod "))
            .or_else(|| line.strip_prefix("mod "))
            .and_then(|rest| rest.strip_suffix(';'))
        {
            children.push((name.to_owned(), allow));
            allow = false;
        } else {
            allow = false;
        }
    }
    children
}

fn module_file(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let flat = dir.join(format!("{name}.rs"));
    if flat.exists() {
        (flat, dir.join(name))
    } else {
        (dir.join(name).join("mod.rs"), dir.join(name))
    }
}

/// Walks the module tree; returns the allowed module paths and the leaf files lacking a forbid.
fn walk(
    file: &Path,
    dir: &Path,
    path: &str,
    allowed: &mut BTreeSet<String>,
    unforbidden: &mut Vec<String>,
) {
    let source =
        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let children = child_modules(&source);
    if children.is_empty() && !source.contains("#![forbid(unsafe_code)]") {
        unforbidden.push(file.display().to_string());
    }
    for (name, allow) in children {
        let child_path = if path.is_empty() { name.clone() } else { format!("{path}::{name}") };
        if allow {
            allowed.insert(child_path);
            continue; // the whole subtree may use unsafe
        }
        let (child_file, child_dir) = module_file(dir, &name);
        if child_file.exists() {
            walk(&child_file, &child_dir, &child_path, allowed, unforbidden);
        }
    }
}

#[test]
fn unsafe_table_matches_the_allowed_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(lib.contains("#![deny(unsafe_code)]"), "src/lib.rs must deny unsafe_code");

    let (mut allowed, mut unforbidden) = (BTreeSet::new(), Vec::new());
    walk(&src.join("lib.rs"), &src, "", &mut allowed, &mut unforbidden);
    assert!(unforbidden.is_empty(), "leaf files without #![forbid(unsafe_code)]: {unforbidden:?}");

    let section = lib.split("//! # Unsafe code").nth(1).expect("an `# Unsafe code` section");
    let mut listed = BTreeSet::new();
    for row in section.lines().filter_map(|l| l.strip_prefix("//! | ")) {
        let first_column = row.split(" | ").next().unwrap_or("");
        listed.extend(first_column.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    listed.remove("Module");
    assert_eq!(
        listed, allowed,
        "the crate docs' unsafe table vs the #[allow(unsafe_code)] modules"
    );
}
