package kubetest

// The annotations a test puts on a Pod (through the executor's PodAnnotations) to choose how
// kwok plays its life. A Pod with none of them runs until it is deleted.
const (
	// AnnotationExitCode ends the running container with this exit code ("0" succeeds).
	AnnotationExitCode = "kubetest.barge.run/exit-code"
	// AnnotationOOM ends the running container OOMKilled (exit code 137).
	AnnotationOOM = "kubetest.barge.run/oom"
	// AnnotationPullFail keeps the container waiting in ErrImagePull; the value is the message.
	AnnotationPullFail = "kubetest.barge.run/pull-fail"
	// AnnotationEvict evicts the running Pod (phase Failed, reason Evicted).
	AnnotationEvict = "kubetest.barge.run/evict"
	// AnnotationHold keeps the binder from binding the Pod: it stays Pending, unscheduled,
	// until the test calls Cluster.Bind.
	AnnotationHold = "kubetest.barge.run/hold"
	// AnnotationLinger keeps a deleted Pod in place (its deletionTimestamp and grace period
	// visible) until the annotation is removed.
	AnnotationLinger = "kubetest.barge.run/linger"
)

// kwokConfig is kwok's --config: its options and the Pod Stages that replace kwok's own (the
// Node Stages stay kwok's defaults). Every Stage below acts only on Pods bound to a kwok node.
const kwokConfig = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: 10.0.0.1/24
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: barge-pod-run
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.podIP', operator: DoesNotExist}
    - {key: '.metadata.annotations["kubetest.barge.run/pull-fail"]', operator: DoesNotExist}
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName false ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: barge-pod-pull-fail
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.podIP', operator: DoesNotExist}
    - {key: '.metadata.annotations["kubetest.barge.run/pull-fail"]', operator: Exists}
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $message := index .metadata.annotations "kubetest.barge.run/pull-fail" }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          waiting:
            reason: ErrImagePull
            message: {{ $message | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName false ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Pending
      startTime: {{ $now | Quote }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: barge-pod-exit
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: [Running]}
    - {key: '.metadata.annotations["kubetest.barge.run/exit-code"]', operator: Exists}
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $code := index .metadata.annotations "kubetest.barge.run/exit-code" }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: {{ $code }}
            reason: {{ if eq $code "0" }}Completed{{ else }}Error{{ end }}
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: {{ if eq $code "0" }}Succeeded{{ else }}Failed{{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: barge-pod-oom
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: [Running]}
    - {key: '.metadata.annotations["kubetest.barge.run/oom"]', operator: Exists}
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 137
            reason: OOMKilled
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: barge-pod-evict
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: DoesNotExist}
    - {key: '.status.phase', operator: In, values: [Running]}
    - {key: '.metadata.annotations["kubetest.barge.run/evict"]', operator: Exists}
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 137
            reason: Error
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: Failed
      reason: Evicted
      message: "The node was low on resource: memory."
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: barge-pod-delete
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: '.metadata.deletionTimestamp', operator: Exists}
    - {key: '.metadata.annotations["kubetest.barge.run/linger"]', operator: DoesNotExist}
  next:
    finalizers:
      empty: true
    delete: true
`
