// Package kube is the Kubernetes backend of the Executor seam: every attempt is a Pod, created
// with client-go's typed clientset in one namespace of one cluster and named by the attempt's key.
//
// An Executor watches its Pods with one shared informer (label selector barge.run/key) and maps
// what the kubelet reports — Pod phases, container states, eviction, deletion — to an exec.Exit:
// exit codes, OOMKilled, image pull and start failures, evictions and lost hosts. Pods outlive
// barge (exec.Outliving): after a restart List finds them by label and Attach takes them back.
// Finished Pods are deleted once their Wait has returned. The container's log is followed into
// the attempt's Stdout; where the kubelet cannot serve it (a kwok cluster has none) one line on
// Stderr says why and the attempt's state still follows the Pod.
//
// docs/kubernetes.md has the RBAC a cluster needs and the full mapping; package kubetest starts
// a real kube-apiserver with kwok for the tests.
package kube
