#!/usr/bin/env bash
# Builds the Volley worker image, with no registry: a static volley binary
# (CGO_ENABLED=0) copied into an image FROM scratch (deploy/Dockerfile),
# entrypoint `volley worker`, serving the action protocol on :8080.
# The same script makes the image a cluster operator pushes to a registry.
#
#   deploy/build-image.sh [TAG]     # default: $VOLLEY_IMAGE or volley-worker:dev
#
# Prints the tag on success. The image and its layers carry the label
# volley.image=worker; the image the tag named before is removed.
set -euo pipefail
tag="${1:-${VOLLEY_IMAGE:-volley-worker:dev}}"
root="$(cd "$(dirname "$0")/.." && pwd)"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT

# One build at a time on a machine (test packages may ask at once).
exec 9>/tmp/volley-build-image.lock
flock 9

(cd "$root" && CGO_ENABLED=0 go build -ldflags='-s -w' -o "$ctx/volley" ./cmd/volley)
cp "$root/deploy/Dockerfile" "$ctx/Dockerfile"
mkdir -m 1777 "$ctx/tmp"

# Without the buildx plugin the CLI falls back to the classic builder.
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
if ! out="$(docker build --force-rm -q --label volley.image=worker -t "$tag" "$ctx" 2>&1)"; then
	echo "$out" >&2
	exit 1
fi
# A rebuilt tag leaves the previous image dangling.
docker image prune -f --filter label=volley.image=worker >/dev/null
echo "$tag"
