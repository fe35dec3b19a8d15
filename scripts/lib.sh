# Shared by the scripts: install what is missing, quietly and only once.
# Debian packages are installed with apt-get (as root, after apt-get update).

# need_cmd COMMAND DEBIAN_PACKAGE: installs the package if the command is missing.
need_cmd() {
  local cmd=$1 pkg=$2
  command -v "$cmd" >/dev/null 2>&1 && return 0
  echo "==> installing $pkg (for $cmd)"
  apt_install "$pkg"
  command -v "$cmd" >/dev/null 2>&1 || { echo "error: installing $pkg did not bring $cmd" >&2; exit 1; }
}

# need_rust: cargo with rustfmt and clippy.
need_rust() {
  command -v cargo >/dev/null 2>&1 || {
    echo "error: cargo is missing: install Rust from your distribution or with rustup" >&2
    exit 1
  }
  # jemalloc (vinpath's allocator) is built from C with make.
  need_cmd cc build-essential
  need_cmd make build-essential
  if command -v rustup >/dev/null 2>&1; then
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
  fi
}

# need_s3s_fs: the S3-compatible server the clip tests run (checks signatures).
need_s3s_fs() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v s3s-fs >/dev/null 2>&1 && return 0
  echo "==> installing s3s-fs (an S3 server for the tests; a few minutes, once)"
  cargo install --locked --quiet s3s-fs --version 0.14.1 --features binary
}

# need_pkg PACKAGE: installs a Debian package that brings no command (fonts).
need_pkg() {
  dpkg -s "$1" >/dev/null 2>&1 && return 0
  echo "==> installing $1"
  apt_install "$1"
}

# apt_install PACKAGE: apt-get install as root (sudo otherwise), after one
# apt-get update per run.
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: $1 is missing and I am not root: install it" >&2; exit 1; }
    sudo="sudo"
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}

# need_test_python: a Python of the tests' own (target/py) with the
# reference Standard Webhooks library (the webhook receiver), schemathesis
# and openapi-spec-validator (the API document).
need_test_python() {
  need_cmd python3 python3
  if [ ! -x target/py/bin/python3 ]; then
    python3 -m venv target/py 2>/dev/null || { apt_install python3-venv; python3 -m venv target/py; }
  fi
  target/py/bin/python3 -c 'import standardwebhooks, schemathesis, openapi_spec_validator' 2>/dev/null && return 0
  echo "==> installing standardwebhooks, schemathesis and openapi-spec-validator (PyPI) for the tests"
  target/py/bin/pip install --quiet --disable-pip-version-check \
    'standardwebhooks==1.0.0' 'schemathesis==4.32.5' 'openapi-spec-validator==0.9.0'
}
