#!/usr/bin/env bash
# Builds the Python sdist of dist/ from scratch (fresh venv, empty cargo target
# directory, pip's isolated build with maturin from PyPI) and uses the result: the
# check that the sdist holds everything a build needs. Slow (a full release build),
# so not part of `make test`; run by `make test-sdist`.
#
#   bash scripts/test_sdist.sh DIST
set -euo pipefail
dist=$(cd "${1:?usage: $0 DIST}" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$(dirname "$0")/../Cargo.toml" | head -1)
sdist="$dist/libcce-$version.tar.gz"
[ -f "$sdist" ] || { echo "test-sdist: no $sdist (run make dist)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --upgrade pip
echo "test-sdist: building $(basename "$sdist") from scratch"
start=$SECONDS
CARGO_TARGET_DIR="$work/target" "$work/venv/bin/pip" install -q --no-cache-dir "$sdist"
echo "test-sdist: built and installed in $((SECONDS - start)) s"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import libcce

with libcce.Simulator() as sim:
    with libcce.CtiSession.open(address=sim.address, client_id="sdist", agent_id="1001",
                                peripheral_id=5000) as s:
        assert s.open_conf["MessageName"] == "OPEN_CONF", s.open_conf
print("test-sdist: the wheel built from the sdist opens a CTI session")
PY
