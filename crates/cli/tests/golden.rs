//! Golden outputs: every dump under `testdata/` rendered as text, dot and json
//! through the real binary, compared with `testdata/golden/`. Run with
//! `AST_LOCKS_BLESS=1` to rewrite the expectations after a deliberate change.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Files under `testdata/` that are not a dump on their own, with what covers them:
/// owner look-ups (joined below) and the header-only ast_coredumper locks file
/// (an error, tested in cli.rs).
const NOT_DUMPS: [&str; 7] = [
    "asterisk-22.0.0-s1-abba/gdb-mutex-x3dw.txt",
    "asterisk-18.0.0-s4-convoy/gdb-mutex-x3dw.txt",
    "asterisk-22.0.0-s1-abba/ast_coredumper-locks.txt",
    "locks-demo-glibc-2.36/gdb-owners.txt",
    "pastes-demo-glibc-2.36/gdb-owners.txt",
    "handmade/gdb-glibc-2.17-centos7-owners.txt",
    "handmade/gdb-glibc-2.28-debian10-owners.txt",
];

/// Inputs read together as one moment: (golden stem, arguments; paths are under `testdata/`).
const JOINED: [(&str, &[&str]); 10] = [
    (
        "pastes-demo-glibc-2.36/gdb-with-owners",
        &[
            "pastes-demo-glibc-2.36/gdb-thread-apply-all-bt.txt",
            "--owners",
            "pastes-demo-glibc-2.36/gdb-owners.txt",
        ],
    ),
    (
        "locks-demo-glibc-2.36/gdb-with-owners",
        &[
            "locks-demo-glibc-2.36/gdb-thread-apply-all-bt.txt",
            "--owners",
            "locks-demo-glibc-2.36/gdb-owners.txt",
        ],
    ),
    (
        "locks-demo-glibc-2.36/gdb-full-with-owners",
        &[
            "locks-demo-glibc-2.36/gdb-thread-apply-all-bt-full.txt",
            "locks-demo-glibc-2.36/gdb-owners.txt",
        ],
    ),
    (
        "handmade/gdb-glibc-2.17-centos7-with-owners",
        &[
            "handmade/gdb-glibc-2.17-centos7.txt",
            "--owners",
            "handmade/gdb-glibc-2.17-centos7-owners.txt",
        ],
    ),
    (
        "handmade/gdb-glibc-2.28-debian10-with-owners",
        &[
            "handmade/gdb-glibc-2.28-debian10.txt",
            "handmade/gdb-glibc-2.28-debian10-owners.txt",
        ],
    ),
    (
        "handmade/v12-task-wait-holder-with-gdb",
        &[
            "handmade/v12-task-wait-holder.txt",
            "handmade/gdb-glibc-2.31-task-wait.txt",
        ],
    ),
    (
        "asterisk-22.0.0-s1-abba/gdb-with-owners",
        &[
            "asterisk-22.0.0-s1-abba/gdb-thread-apply-all-bt.txt",
            "--owners",
            "asterisk-22.0.0-s1-abba/gdb-mutex-x3dw.txt",
        ],
    ),
    (
        "asterisk-22.0.0-s1-abba/core-show-locks-with-gdb",
        &[
            "asterisk-22.0.0-s1-abba/core-show-locks.txt",
            "asterisk-22.0.0-s1-abba/gdb-thread-apply-all-bt-full.txt",
        ],
    ),
    (
        "asterisk-18.0.0-s4-convoy/gdb-with-owners",
        &[
            "asterisk-18.0.0-s4-convoy/gdb-thread-apply-all-bt.txt",
            "asterisk-18.0.0-s4-convoy/gdb-mutex-x3dw.txt",
        ],
    ),
    (
        "asterisk-18.0.0-s4-convoy/core-show-locks-with-gdb",
        &[
            "asterisk-18.0.0-s4-convoy/core-show-locks.txt",
            "asterisk-18.0.0-s4-convoy/gdb-thread-apply-all-bt.txt",
        ],
    ),
];

/// Every input dump: `.txt` files under `testdata/`, except the golden outputs
/// and [`NOT_DUMPS`].
fn inputs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("testdata readable")
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "golden" && n != "refs") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|e| e == "txt") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("testdata"), &mut out);
    let skip: Vec<PathBuf> = NOT_DUMPS
        .iter()
        .map(|n| root().join("testdata").join(n))
        .collect();
    out.retain(|p| !skip.contains(p));
    out
}

