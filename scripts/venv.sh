# Sourced by scripts/demo, scripts/test and scripts/bench.

find_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL and Redis for the tests and benchmarks: installed with apt-get
# (after apt-get update) when missing.
ensure_servers() {
  local missing=() sudo=""
  [ -x "$(find_pg_bin)/initdb" ] || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "Installing ${missing[*]} with apt-get..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Chromium for the browser tests (tests/browser): Debian's package, driven by
# Playwright (whose own browser download does not work offline).
ensure_browser() {
  [ -x /usr/bin/chromium ] && return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "Installing chromium with apt-get..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

# Make .venv hold what requirements/$1 asks for.
# Re-installs only when the requirement files change (a stamp of their hash).
ensure_venv() {
  local reqs="requirements/$1"
  local py=${PYTHON:-python3.11}
  command -v "$py" >/dev/null || py=python3
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  local hash stamp
  hash=$({ cat requirements/*.txt pyproject.toml examples/*/pyproject.toml 2>/dev/null || true; } | sha256sum | cut -c1-16)
  stamp=".venv/.installed-$hash-$1"
  # dev.txt includes base.txt: a venv installed for the tests also serves the demo.
  [ "$1" = base.txt ] && [ -f ".venv/.installed-$hash-dev.txt" ] && return 0
  if [ ! -f "$stamp" ]; then
    echo "Installing Python packages ($reqs)..."
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r "$reqs"
    .venv/bin/python -m pip install -q --no-deps -e .
    # Example third-party plugins (their own packages): the tests use them.
    if [ "$1" = dev.txt ]; then
      for example in examples/*/; do
        .venv/bin/python -m pip install -q --no-deps -e "$example"
      done
    fi
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}
