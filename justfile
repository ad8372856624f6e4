# Run every test (unit, golden, CLI, property tests)
test:
    cargo test --workspace

# Lint: clippy with warnings as errors, and formatting
lint:
    cargo clippy --workspace --all-targets -- -D warnings
    cargo fmt --all -- --check

# Rewrite the golden outputs in testdata/golden/ after a deliberate change (review the diff)
bless:
    AST_LOCKS_BLESS=1 cargo test -p ast-locks --test golden golden_outputs_for_every_testdata_dump

# Benchmark parse, analysis and rendering on synthetic 1k and 10k-thread dumps
bench:
    cargo bench -p ast-locks --bench pipeline

# Randomised testing at depth: the property tests with 100x their usual case count
fuzz:
    PROPTEST_CASES=100000 cargo test --release -p ast-locks-parse --test roundtrip
    PROPTEST_CASES=200000 cargo test --release -p ast-locks-analysis deadlocks_are_exactly_the_cycles

# Regenerate examples/ and docs/images/ (needs Graphviz and rsvg-convert for the PNGs)
examples:
    cargo build -q
    ./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock.dot
    circo -Tsvg examples/abba-deadlock.dot > examples/abba-deadlock.svg
    circo -Tpng examples/abba-deadlock.dot > examples/abba-deadlock.png
    ./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock-builtin.svg
    rsvg-convert examples/abba-deadlock-builtin.svg -o examples/abba-deadlock-builtin.png
    ./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock.md
    ./target/debug/ast-locks testdata/asterisk-22.0.0-s1-abba/core-show-locks.txt -o examples/abba-deadlock.html
    ./target/debug/ast-locks testdata/asterisk-18.0.0-s4-convoy/core-show-locks.txt -o examples/convoy-18-builtin.svg
    rsvg-convert examples/convoy-18-builtin.svg -o examples/convoy-18-builtin.png
    ./target/debug/ast-locks testdata/handmade/v21-convoy-stalled-holder.txt -o examples/convoy.dot
    dot -Tpng examples/convoy.dot > examples/convoy.png
    ./target/debug/ast-locks-synth 1000 2,3 6 7 | ./target/debug/ast-locks -o docs/images/synthetic-1000.svg || true
    rsvg-convert docs/images/synthetic-1000.svg -o docs/images/synthetic-1000.png

# What CI runs
ci:
    bash .ci/run

# Browser checks: mermaid in the Markdown reports, the HTML reports in headless Chromium
browser:
    cd tests/browser && npm ci --no-audit --no-fund && node check.mjs
