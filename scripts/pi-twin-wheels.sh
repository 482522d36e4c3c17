#!/usr/bin/env bash
# The Pi twin's wheelhouse: every Python package Reflect installs, as aarch64 wheels for the
# Pi's Python 3.11, plus what building Reflect's own wheel needs, plus the test tools the arm64
# hermetic sample runs with (ARM64_TEST_TOOLS, written to test-tools.txt for tests/twin/test_arm64_hermetic.py).
# systemd/install.sh takes them offline (--wheelhouse). Kept in DIR (default /var/cache/reflect-pi-twin-wheels) and
# made again when pyproject.toml's dependencies change.
#   scripts/pi-twin-wheels.sh [DIR]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-/var/cache/reflect-pi-twin-wheels}
PY=${PYTHON:-python3}

ARM64_TEST_TOOLS="pytest hypothesis scipy pytest-xdist selenium"  # the last two: the whole tier imports them
requirements() {  # pyproject.toml's requirements: "all" for the wheelhouse, "tools" for the test tools alone
  "$PY" - "$REPO/pyproject.toml" "$1" $ARM64_TEST_TOOLS <<'EOF'
import re, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))
tools = [r for r in project["project"]["optional-dependencies"]["test"] if re.split("[=<>]", r)[0] in sys.argv[3:]]
device = project["project"]["dependencies"] + project["build-system"]["requires"] + ["wheel"]
print("\n".join(tools if sys.argv[2] == "tools" else device + tools))
EOF
}
deps=$(requirements all)
key=$(printf '%s\n' "$deps" | sha256sum | cut -c1-16)
[[ $(cat "$DIR/.complete" 2>/dev/null) == "$key" ]] && exit 0

rm -rf "$DIR.new"
mkdir -p "$DIR.new"
# srt (vosk's dependency) is published as source only: its pure-Python wheel is built here.
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$DIR.new" srt
mapfile -t reqs <<<"$deps"
"$PY" -m pip download --quiet --dest "$DIR.new" --find-links "$DIR.new" --only-binary=:all: \
    --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 \
    --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none "${reqs[@]}"
requirements tools >"$DIR.new/test-tools.txt"
echo "$key" >"$DIR.new/.complete"
rm -rf "$DIR"
mv "$DIR.new" "$DIR"
echo "pi twin wheels ready: $DIR"
