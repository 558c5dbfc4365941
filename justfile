# engine: `just --list` shows every recipe. On a fresh machine use `./dev <recipe>`,
# which installs `just` first.

set shell := ["bash", "-euo", "pipefail", "-c"]

# One target dir for every run on this machine, so a one-line change does not
# rebuild wasmtime and the AWS SDK.
export CARGO_TARGET_DIR := env("CARGO_TARGET_DIR", home_directory() / ".cache/engine/target")
engine := CARGO_TARGET_DIR / "debug/engine"
# Guest (wasm32) builds too: std is compiled from source once, not on every run.
export ENGINE_GUEST_TARGET_DIR := env("ENGINE_GUEST_TARGET_DIR", home_directory() / ".cache/engine/guests")

# Show the recipes.
default:
    @just --list

# Install what builds and tests need (idempotent): the wasm32 toolchain, moto, tmux,
# and (optional) componentize-py and ComponentizeJS for the other-language examples.
setup:
    scripts/setup

# Build the engine binary.
build:
    cargo build -p engine

# Build the plugin crates into components: plugins/<name>.wasm and policies/<name>.wasm.
plugins: build
    {{engine}} build plugins
    {{engine}} build policies

# Run every test: unit, sandbox, plugins, state, providers, policies, end to end,
# and the guest SDK's and the baseline policy's own tests and doc examples (on the host).
test: setup
    cargo test --workspace --no-fail-fast
    cd plugins && cargo test
    cd policies && cargo test
    cd tests/guests && cargo test -p generator
    python3 -m unittest discover -s tests/moto -p 'test_*.py' -v
    python3 -m unittest discover -s tests/schema -p 'test_*.py' -v

# Guest SDK API docs (warnings are errors).
doc:
    cd plugins && RUSTDOCFLAGS="-D warnings" cargo doc -p engine-sdk --no-deps

# Formatting and lints, as CI would judge them.
lint:
    cargo fmt --all -- --check
    cd plugins && cargo fmt --all -- --check
    cd policies && cargo fmt --all -- --check
    cd tests/guests && cargo fmt --all -- --check
    cd tests/policy-guests && cargo fmt --all -- --check
    cd host/runtime/guests && cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# The main job: build everything and deploy JapanCart (to the local AWS emulator
# unless AWS credentials or AWS_ENDPOINT_URL are set), then print its outputs.
up: setup plugins
    scripts/up

# Destroy what `up` deployed and stop the emulator it started.
down: build
    scripts/down

# Plan the stack in plugins/ (its only AWS calls read the region's zones; no change is made).
plan *ARGS: plugins
    {{engine}} plan plugins/*.wasm {{ARGS}}

# Benchmarks (release build): regenerates every table of BENCHMARKS.md, each bench
# its own section (plugin load, plan at scale beside Terraform, apply and refresh).
bench: setup
    cargo bench -p engine-runtime --bench plugins -- --write BENCHMARKS.md
    cargo bench -p engine --bench scale -- --write BENCHMARKS.md
    cargo bench -p engine --bench apply -- --write BENCHMARKS.md
