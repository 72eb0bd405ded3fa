#!/usr/bin/env bash
# The artifact walkthrough: keys, a trust root, an artifact signed offline, verified and a tampered
# copy refused, in a scratch directory.
# Usage: scripts/artifact-walkthrough.sh [WORKDIR]   (default ./artifact-walkthrough, recreated each run)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
slipway() { node "$repo/packages/cli/dist/slipway.mjs" "$@"; }
work="${1:-artifact-walkthrough}"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
step() { printf '\n\033[1m$ slipway %s\033[0m\n' "$*"; slipway "$@"; }

# 1. Keys: one root key (keep it offline) and one release key (signs artifacts).
step key generate --type ed25519 --out root
step key generate --type ecdsa-p256 --out release

# 2. The trust root every device is built with: root key, release key, thresholds, expiry.
step trust init --root-key root.pub --release-key release.pub --expires 365d --out root.json
step trust sign root.json --key root.key
step trust verify root.json

# 3. An update: a 16 MiB stand-in for a root file system image, packed and compressed.
head -c 16777216 /dev/urandom > rootfs.img
step artifact create --name gateway-os --version 1.0.0 --device-type gw-100 \
  --payload rootfs.img --security-version 1 --compression zstd --out gateway-os-1.0.0.slw

# 4. Air-gapped signing: export what to sign, sign it "offline", attach the signature.
step artifact sign-request gateway-os-1.0.0.slw --out sign-request.json
step sign sign-request.json --key release.key --out signature.json --yes
step artifact attach gateway-os-1.0.0.slw signature.json

# 5. What a device checks before it writes a byte: signatures, device type, anti-rollback, hashes.
step artifact inspect gateway-os-1.0.0.slw --trust root.json
step artifact verify gateway-os-1.0.0.slw --trust root.json --device-type gw-100 --security-version 1

# 6. And what it refuses: a single flipped payload byte.
cp gateway-os-1.0.0.slw tampered.slw
printf '\xff' | dd of=tampered.slw bs=1 seek=$(( $(stat -c %s tampered.slw) - 5000 )) conv=notrunc status=none
printf '\n\033[1m$ slipway artifact verify tampered.slw --trust root.json   (must fail)\033[0m\n'
if slipway artifact verify tampered.slw --trust root.json; then echo "tampered artifact was accepted" >&2; exit 1; fi

printf '\nWalkthrough finished: see %s\n' "$(pwd)"
