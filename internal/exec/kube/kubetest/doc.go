// Package kubetest starts a real Kubernetes control plane for tests: etcd, kube-apiserver and
// kwok (which plays the kubelet of a fake node), on loopback ports, once per test binary.
//
// The binaries are built from their Go modules by build.sh, once per machine, into
// $HOME/.cache/barge-kube (or $BARGE_KUBE_CACHE). A test binary that finds them missing skips
// its Kubernetes tests, unless BARGE_KUBE_BUILD=1 lets Start build them first (15-30 minutes:
// give go test a -timeout to match); BARGE_KUBE_REQUIRED=1 turns the skip into a failure (CI).
//
// No scheduler and no controller manager run: a binder in this package binds every new Pod to
// the kwok node, and kwok Stages move the Pods through their lives as annotations on them ask
// (AnnotationExitCode, AnnotationOOM, AnnotationPullFail, AnnotationEvict). There is no kubelet,
// so container logs cannot be read.
package kubetest
