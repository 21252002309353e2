# signup-gateway tasks. `just` lists them.

# List the recipes
default:
    @just --list

# Serve on 127.0.0.1:8080 with the embedded SQLite store (no setup needed)
run *ARGS:
    cargo run --release -p gateway -- {{ARGS}}

# Format check, clippy -D warnings, then every test and doc test (PostgreSQL too when TEST_POSTGRES_URL is set)
test: lint
    cargo test --workspace --no-fail-fast

# cargo fmt --check and clippy on every target
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Install the FastAPI reference the Infera differential test compares with (then export INFERA_REFERENCE_PYTHON=$PWD/target/fastapi-ref/bin/python)
reference:
    test -x target/fastapi-ref/bin/python || python3 -m venv target/fastapi-ref
    target/fastapi-ref/bin/pip install --quiet --disable-pip-version-check -r crates/infera-api/tests/reference/requirements.txt

# Format the code
fmt:
    cargo fmt --all

# Release build under load (wrk): sign-ups/s, p50/p99, peak RSS, raw argon2 rate, 400 path vs bare Actix; SQLite and PostgreSQL
bench:
    bash crates/bench/scripts/run.sh

# Apply the migrations to the configured database
migrate:
    cargo run --release -p gateway -- migrate

# Start a local PostgreSQL cluster if it is down (Debian layout)
db-up:
    pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start