/// Every golden case: each dump alone, then the joined cases, as
/// (golden stem under `testdata/golden/`, arguments from the workspace root).
fn cases() -> Vec<(PathBuf, Vec<String>)> {
    let mut out: Vec<(PathBuf, Vec<String>)> = inputs()
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root().join("testdata"))
                .expect("under testdata")
                .to_path_buf();
            let arg = format!("testdata/{}", rel.display());
            (rel.with_extension(""), vec![arg])
        })
        .collect();
    for (stem, args) in JOINED {
        let args = args
            .iter()
            .map(|a| {
                if a.starts_with('-') {
                    a.to_string()
                } else {
                    format!("testdata/{a}")
                }
            })
            .collect();
        out.push((PathBuf::from(stem), args));
    }
    out
}

/// The formats with golden files (`svg` is the built-in renderer's).
const FORMATS: [&str; 6] = ["text", "dot", "json", "svg", "markdown", "html"];

fn extension(format: &str) -> &str {
    match format {
        "markdown" => "md",
        f => f,
    }
}

fn run(rel: &Path, format: &str) -> (Vec<u8>, i32) {
    run_args(&[rel.display().to_string()], format)
}

fn run_args(args: &[String], format: &str) -> (Vec<u8>, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
        .current_dir(root())
        .args(["--color", "never", "-f", format])
        .args(args)
        .output()
        .expect("binary runs");
    (out.stdout, out.status.code().unwrap_or(-1))
}

