# shellcheck shell=bash
# The two local registries (sourced, not run): $REGISTRY_ADDR, open to all, and
# $PRIVATE_REGISTRY_ADDR, which asks for a user and password (htpasswd: HTTP basic auth, over
# plain HTTP like the other; docker-registry logs no complaint about it). Both are Debian's
# docker-registry with storage under $PREWARM_CACHE, kept across cluster-down.
#
# The private registry's credentials are made once per cluster dir, root-only (0600):
#   private-registry.json       {"addr", "username", "password"}
#   private-registry-auth.json  the same as a container auth file ({"auths": {ADDR: {"auth": ...}}}),
#                               for skopeo --authfile and, as is, an imagePullSecret's .dockerconfigjson
#   private-registry.htpasswd   the registry's user file (bcrypt: the only hash it accepts)
PRIVATE_REGISTRY_USER=prewarm
PRIVATE_REGISTRY_CREDS=$CLUSTER_DIR/private-registry.json
PRIVATE_REGISTRY_AUTHFILE=$CLUSTER_DIR/private-registry-auth.json
PRIVATE_REGISTRY_HTPASSWD=$CLUSTER_DIR/private-registry.htpasswd

private_registry_password() { # the password from $PRIVATE_REGISTRY_CREDS
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["password"])' "$PRIVATE_REGISTRY_CREDS"
}

make_private_registry_credentials() {
  local password
  mkdir -p "$CLUSTER_DIR"
  if [[ ! -s $PRIVATE_REGISTRY_CREDS ]]; then
    password=$(openssl rand -hex 16)
    (umask 077 && python3 -c '
import json, sys
json.dump({"addr": sys.argv[1], "username": sys.argv[2], "password": sys.stdin.read().strip()}, sys.stdout, indent=2)
print()' "$PRIVATE_REGISTRY_ADDR" "$PRIVATE_REGISTRY_USER" <<<"$password" >"$PRIVATE_REGISTRY_CREDS.tmp")
    mv "$PRIVATE_REGISTRY_CREDS.tmp" "$PRIVATE_REGISTRY_CREDS"
  fi
  if [[ ! -s $PRIVATE_REGISTRY_AUTHFILE ]]; then
    (umask 077 && python3 -c '
import base64, json, sys
c = json.load(open(sys.argv[1]))
auth = base64.b64encode(("%s:%s" % (c["username"], c["password"])).encode()).decode()
json.dump({"auths": {c["addr"]: {"auth": auth}}}, sys.stdout, indent=2)
print()' "$PRIVATE_REGISTRY_CREDS" >"$PRIVATE_REGISTRY_AUTHFILE.tmp")
    mv "$PRIVATE_REGISTRY_AUTHFILE.tmp" "$PRIVATE_REGISTRY_AUTHFILE"
  fi
  if [[ ! -s $PRIVATE_REGISTRY_HTPASSWD ]]; then
    # -i: the password from stdin, never on a command line.
    (umask 077 && private_registry_password |
      htpasswd -niB "$PRIVATE_REGISTRY_USER" >"$PRIVATE_REGISTRY_HTPASSWD.tmp")
    mv "$PRIVATE_REGISTRY_HTPASSWD.tmp" "$PRIVATE_REGISTRY_HTPASSWD"
  fi
}

write_registry_config() { # NAME ADDR STORAGE-DIR [HTPASSWD-FILE]
  mkdir -p "$3"
  {
    cat <<EOC
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $3}
  delete: {enabled: true}
http: {addr: $2}
EOC
    [[ -z ${4:-} ]] || echo "auth: {htpasswd: {realm: prewarm-private, path: $4}}"
  } >"$CLUSTER_DIR/$1.yml"
}

# The private registry answers /v2/ with 200 only to its user (curl reads the user from stdin).
private_registry_answers() {
  printf 'user = "%s:%s"\n' "$PRIVATE_REGISTRY_USER" "$(private_registry_password)" |
    curl -fsS -K - "http://$PRIVATE_REGISTRY_ADDR/v2/"
}

start_registries() {
  make_private_registry_credentials
  write_registry_config registry "$REGISTRY_ADDR" "$REGISTRY_DIR"
  write_registry_config private-registry "$PRIVATE_REGISTRY_ADDR" "$PRIVATE_REGISTRY_DIR" "$PRIVATE_REGISTRY_HTPASSWD"
  restart_if_changed registry "$(sha256sum <"$CLUSTER_DIR/registry.yml")"
  start_daemon registry docker-registry serve "$CLUSTER_DIR/registry.yml"
  restart_if_changed private-registry "$(cat "$CLUSTER_DIR/private-registry.yml" "$PRIVATE_REGISTRY_HTPASSWD" | sha256sum)"
  start_daemon private-registry docker-registry serve "$CLUSTER_DIR/private-registry.yml"
  wait_until 30 "the registry" curl -fsS "http://$REGISTRY_ADDR/v2/"
  wait_until 30 "the private registry" private_registry_answers
}

# containerd is told per registry host that it speaks plain HTTP (hosts.toml). It needs no
# credentials: the kubelet passes those of a pod's imagePullSecrets with each pull.
# registry.k8s.io and docker.io are mirrored to the open registry, which holds local stand-ins
# of the public helper images under the same repository names (build-images.sh); the public
# hosts themselves are unreachable from here.
write_containerd_hosts() { # DIR
  local addr upstream
  for addr in "$REGISTRY_ADDR" "$PRIVATE_REGISTRY_ADDR"; do
    mkdir -p "$1/$addr"
    cat >"$1/$addr/hosts.toml" <<EOC
server = "http://$addr"
[host."http://$addr"]
  capabilities = ["pull", "resolve"]
EOC
  done
  for upstream in registry.k8s.io=https://registry.k8s.io docker.io=https://registry-1.docker.io; do
    mkdir -p "$1/${upstream%%=*}"
    cat >"$1/${upstream%%=*}/hosts.toml" <<EOC
server = "${upstream#*=}"
[host."http://$REGISTRY_ADDR"]
  capabilities = ["pull", "resolve"]
EOC
  done
}
