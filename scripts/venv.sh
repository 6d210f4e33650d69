# Sourced by scripts/demo and scripts/test: make .venv hold what requirements/$1 asks for.
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
