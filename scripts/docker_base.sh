#!/usr/bin/env bash
# Make the CI base image: the Debian release of the Dockerfile's default base (debian:<release>-slim),
# debootstrapped from this machine's Debian mirror, because no image registry is reachable here.
# It also carries what this machine's pip needs and a user's machine does not: the system CA
# bundle (HTTPS to the package registries goes through a proxy that only it trusts), named in
# /etc/pip.conf. No local torch wheel: the image takes torch from PyPI, as a user's build does.
# Usage (as root): scripts/docker_base.sh IMAGE_NAME
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:?usage: scripts/docker_base.sh IMAGE_NAME}

release=$(sed -n 's/^ARG BASE_IMAGE=debian:\([a-z]*\)-slim$/\1/p' Dockerfile)
[ -n "$release" ] || { echo "docker_base: no 'ARG BASE_IMAGE=debian:<release>-slim' in the Dockerfile" >&2; exit 1; }
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /\/debian$/ {print $2; exit}' /etc/apt/sources.list)
ca_bundle=/etc/ssl/certs/ca-certificates.crt

root=$(mktemp -d /tmp/electrode-ml-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"  # mktemp made it 0700, and it becomes the image's /
echo "docker_base: debootstrap --variant=minbase $release from $mirror"
debootstrap --variant=minbase "$release" "$root" "$mirror" > "$root.log" 2>&1 \
  || { tail -n 20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# Not at Debian's own bundle path: the image's ca-certificates package rebuilds that file.
mkdir -p "$root/etc/ssl"
cp "$ca_bundle" "$root/etc/ssl/host-ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/host-ca-certificates.crt\n' > "$root/etc/pip.conf"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
# debian:*-slim images set PATH; an imported tarball has no environment of its own.
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' - "$image" > /dev/null
echo "docker_base: $image ($release, with this machine's CA bundle)"