#[test]
fn golden_outputs_for_every_testdata_dump() {
    let bless = std::env::var_os("AST_LOCKS_BLESS").is_some_and(|v| v != "0");
    let all = cases();
    assert!(
        all.len() >= 25,
        "expected the shipped dumps, found {}",
        all.len()
    );
    let mut failures = Vec::new();
    for (stem, args) in &all {
        for format in FORMATS {
            let (got, code) = run_args(args, format);
            assert!(matches!(code, 0 | 1 | 3), "{args:?}: exit {code}");
            let golden = root().join("testdata/golden").join(format!(
                "{}.{}",
                stem.display(),
                extension(format)
            ));
            if bless {
                std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
                std::fs::write(&golden, &got).expect("write golden");
                continue;
            }
            match std::fs::read(&golden) {
                Ok(want) if want == got => {}
                Ok(want) => failures.push(format!(
                    "{} differs from {}:\n--- want\n{}\n--- got\n{}",
                    format,
                    golden.display(),
                    String::from_utf8_lossy(&want),
                    String::from_utf8_lossy(&got)
                )),
                Err(_) => failures.push(format!(
                    "missing {} (run with AST_LOCKS_BLESS=1)",
                    golden.display()
                )),
            }
        }
        // Exit status and the JSON agree on whether there is a deadlock.
        let (json, code) = run_args(args, "json");
        let has_deadlock = !String::from_utf8_lossy(&json).contains("\"deadlocks\": []");
        assert_eq!(code == 1, has_deadlock, "{args:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn output_is_byte_identical_across_runs() {
    for (_, args) in cases() {
        for format in FORMATS {
            assert_eq!(run_args(&args, format), run_args(&args, format), "{args:?}");
        }
    }
}

/// Graphviz must accept the DOT of every dump with both `dot` and `circo`
/// (the README's `ast-locks dump.txt | circo -Tsvg` pipeline). CI installs graphviz.
#[test]
fn graphviz_renders_every_dot_output() {
    for tool in ["dot", "circo"] {
        let probe = Command::new(tool).arg("-V").output();
        assert!(
            probe.is_ok(),
            "`{tool}` is not installed: install Debian's graphviz package (apt-get install graphviz)"
        );
    }
    for (_, args) in cases() {
        let (dot, _) = run_args(&args, "dot");
        for tool in ["dot", "circo"] {
            let mut child = Command::new(tool)
                .arg("-Tsvg")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("graphviz starts");
            {
                use std::io::Write;
                let mut stdin = child.stdin.take().expect("stdin");
                stdin.write_all(&dot).expect("feed dot");
            }
            let out = child.wait_with_output().expect("graphviz ends");
            assert!(
                out.status.success(),
                "{tool} rejected the DOT of {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
            // Same graph as the DOT: one drawn node per DOT node statement.
            let dot_nodes = String::from_utf8_lossy(&dot)
                .lines()
                .filter(|l| l.trim_start().starts_with(['t', 'u', 'l']) && !l.contains(" -> "))
                .count();
            let svg_nodes = String::from_utf8_lossy(&out.stdout)
                .matches("class=\"node\"")
                .count();
            assert_eq!(dot_nodes, svg_nodes, "{tool} on {}", args.join(" "));
            assert!(
                out.stderr.is_empty(),
                "{tool} warned on {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The pictures in `examples/` (shown in the README) come from these DOT files;
/// they must stay what the tool prints today.
#[test]
fn examples_are_current_output() {
    let abba = "testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt";
    for (dump, format, file) in [
        (abba, "dot", "examples/abba-deadlock.dot"),
        (abba, "svg", "examples/abba-deadlock-builtin.svg"),
        (abba, "markdown", "examples/abba-deadlock.md"),
        (abba, "html", "examples/abba-deadlock.html"),
        (
            "testdata/asterisk-18.0.0-s4-convoy/core-show-locks.txt",
            "svg",
            "examples/convoy-18-builtin.svg",
        ),
        (
            "testdata/handmade/v21-convoy-stalled-holder.txt",
            "dot",
            "examples/convoy.dot",
        ),
    ] {
        let (got, _) = run(Path::new(dump), format);
        let want = std::fs::read(root().join(file)).expect("example present");
        assert!(
            got == want,
            "{file} is stale: regenerate it with `just examples`"
        );
    }
}

/// `--renderer graphviz` (the picture Graphviz draws) for every dump: valid SVG with the
/// deadlock drawn red, the same nodes as the built-in picture, for each layout.
#[test]
fn graphviz_renderer_svg_properties() {
    for (_, args) in cases() {
        let (builtin, _) = run_args(&args, "svg");
        let builtin = String::from_utf8_lossy(&builtin).into_owned();
        let builtin_nodes = builtin.matches("class=\"node ").count();
        let (json, _) = run_args(&args, "json");
        let deadlock = !String::from_utf8_lossy(&json).contains("\"deadlocks\": []");
        for layout in ["dot", "circo", "neato", "fdp"] {
            let out = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
                .current_dir(root())
                .args(["-f", "svg", "--renderer", "graphviz", "--layout", layout])
                .args(&args)
                .output()
                .expect("binary runs");
            let svg = String::from_utf8_lossy(&out.stdout);
            assert!(
                svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
                "{layout} {}",
                args.join(" ")
            );
            assert_eq!(
                svg.matches("class=\"node\"").count(),
                builtin_nodes,
                "{layout} {}",
                args.join(" ")
            );
            assert_eq!(
                svg.contains("stroke=\"red\""),
                deadlock,
                "{layout} {}",
                args.join(" ")
            );
            assert_eq!(
                builtin.contains("stroke=\"#ff0000ff\""),
                deadlock,
                "builtin {}",
                args.join(" ")
            );
        }
    }
}

/// Every `$ ast-locks …` example in the README and docs/ that reads files from
/// testdata/ (no pipe, redirection or capture) shows exactly what the tool prints.
/// `AST_LOCKS_BLESS=1` writes the real output into the pages.
#[test]
fn documented_examples_show_real_output() {
    let bless = std::env::var_os("AST_LOCKS_BLESS").is_some_and(|v| v != "0");
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    let mut checked = 0;
    let mut stale = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("page");
        let mut rewritten = String::with_capacity(text.len());
        let mut lines = text.lines().peekable();
        let mut in_console = false;
        while let Some(line) = lines.next() {
            rewritten.push_str(line);
            rewritten.push('\n');
            if line.starts_with("```") {
                in_console = line == "```console" && !in_console;
                continue;
            }
            if !in_console {
                continue;
            }
            let cmd = line
                .strip_prefix("$ ast-locks ")
                .or_else(|| line.strip_prefix("$ cargo run -q -- "));
            let Some(cmd) = cmd else { continue };
            let runnable = cmd.contains("testdata/")
                && !cmd.contains(['|', '>', '<'])
                && !cmd.contains("-o ")
                && !cmd.starts_with("capture")
                && !cmd.starts_with("gdb-commands");
            if !runnable {
                continue;
            }
            let mut shown = String::new();
            while let Some(next) = lines.peek() {
                if next.starts_with("$ ") || next.starts_with("```") {
                    break;
                }
                shown.push_str(next);
                shown.push('\n');
                lines.next();
            }
            let args: Vec<&str> = cmd.split_whitespace().collect();
            let out = Command::new(env!("CARGO_BIN_EXE_ast-locks"))
                .current_dir(root())
                .args(&args)
                .output()
                .expect("binary runs");
            let real = String::from_utf8_lossy(&out.stdout);
            rewritten.push_str(&real);
            if shown != real {
                stale.push(format!(
                    "{}: `ast-locks {cmd}`\n--- shown\n{shown}--- real\n{real}",
                    page.display()
                ));
            }
            checked += 1;
        }
        if bless && rewritten != text {
            std::fs::write(&page, rewritten).expect("write page");
        }
    }
    assert!(checked >= 5, "only {checked} documented examples found");
    assert!(
        bless || stale.is_empty(),
        "documented output differs from the real one (AST_LOCKS_BLESS=1 rewrites it):\n{}",
        stale.join("\n")
    );
}
