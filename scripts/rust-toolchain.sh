#!/usr/bin/env bash
# Makes the toolchain rust-toolchain.toml pins available to rustup without
# a download (only package registries are reachable here): when it is not
# installed under its own name but the installed stable is that very
# version, the name is linked to it. Any other version fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v rustup >/dev/null 2>&1 || exit 0
want="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)"
# Outside the repository, where rustup does not resolve the pin itself.
cd /
host="$(rustup show 2>/dev/null | sed -n 's/^Default host: //p' || true)"
[ -n "$want" ] && [ -n "$host" ] || { echo "rust-toolchain: cannot read the pinned channel or the host" >&2; exit 1; }
if rustup toolchain list | grep -q "^$want-$host"; then exit 0; fi
for candidate in $(rustup toolchain list | awk '{print $1}'); do
  sysroot="$(rustup run "$candidate" rustc --print sysroot 2>/dev/null)" || continue
  if [ "$(rustup run "$candidate" rustc --version | awk '{print $2}')" = "$want" ]; then
    # rustup refuses to `link` an official release name, so the link is
    # made where rustup keeps its toolchains.
    ln -sfn "$sysroot" "${RUSTUP_HOME:-$HOME/.rustup}/toolchains/$want-$host"
    echo "rust-toolchain: $want is the installed $candidate, linked" >&2
    exit 0
  fi
done
echo "rust-toolchain: rust $want (rust-toolchain.toml) is not installed and cannot be downloaded here; install it with rustup or change the pin together with Dockerfile and Cargo.toml" >&2
exit 1
