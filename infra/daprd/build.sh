#!/usr/bin/env bash
# Builds one Dapr binary from this module with its patches applied: the one recipe for the local
# servers (infra/infra.sh) and for the CareGrid daprd image (the root Dockerfile, stage daprd-build),
# so the sidecar the tests run is the sidecar that ships.
#
#   infra/daprd/build.sh daprd|sentry|scheduler <output file>
#
# PATCHED_DIR: where patched copies of dependencies are kept (default ~/.cache/caregrid/patched).
# The Dapr version stamped into the binary is the one go.mod requires.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PATCHED_DIR=${PATCHED_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/caregrid/patched}

say() { printf '\033[1;34m[daprd]\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[1;31m[daprd] %s\033[0m\n' "$*" >&2; exit 1; }

# The upstream issue a patch works around: its header names it as owner/repo#number.
upstream_issue() { grep -o -m 1 '[a-z-]*/[a-z-]*#[0-9]*' "$1" || echo "(see its header)"; }

# patched_modfile: patches/<dependency's module path>/ (e.g. patches/github.com/dapr/dapr/) holds
# patches for that dependency (paths relative to its root). Copies each patched dependency, at the
# version go.mod requires, out of the module cache once, applies its patches with no fuzz (a hunk
# that no longer matches exactly fails: the code it fixes changed), and prints a go.mod (beside
# its go.sum) that replaces those dependencies with the copies; the module's own go.mod stays
# untouched.
patched_modfile() {
  local patch_dir dep version hash src work patch_file replaces="" out
  while IFS= read -r patch_dir; do
    dep=${patch_dir#"$HERE/patches/"}
    version=$(cd "$HERE" && go list -m -f '{{.Version}}' "$dep") || fail "$dep: not a dependency of $HERE/go.mod"
    hash=$(cat "$patch_dir"/*.patch | sha256sum | cut -c1-16)
    work="$PATCHED_DIR/$(basename "$dep")-$version-$hash"
    if [ ! -f "$work/ready" ]; then
      (cd "$HERE" && go mod download "$dep@$version") >/dev/null
      src=$(cd "$HERE" && go list -m -f '{{.Dir}}' "$dep")
      rm -rf "$work" && mkdir -p "$work"
      cp -R "$src" "$work/module" && chmod -R u+w "$work/module"
      for patch_file in "$patch_dir"/*.patch; do
        say "applying $(basename "$patch_file") to $dep $version"
        if ! patch --quiet --forward --fuzz=0 -p1 -d "$work/module" <"$patch_file" >&2; then
          fail "$(basename "$patch_file") no longer applies to $dep $version (upstream issue $(upstream_issue "$patch_file")): check whether upstream fixed it; if so, delete the patch, else port it (infra/daprd/README.md)"
        fi
      done
      touch "$work/ready"
    fi
    replaces+=$(printf '\nreplace %s %s => %s' "$dep" "$version" "$work/module")
  done < <(find "$HERE/patches" -name '*.patch' -printf '%h\n' 2>/dev/null | sort -u)
  [ -n "$replaces" ] || return 0
  out="$PATCHED_DIR/modfile-$(printf '%s' "$replaces" | cat - "$HERE/go.mod" "$HERE/go.sum" | sha256sum | cut -c1-16)"
  mkdir -p "$out"
  cp "$HERE/go.mod" "$out/go.mod" && cp "$HERE/go.sum" "$out/go.sum"
  printf '%s\n' "$replaces" >>"$out/go.mod"
  echo "$out/go.mod"
}

main() {
  local name=${1:-} output=${2:-} pkg tags="" version modfile
  [ -n "$name" ] && [ -n "$output" ] || fail "usage: build.sh daprd|sentry|scheduler <output file>"
  case "$name" in
    # stablecomponents: only stable components, plus the three this module's main.go registers.
    daprd) pkg=. tags=stablecomponents ;;
    sentry) pkg=github.com/dapr/dapr/cmd/sentry ;;
    scheduler) pkg=github.com/dapr/dapr/cmd/scheduler ;;
    *) fail "unknown binary $name (daprd, sentry or scheduler)" ;;
  esac
  command -v patch >/dev/null || fail "patch is required (Debian package patch)"
  version=$(cd "$HERE" && go list -m -f '{{.Version}}' github.com/dapr/dapr)
  modfile=$(patched_modfile)
  mkdir -p "$(dirname "$output")"
  (cd "$HERE" && CGO_ENABLED=0 go build ${modfile:+-modfile "$modfile"} -tags "$tags" -trimpath \
    -ldflags "-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=${version#v}" -o "$output" "$pkg")
}

main "$@"
