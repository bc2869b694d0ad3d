#!/usr/bin/env bash
# Build the test images with umoci, push them to the local registry with skopeo, copy `small`
# to the private registry as `private`, and write $PREWARM_CLUSTER_DIR/images.json
# (name -> {ref, digest, size}). Images are tagged with a hash of their sources, so an image
# already in the registry under that tag is not built (or copied) again.
# Also the local stand-ins of the public helper images the preloader uses by default (and
# containerd as its sandbox image), under their public repository names and tags, which the
# node reaches through registry mirrors: pause built from the pinned Kubernetes release's own
# source, busybox from Debian's static build (docs/testing.md says how they differ).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tests/cluster/lib/env.sh
source "$here/lib/env.sh"
# shellcheck source=tests/cluster/lib/registry.sh
source "$here/lib/registry.sh"

registry=$REGISTRY_ADDR/prewarm-test
large_layers=${PREWARM_LARGE_LAYERS:-3}
large_layer_mb=${PREWARM_LARGE_LAYER_MB:-100}
tag=$( { cat "$here/images/tiny.c" "$0" "$repo/images/agent/prewarm-agent.c" "$repo/images/agent/build.sh"
         echo "$large_layers x $large_layer_mb"; } | sha256sum | cut -c1-12)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The private registry's credentials come from its auth file, never a command line.
in_registry() { skopeo inspect --raw --tls-verify=false --authfile "$PRIVATE_REGISTRY_AUTHFILE" "docker://$1" >/dev/null 2>&1; }

tiny() { # build the tiny static test program once
  [[ -x $work/tiny ]] || gcc -static -nostdlib -ffreestanding -fno-stack-protector -Os -s \
    -o "$work/tiny" "$here/images/tiny.c"
}

# new_image NAME: an empty OCI image in $work/NAME with its bundle unpacked in $work/NAME.b
new_image() {
  umoci init --layout "$work/$1"
  umoci new --image "$work/$1:img"
  umoci unpack --image "$work/$1:img" "$work/$1.b"
}
layer() { umoci repack --image "$work/$1:img" "$work/$1.b"; } # commit the bundle's changes as a layer
push() { # push NAME ENTRYPOINT
  umoci config --image "$work/$1:img" --config.entrypoint "$2" --config.user 65532:65532
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/$1:img" "docker://$registry/$1:$tag"
}

build_small() {
  tiny && new_image small
  install -m 0755 "$work/tiny" "$work/small.b/rootfs/tiny"
  layer small && push small /tiny
}
build_noshell() { # like a distroless image: a binary and some files, no /bin/sh
  tiny && new_image noshell
  install -D -m 0755 "$work/tiny" "$work/noshell.b/rootfs/usr/local/bin/app"
  install -D -m 0644 /dev/null "$work/noshell.b/rootfs/etc/prewarm-noshell"
  layer noshell && push noshell /usr/local/bin/app
}
build_large() { # random bytes do not compress, so every layer costs its full size to pull
  local i
  tiny && new_image large
  install -m 0755 "$work/tiny" "$work/large.b/rootfs/tiny"
  layer large
  for ((i = 1; i <= large_layers; i++)); do
    head -c "$((large_layer_mb * 1024 * 1024))" /dev/urandom >"$work/large.b/rootfs/blob$i"
    layer large
  done
  push large /tiny
}
build_agent() { "$repo/images/agent/build.sh" "docker://$registry/agent:$tag" --dest-tls-verify=false; }

