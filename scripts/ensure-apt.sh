#!/usr/bin/env bash
# Install Debian packages for commands that are missing: ensure-apt.sh COMMAND=PACKAGE ...
# Used by `make run` and `make test`; does nothing when every command is already there.
set -euo pipefail

missing=()
for pair in "$@"; do
    command_name=${pair%%=*}
    package=${pair#*=}
    if ! command -v "$command_name" >/dev/null 2>&1 && [ ! -x "$command_name" ]; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "mailrobot needs these Debian packages: ${missing[*]}" >&2
    echo "install them as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "mailrobot needs: ${missing[*]} (no apt-get here; install them with your package manager)" >&2
    exit 1
fi
echo "installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
