//! Builds the kernel judge: the purgatory part of the patched tree's
//! `kernel/kexec_file.c` (from `#ifdef CONFIG_ARCH_SUPPORTS_KEXEC_PURGATORY`
//! to its `#endif`, the end of the file), with the tree's own structs and
//! constants it needs, compiled against `kernel-judge/shim.h` in one unit
//! with the harness `kernel-judge/judge.c`.
//!
//! `PURGATORY_KERNEL_SRC` names the tree (`cargo xtask kernel` makes
//! `target/kernel/src`; `cargo xtask test` and `cargo xtask fuzz` set it).
//! When it is set, the tree must have what is needed, or the build fails.
//! When it is unset, `kernel-judge/absent.c` is built instead and the judge
//! reports itself unavailable.
//!
//! The extracted code is GPL-2.0-only: it is compiled into this crate's test
//! and fuzz binaries, which are not distributed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const TREE_VAR: &str = "PURGATORY_KERNEL_SRC";
/// The configuration the `kexec-file-*` kernels have.
const CONFIG: [&str; 2] = [
    "CONFIG_ARCH_SUPPORTS_KEXEC_PURGATORY",
    "CONFIG_KEXEC_PURGATORY_TEST_FILE",
];
const SECTION_START: &str = "#ifdef CONFIG_ARCH_SUPPORTS_KEXEC_PURGATORY";
const SECTION_END: &str = "#endif /* CONFIG_ARCH_SUPPORTS_KEXEC_PURGATORY */";

fn main() {
    let here = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let harness = here.join("kernel-judge");
    println!("cargo:rerun-if-env-changed={TREE_VAR}");
    println!("cargo:rerun-if-changed={}", harness.display());
    let out = PathBuf::from(env("OUT_DIR"));
    let Some(tree) = std::env::var_os(TREE_VAR).filter(|v| !v.is_empty()) else {
        cc::Build::new()
            .file(harness.join("absent.c"))
            .compile("kjudge");
        std::fs::write(out.join("refusals.rs"), "&[]").expect("writing refusals.rs");
        println!("cargo:rustc-env=KJUDGE_TREE=");
        return;
    };
    // A relative path is the repository's (the fuzz workspace shares it).
    let tree = here.join("../..").join(tree);
    let unit = Unit::extract(&tree);
    let source = out.join("kexec_purgatory_judge.c");
    std::fs::write(&source, &unit.text).expect("writing the judge's source");
    std::fs::write(out.join("refusals.rs"), unit.refusals()).expect("writing refusals.rs");
    compile(&source, &harness, &tree);
    println!("cargo:rustc-env=KJUDGE_TREE={}", tree.display());
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"))
}

/// Kernel-like code generation: no SSE, no strict aliasing, wrapping
/// overflow, null checks kept, as Kbuild compiles the kernel.
fn compile(source: &Path, harness: &Path, tree: &Path) {
    let mut build = cc::Build::new();
    build
        .file(source)
        .include(harness)
        .include(tree.join("include/uapi"))
        .include(tree.join("arch/x86/include/uapi"))
        .define("__EXPORTED_HEADERS__", None)
        .flag("-std=gnu11")
        .flag("-mgeneral-regs-only")
        .flag("-fno-strict-aliasing")
        .flag("-fno-strict-overflow")
        .flag("-fno-delete-null-pointer-checks")
        .flag("-Wall")
        .flag("-Wextra")
        // Kbuild's: the kernel compares signed and unsigned freely.
        .flag("-Wno-sign-compare")
        .warnings_into_errors(true);
    for option in CONFIG {
        build.define(option, None);
    }
    // Under cargo fuzz: comparisons guide libFuzzer through the C too.
    if std::env::var("CARGO_CFG_SANITIZE").is_ok_and(|s| !s.is_empty()) {
        build.flag("-fsanitize-coverage=trace-cmp");
    }
    build.compile("kjudge");
}

/// One source file of the tree, read once.
struct TreeFile {
    path: PathBuf,
    text: String,
}