# stand_in_current NAME PUBLIC-REF SOURCE-HASH: is the stand-in for PUBLIC-REF in the registry, built
# from these sources? (Its tag is the public one, so the hash is kept in the image's labels.)
stand_in_current() {
  local config
  config=$(skopeo inspect --config --tls-verify=false "docker://$REGISTRY_ADDR/${2#*/}" 2>/dev/null) || return 1
  python3 -c 'import json, sys; sys.exit(json.loads(sys.argv[2]).get("config", {}).get("Labels", {}).get("prewarm.test/sources") != sys.argv[1])' \
    "$3" "$config"
}
push_stand_in() { # NAME PUBLIC-REF SOURCE-HASH ENTRYPOINT [USER]
  umoci config --image "$work/$1:img" --config.entrypoint "$4" --config.label "prewarm.test/sources=$3" \
    ${5:+--config.user "$5"}
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/$1:img" "docker://$REGISTRY_ADDR/${2#*/}"
}
build_pause() { # the kubelet's pause from the pinned release, compiled as its Makefile does
  local src
  src=$(cd "$here/gomod/k8s-$K8S_VERSION" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  new_image pause
  gcc -Os -Wall -Werror -static -DVERSION="v${PAUSE_IMAGE##*:}-prewarm-stand-in" -o "$work/pause.b/rootfs/pause" "$src"
  layer pause && push_stand_in pause "$PAUSE_IMAGE" "$1" /pause 65535:65535
}
build_busybox() { # Debian's static busybox, with its applets linked as the public image has them
  local applet
  new_image busybox
  install -D -m 0755 /bin/busybox "$work/busybox.b/rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$work/busybox.b/rootfs/bin/$applet"
  done
  layer busybox && push_stand_in busybox "$BUSYBOX_IMAGE" "$1" /bin/sh
}
export PATH=$PATH:/usr/local/go/bin
pause_sources=$( { cat "$0"; echo "$K8S_VERSION $PAUSE_IMAGE"; } | sha256sum | cut -c1-12)
busybox_sources=$( { cat "$0"; sha256sum /bin/busybox; echo "$BUSYBOX_IMAGE"; } | sha256sum | cut -c1-12)
stand_in_current pause "$PAUSE_IMAGE" "$pause_sources" || { log "building stand-in $PAUSE_IMAGE"; build_pause "$pause_sources"; }
stand_in_current busybox "$BUSYBOX_IMAGE" "$busybox_sources" ||
  { log "building stand-in $BUSYBOX_IMAGE"; build_busybox "$busybox_sources"; }

for name in agent small noshell large; do
  if in_registry "$registry/$name:$tag"; then
    continue
  fi
  log "building image $name:$tag"
  "build_$name"
done
# The private image: the small image's manifest and blobs, byte for byte (same digest), in a
# registry that asks for credentials.
private_ref=$PRIVATE_REGISTRY_ADDR/prewarm-test/private:$tag
if ! in_registry "$private_ref"; then
  log "copying small:$tag to $private_ref"
  skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false --authfile "$PRIVATE_REGISTRY_AUTHFILE" \
    "docker://$registry/small:$tag" "docker://$private_ref"
fi

# Digest and size straight from the registry's manifest: the digest is the sha256 of its bytes,
# the size is what a pull downloads (config + layers).
{
  for name in agent small noshell large private pause busybox; do
    ref=$registry/$name:$tag where=
    case $name in
      private) ref=$private_ref ;;
      pause) ref=$PAUSE_IMAGE where=$REGISTRY_ADDR/${PAUSE_IMAGE#*/} ;;
      busybox) ref=$BUSYBOX_IMAGE where=$REGISTRY_ADDR/${BUSYBOX_IMAGE#*/} ;;
    esac
    skopeo inspect --raw --tls-verify=false --authfile "$PRIVATE_REGISTRY_AUTHFILE" "docker://${where:-$ref}" >"$work/$name.manifest"
    printf '%s\t%s\t%s\n' "$name" "$ref" "$work/$name.manifest"
  done
} | python3 -c '
import hashlib, json, sys
images = {}
for line in sys.stdin:
    name, ref, path = line.rstrip("\n").split("\t")
    raw = open(path, "rb").read()
    manifest = json.loads(raw)
    size = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    images[name] = {"ref": ref, "digest": "sha256:" + hashlib.sha256(raw).hexdigest(), "size": size}
# An image that the registry does not have, for tests of a failing pull.
images["missing"] = {"ref": sys.argv[1] + "/does-not-exist:" + sys.argv[2], "digest": None, "size": 0}
json.dump(images, sys.stdout, indent=2, sort_keys=True)
print()
' "$registry" "$tag" >"$CLUSTER_DIR/images.json.tmp"
mv "$CLUSTER_DIR/images.json.tmp" "$CLUSTER_DIR/images.json"
