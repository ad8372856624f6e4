# Run every test (unit, golden, CLI, property tests)
test:
    cargo test --workspace

# Lint: clippy with warnings as errors, and formatting
lint:
    cargo clippy --workspace --all-targets -- -D warnings
    cargo fmt --all -- --check

# Rewrite the golden outputs in testdata/golden/ and the outputs shown in README.md and docs/ after a deliberate change (review the diff)
bless:
    AST_LOCKS_BLESS=1 cargo test -p ast-locks --test golden -- golden_outputs_for_every_testdata_dump documented_examples_show_real_output

# Benchmark lock dumps (synthetic 1k, 10k, 100k threads) and refs logs (100 MB, 500 MB, 2 GB; REFCOUNTER=path/to/refcounter.py to compare): tables for docs/performance.md
bench:
    cargo bench -p ast-locks --bench pipeline
    cargo bench -p ast-locks --bench refs

# Coverage-guided fuzzing of every parser and the whole pipeline (needs `cargo install cargo-fuzz`; SECS per target)
fuzz SECS="300":
    mkdir -p fuzz/corpus/pipeline && find testdata -name '*.txt' -not -path '*/golden/*' -exec cp {} fuzz/corpus/pipeline/ \;
    for t in parse_core_show_locks parse_gdb parse_coredumper parse_owners; do mkdir -p fuzz/corpus/$t && cp fuzz/corpus/pipeline/* fuzz/corpus/$t/; done
    mkdir -p fuzz/corpus/refs && for d in testdata/refs/*/*/; do head -c 60000 $d/refs > fuzz/corpus/refs/$(basename $d); done
    for t in parse_core_show_locks parse_gdb parse_coredumper parse_owners pipeline refs; do (cd fuzz && cargo fuzz run -O -s none $t -- -max_total_time={{SECS}} -max_len=65536 -print_final_stats=1); done

# The property tests at 100x their usual case count
proptest-deep:
    PROPTEST_CASES=100000 cargo test --release -p ast-locks-parse --test roundtrip
    PROPTEST_CASES=200000 cargo test --release -p ast-locks-analysis

# Regenerate examples/ and docs/images/ (needs Graphviz and rsvg-convert for the PNGs; a deadlock's exit status 1 is expected)
examples:
    cargo build -q --workspace
    -./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock.dot
    circo -Tsvg examples/abba-deadlock.dot > examples/abba-deadlock.svg
    circo -Tpng examples/abba-deadlock.dot > examples/abba-deadlock.png
    -./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock-builtin.svg
    rsvg-convert examples/abba-deadlock-builtin.svg -o examples/abba-deadlock-builtin.png
    -./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock.md
    -./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock.html
    -./target/debug/ast-locks testdata/asterisk-18.0.0-s4-convoy/core-show-locks.txt -o examples/convoy-18-builtin.svg
    rsvg-convert examples/convoy-18-builtin.svg -o examples/convoy-18-builtin.png
    -./target/debug/ast-locks testdata/handmade/v21-convoy-stalled-holder.txt -o examples/convoy.dot
    dot -Tpng examples/convoy.dot > examples/convoy.png
    ./target/debug/ast-locks-synth 1000 2,3 6 7 | ./target/debug/ast-locks -o docs/images/synthetic-1000.svg || true
    rsvg-convert docs/images/synthetic-1000.svg -o docs/images/synthetic-1000.png

# What CI runs
ci:
    bash .ci/run

# Browser checks: mermaid in the Markdown reports, the HTML reports in headless Chromium
browser:
    cd tests/browser && npm ci --no-audit --no-fund && node check.mjs

# Packages for machines without Rust in target/dist/: a .deb (man pages, completions) and a stripped tarball with its glibc floor
dist:
    scripts/dist
