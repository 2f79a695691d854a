#!/usr/bin/env bash
# image-name.sh <app-id>: the image name (registry path, no tag) the manifests pull for that app,
# read from images.yaml beside this script. The workflows push and build exactly this name.
set -euo pipefail
app=${1:?usage: image-name.sh <app-id>}
file="$(dirname "${BASH_SOURCE[0]}")/images.yaml"
names=$(sed -n "s|^ *newName: *\([^ ]*/${app}\) *\$|\1|p" "$file")
if [ "$(printf '%s' "$names" | grep -c .)" != 1 ]; then
  echo "image-name.sh: expected one newName ending in /$app in $file, found: ${names:-none}" >&2
  exit 1
fi
printf '%s\n' "$names"
