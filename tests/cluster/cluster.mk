# The integration test cluster (tests/cluster/). Included from the top-level Makefile.
# cluster-up builds or reuses the cached binaries and images and starts everything; both
# targets are idempotent. They need root. The kubeconfig is at
# $(PREWARM_CLUSTER_DIR)/kubeconfig, default /var/lib/prewarm-k8s-cluster/kubeconfig.
.PHONY: cluster-up cluster-down cluster-binaries

cluster-binaries:
	tests/cluster/install-deps.sh
	tests/cluster/build-binaries.sh

cluster-up:
	tests/cluster/cluster-up.sh

cluster-down:
	tests/cluster/cluster-down.sh