impl TreeFile {
    fn read(tree: &Path, relative: &str) -> Self {
        let path = tree.join(relative);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{TREE_VAR}: cannot read {} ({e}); `cargo xtask kernel` prepares the patched tree",
                path.display()
            )
        });
        Self { path, text }
    }

    /// Lines `first..=last` (1-based first), where `first` is the only line
    /// equal to `start` and `last` the first line after it equal to `end`,
    /// with a `#line` directive so that messages and `__LINE__` are the
    /// file's.
    fn block(&self, start: &str, end: &str) -> (usize, String) {
        let lines: Vec<&str> = self.text.lines().collect();
        let starts: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == start).collect();
        let [first] = starts[..] else {
            panic!(
                "{}: expected one line `{start}`, found {}",
                self.path.display(),
                starts.len()
            );
        };
        let Some(last) = (first..lines.len()).find(|&i| lines[i] == end) else {
            panic!("{}: no `{end}` after `{start}`", self.path.display());
        };
        let mut text = format!("#line {} \"{}\"\n", first + 1, self.path.display());
        for line in &lines[first..=last] {
            text.push_str(line);
            text.push('\n');
        }
        (first + 1, text)
    }

    /// `struct name { … };`
    fn struct_definition(&self, name: &str) -> String {
        self.block(&format!("struct {name} {{"), "};").1
    }

    /// The one-line `#define name …`.
    fn define(&self, name: &str) -> String {
        let prefix = format!("#define {name}");
        let found: Vec<(usize, &str)> = self
            .text
            .lines()
            .enumerate()
            .filter(|(_, l)| {
                l.strip_prefix(&prefix)
                    .is_some_and(|r| r.starts_with([' ', '\t']))
            })
            .collect();
        let [(index, line)] = found[..] else {
            panic!("{}: expected one `{prefix}`", self.path.display());
        };
        format!("#line {} \"{}\"\n{line}\n", index + 1, self.path.display())
    }
}

/// The translation unit, and where its kernel messages are.
struct Unit {
    text: String,
    /// The first line of the purgatory section in `kexec_file.c`.
    section_line: usize,
    section: String,
}

impl Unit {
    fn extract(tree: &Path) -> Self {
        let kexec_file = TreeFile::read(tree, "kernel/kexec_file.c");
        let kexec_h = TreeFile::read(tree, "include/linux/kexec.h");
        let purgatory_h = TreeFile::read(tree, "include/linux/purgatory.h");
        let uapi_kexec_h = TreeFile::read(tree, "include/uapi/linux/kexec.h");
        let x86_kexec_h = TreeFile::read(tree, "arch/x86/include/asm/kexec.h");
        let sha2_h = TreeFile::read(tree, "include/crypto/sha2.h");
        let (section_line, section) = kexec_file.block(SECTION_START, SECTION_END);
        let mut text = String::from("#include \"shim.h\"\n");
        for piece in [
            uapi_kexec_h.define("KEXEC_SEGMENT_MAX"),
            sha2_h.define("SHA256_DIGEST_SIZE"),
            kexec_file.define("KEXEC_FILE_SIZE_MAX"),
            purgatory_h.struct_definition("kexec_sha_region"),
            kexec_h.struct_definition("purgatory_info"),
            kexec_h.struct_definition("kexec_buf"),
            x86_kexec_h.struct_definition("kexec_entry64_regs"),
            "#include \"kimage.h\"\n".to_owned(),
            section.clone(),
            "#include \"judge.c\"\n".to_owned(),
        ] {
            text.push_str(&piece);
        }
        Self {
            text,
            section_line,
            section,
        }
    }

    /// Rust source: every `pr_err` of the section, as `(line, function,
    /// format)`, for the test that each refusal is reached.
    fn refusals(&self) -> String {
        let mut out = String::from("&[\n");
        let mut function = "";
        let lines: Vec<&str> = self.section.lines().skip(1).collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(name) = function_name(line) {
                function = name;
            }
            if !line.contains("pr_err(") {
                continue;
            }
            let rest = lines[i..].join("\n");
            let literal = string_literal(&rest[rest.find("pr_err(").unwrap_or(0)..]);
            let format = literal.strip_suffix("\\n").unwrap_or(&literal);
            let _ = writeln!(
                out,
                "    ({}, {function:?}, {format:?}),",
                self.section_line + i
            );
        }
        out.push(']');
        out
    }
}

/// The name a function definition starts with, on a line at column 0.
fn function_name(line: &str) -> Option<&str> {
    if !line.starts_with(|c: char| c.is_ascii_alphabetic()) || line.ends_with(';') {
        return None;
    }
    let head = &line[..line.find('(')?];
    head.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .filter(|name| !name.is_empty())
}

/// The first C string literal in `text`, escapes kept as written.
fn string_literal(text: &str) -> String {
    let Some(start) = text.find('"') else {
        return String::new();
    };
    let mut literal = String::new();
    let mut chars = text[start + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => {
                literal.push(c);
                literal.extend(chars.next());
            }
            _ => literal.push(c),
        }
    }
    literal
}
