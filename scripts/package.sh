#!/usr/bin/env bash
# Builds the three Lambda deployment zips for arm64 (Graviton, provided.al2023) the
# way `sam build` builds them (cargo lambda, release profile, aarch64 through zig),
# in the workspace's target dir (or $CARGO_TARGET_DIR), checks that each zip holds
# an aarch64 `bootstrap` executable, and prints each zip's size and the build time.
# Needs `scripts/setup.sh` (cargo-lambda and ziglang in .venv, the aarch64 target).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"

FUNCTIONS=(scraper alarm-handler scaler)
packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(--package "$f"); done

echo "== cargo lambda build --release --arm64 (${FUNCTIONS[*]})"
started=$(date +%s)
# One build for the three, so shared dependencies are compiled once.
cargo lambda build --release --arm64 --output-format zip --locked "${packages[@]}"
elapsed=$(($(date +%s) - started))

TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

python3 - "$TARGET_DIR/lambda" "$elapsed" "${FUNCTIONS[@]}" <<'PY'
import os, stat, sys, zipfile

lambda_dir, elapsed, functions = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ok = True
print(f"{'function':<14} {'zip bytes':>11} {'zip MiB':>8} {'bootstrap MiB':>14}")
for name in functions:
    path = os.path.join(lambda_dir, name, "bootstrap.zip")
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        print(f"{name}: no zip at {path}: {e}")
        ok = False
        continue
    with archive:
        names = archive.namelist()
        if names != ["bootstrap"]:
            print(f"{name}: {path} holds {names}, expected only bootstrap")
            ok = False
            continue
        info = archive.getinfo("bootstrap")
        mode = info.external_attr >> 16
        header = archive.open("bootstrap").read(20)
    # ELF, 64-bit, little endian, e_machine 0xB7 = AArch64.
    aarch64 = header[:4] == b"\x7fELF" and header[4] == 2 and header[5] == 1 and header[18:20] == b"\xb7\x00"
    if not aarch64:
        print(f"{name}: bootstrap is not an aarch64 ELF executable")
        ok = False
    if not mode & stat.S_IXUSR:
        print(f"{name}: bootstrap is not executable in the zip (mode {oct(mode)})")
        ok = False
    size = os.path.getsize(path)
    print(f"{name:<14} {size:>11} {size / 2**20:>8.2f} {info.file_size / 2**20:>14.2f}")
print(f"arm64 build: {elapsed} s")
sys.exit(0 if ok else 1)
PY
