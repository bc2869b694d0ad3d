# shellcheck shell=bash
# Certificates and kubeconfigs for the cluster, made with openssl (sourced, not run).
# One CA signs everything; the clients' identities are their certificates' CN (user) and O (group).
PKI_DIR=$CLUSTER_DIR/pki

issue() { # NAME SUBJECT EXTENDED-KEY-USAGE [SUBJECT-ALT-NAMES]
  local name=$1 subject=$2 usage=$3 san=${4:-}
  [[ -f $PKI_DIR/$name.crt ]] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI_DIR/$name.key" -subj "$subject" -out "$PKI_DIR/$name.csr" 2>/dev/null
  {
    echo "keyUsage = critical, digitalSignature, keyEncipherment"
    echo "extendedKeyUsage = $usage"
    [[ -z $san ]] || echo "subjectAltName = $san"
  } >"$PKI_DIR/$name.ext"
  openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" \
    -CAcreateserial -days 3650 -extfile "$PKI_DIR/$name.ext" -out "$PKI_DIR/$name.crt" 2>/dev/null
  rm -f "$PKI_DIR/$name.csr" "$PKI_DIR/$name.ext"
}

make_pki() {
  mkdir -p "$PKI_DIR"
  chmod 0700 "$PKI_DIR"
  if [[ ! -f $PKI_DIR/ca.crt ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout "$PKI_DIR/ca.key" -out "$PKI_DIR/ca.crt" -subj /CN=prewarm-k8s-test-ca 2>/dev/null
  fi
  issue apiserver /CN=kube-apiserver serverAuth \
    "IP:127.0.0.1,IP:${SERVICE_CIDR%.*}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  issue admin "/O=system:masters/CN=prewarm-admin" clientAuth
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  issue controller-manager /CN=system:kube-controller-manager clientAuth
  issue scheduler /CN=system:kube-scheduler clientAuth
  issue kubelet "/O=system:nodes/CN=system:node:$REAL_NODE" clientAuth
  # kwok writes the status of every node and pod it simulates, which is beyond any narrower role.
  issue kwok "/O=system:masters/CN=prewarm-kwok" clientAuth
  [[ -f $PKI_DIR/sa.key ]] || openssl genrsa -out "$PKI_DIR/sa.key" 2048 2>/dev/null
  [[ -f $PKI_DIR/sa.pub ]] || openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null
}

write_kubeconfig() { # CERT-NAME PATH
  cat >"$2.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: prewarm
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI_DIR/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$PKI_DIR/$1.crt")
    client-key-data: $(base64 -w0 "$PKI_DIR/$1.key")
contexts:
- name: prewarm
  context: {cluster: prewarm, user: $1}
current-context: prewarm
KUBECONFIG
  chmod 0600 "$2.tmp"
  mv "$2.tmp" "$2"
}
