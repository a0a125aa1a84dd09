package kube

import (
	"syscall"

	corev1 "k8s.io/api/core/v1"

	"github.com/barge-run/barge/internal/exec"
)

// ReasonOOM is Exit.Reason for a container the kubelet reports OOMKilled, in AWS's words.
const ReasonOOM = "OutOfMemoryError: Container killed due to memory usage"

// The waiting reasons the kubelet reports for an image it cannot pull, and for a container it
// cannot create or start.
var (
	pullReasons  = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "ErrImageNeverPull": true}
	startReasons = map[string]bool{"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true}
	// Terminated reasons of a container that never ran its command.
	startTerminated = map[string]bool{"StartError": true, "ContainerCannotRun": true}
)

// mainStatus returns the status of the Pod's container.
func mainStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == ContainerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// running reports whether the container runs or has run: the attempt has started.
func running(pod *corev1.Pod) bool {
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		return true
	}
	cs := mainStatus(pod)
	return cs != nil && (cs.State.Running != nil || cs.State.Terminated != nil)
}

// ran reports whether the container's command ran, so that it has a log to read.
func ran(pod *corev1.Pod) bool {
	cs := mainStatus(pod)
	if cs == nil {
		return false
	}
	if t := cs.State.Terminated; t != nil {
		return !startTerminated[t.Reason]
	}
	return cs.State.Running != nil
}

// exitOf says how the attempt ended when the Pod shows it has: ok is false while it has not.
func exitOf(pod *corev1.Pod) (x exec.Exit, ok bool) {
	node := pod.Spec.NodeName
	cs := mainStatus(pod)
	switch {
	case pod.Status.Phase == corev1.PodFailed && pod.Status.Reason == "Evicted":
		x = exec.Exit{Code: -1, Cause: exec.CauseEvicted, Host: node, Reason: pod.Status.Message}
		if cs != nil && cs.State.Terminated != nil {
			x.Code = int(cs.State.Terminated.ExitCode)
		}
		return x, true
	case disruption(pod) != nil && (pod.Status.Phase == corev1.PodFailed || cs != nil && cs.State.Terminated != nil):
		return disruptedExit(pod, disruption(pod)), true
	case pod.Status.Phase == corev1.PodUnknown:
		return exec.Exit{Code: -1, Cause: exec.CauseHostLost, Host: node,
			Reason: "the node " + node + " stopped reporting the Pod's state"}, true
	case cs != nil && cs.State.Terminated != nil:
		return terminatedExit(cs.State.Terminated, node), true
	case cs != nil && cs.State.Waiting != nil && pullReasons[cs.State.Waiting.Reason]:
		return exec.Exit{Code: -1, Cause: exec.CausePullFailed, Host: node, Reason: waitingReason(cs.State.Waiting)}, true
	case cs != nil && cs.State.Waiting != nil && startReasons[cs.State.Waiting.Reason]:
		return exec.Exit{Code: -1, Cause: exec.CauseStartFailed, Host: node, Reason: waitingReason(cs.State.Waiting)}, true
	case pod.Status.Phase == corev1.PodSucceeded:
		return exec.Exit{Host: node}, true
	case pod.Status.Phase == corev1.PodFailed:
		// Failed without a container state: the deadline passed before it ran, or the kubelet
		// rejected the Pod (its reason and message say why).
		x = exec.Exit{Code: -1, Host: node, Reason: pod.Status.Reason}
		if pod.Status.Reason == "DeadlineExceeded" {
			x.Signal, x.Reason = syscall.SIGKILL, ""
		} else if pod.Status.Message != "" {
			x.Reason += ": " + pod.Status.Message
		}
		return x, true
	}
	return exec.Exit{}, false
}

// terminatedExit maps the container's terminated state.
func terminatedExit(t *corev1.ContainerStateTerminated, node string) exec.Exit {
	x := exec.Exit{Code: int(t.ExitCode), Host: node}
	switch {
	case t.Reason == "OOMKilled":
		x.OOM, x.Reason = true, ReasonOOM
	case startTerminated[t.Reason]:
		x.Cause, x.Reason = exec.CauseStartFailed, t.Reason
		if t.Message != "" {
			x.Reason += ": " + t.Message
		}
	case t.Signal != 0:
		x.Code, x.Signal = -1, syscall.Signal(t.Signal)
	}
	return x
}

func waitingReason(w *corev1.ContainerStateWaiting) string {
	if w.Message == "" {
		return w.Reason
	}
	return w.Reason + ": " + w.Message
}

// The reasons of a DisruptionTarget condition that say the Pod's node is gone (the pod garbage
// collector removes the Pods of a deleted node; the taint manager those of an unreachable one).
// Its other reasons (preemption, the eviction API, the kubelet's own) are evictions.
var hostLostReasons = map[string]bool{"DeletionByPodGC": true, "DeletionByTaintManager": true}

// disruption returns the DisruptionTarget condition the control plane puts on a Pod it takes
// away (node deleted or unreachable, preemption, drain, node pressure), nil when there is none.
func disruption(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if c := &pod.Status.Conditions[i]; c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// disruptedExit maps a Pod taken away: host-lost when its node went, else evicted.
func disruptedExit(pod *corev1.Pod, cond *corev1.PodCondition) exec.Exit {
	x := exec.Exit{Code: -1, Cause: exec.CauseEvicted, Host: pod.Spec.NodeName, Reason: cond.Reason}
	if hostLostReasons[cond.Reason] {
		x.Cause = exec.CauseHostLost
	}
	if cond.Message != "" {
		x.Reason += ": " + cond.Message
	}
	if cs := mainStatus(pod); cs != nil && cs.State.Terminated != nil {
		x.Code = int(cs.State.Terminated.ExitCode)
	}
	return x
}

// deletedExit says how an attempt whose Pod was deleted ended: stopped by barge (the last state
// the Pod showed, else killed), taken away by the control plane (its DisruptionTarget
// condition), or lost with its host when someone else deleted it.
func deletedExit(last *corev1.Pod, stopped bool, stopSignal syscall.Signal) exec.Exit {
	if last != nil && !stopped {
		if d := disruption(last); d != nil {
			return disruptedExit(last, d)
		}
	}
	if last != nil {
		if cs := mainStatus(last); cs != nil && cs.State.Terminated != nil {
			return terminatedExit(cs.State.Terminated, last.Spec.NodeName)
		}
	}
	node := ""
	if last != nil {
		node = last.Spec.NodeName
	}
	if stopped {
		return exec.Exit{Code: -1, Signal: stopSignal, Host: node}
	}
	reason := "the Pod was deleted"
	if node != "" {
		reason += " from node " + node
	}
	return exec.Exit{Code: -1, Cause: exec.CauseHostLost, Host: node, Reason: reason}
}
