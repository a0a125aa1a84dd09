package kube

import (
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/barge-run/barge/internal/exec"
)

// podWith returns a Pod on node n1 in phase with the container in state.
func podWith(phase corev1.PodPhase, state *corev1.ContainerState) *corev1.Pod {
	pod := &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n1"}, Status: corev1.PodStatus{Phase: phase}}
	if state != nil {
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: *state}}
	}
	return pod
}

func waiting(reason string) *corev1.ContainerState {
	return &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}
}

func terminated(code int32, reason string) *corev1.ContainerState {
	return &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}
}

func TestExitOf(t *testing.T) {
	evicted := podWith(corev1.PodFailed, nil)
	evicted.Status.Reason, evicted.Status.Message = "Evicted", "low on memory"
	deadline := podWith(corev1.PodFailed, nil)
	deadline.Status.Reason = "DeadlineExceeded"
	podGC := podWith(corev1.PodFailed, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	podGC.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"}}
	drained := podWith(corev1.PodFailed, terminated(143, "Error"))
	drained.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}}
	marked := podWith(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	marked.Status.Conditions = drained.Status.Conditions
	tests := []struct {
		name    string
		pod     *corev1.Pod
		done    bool
		want    exec.Exit
		started bool
	}{
		{"pending", podWith(corev1.PodPending, nil), false, exec.Exit{}, false},
		{"creating", podWith(corev1.PodPending, waiting("ContainerCreating")), false, exec.Exit{}, false},
		{"running", podWith(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}), false, exec.Exit{}, true},
		{"exit 0", podWith(corev1.PodSucceeded, terminated(0, "Completed")), true, exec.Exit{Host: "n1"}, true},
		{"exit 3", podWith(corev1.PodFailed, terminated(3, "Error")), true, exec.Exit{Code: 3, Host: "n1"}, true},
		{"oom", podWith(corev1.PodFailed, terminated(137, "OOMKilled")), true, exec.Exit{Code: 137, OOM: true, Reason: ReasonOOM, Host: "n1"}, true},
		{"start error", podWith(corev1.PodFailed, terminated(128, "StartError")), true,
			exec.Exit{Code: 128, Cause: exec.CauseStartFailed, Reason: "StartError", Host: "n1"}, true},
		{"pull", podWith(corev1.PodPending, waiting("ImagePullBackOff")), true,
			exec.Exit{Code: -1, Cause: exec.CausePullFailed, Reason: "ImagePullBackOff: m", Host: "n1"}, false},
		{"bad name", podWith(corev1.PodPending, waiting("InvalidImageName")), true,
			exec.Exit{Code: -1, Cause: exec.CausePullFailed, Reason: "InvalidImageName: m", Host: "n1"}, false},
		{"config", podWith(corev1.PodPending, waiting("CreateContainerConfigError")), true,
			exec.Exit{Code: -1, Cause: exec.CauseStartFailed, Reason: "CreateContainerConfigError: m", Host: "n1"}, false},
		{"evicted", evicted, true, exec.Exit{Code: -1, Cause: exec.CauseEvicted, Reason: "low on memory", Host: "n1"}, true},
		{"unknown", podWith(corev1.PodUnknown, nil), true,
			exec.Exit{Code: -1, Cause: exec.CauseHostLost, Reason: "the node n1 stopped reporting the Pod's state", Host: "n1"}, false},
		{"node gone", podGC, true, exec.Exit{Code: -1, Cause: exec.CauseHostLost, Reason: "DeletionByPodGC: PodGC: node no longer exists", Host: "n1"}, true},
		{"drained", drained, true, exec.Exit{Code: 143, Cause: exec.CauseEvicted, Reason: "EvictionByEvictionAPI: Eviction API: evicting", Host: "n1"}, true},
		{"marked, still running", marked, false, exec.Exit{}, true},
		{"deadline", deadline, true, exec.Exit{Code: -1, Signal: syscall.SIGKILL, Host: "n1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, done := exitOf(tt.pod)
			if done != tt.done || x != tt.want {
				t.Errorf("exitOf = %+v, %v; want %+v, %v", x, done, tt.want, tt.done)
			}
			if got := running(tt.pod); got != tt.started {
				t.Errorf("running = %v, want %v", got, tt.started)
			}
		})
	}
}

func TestDeletedExit(t *testing.T) {
	run := podWith(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	if x := deletedExit(run, true, syscall.SIGTERM); x != (exec.Exit{Code: -1, Signal: syscall.SIGTERM, Host: "n1"}) {
		t.Errorf("stopped: %+v", x)
	}
	if x := deletedExit(run, false, 0); x.Cause != exec.CauseHostLost || x.Host != "n1" {
		t.Errorf("deleted by another: %+v", x)
	}
	gone := podWith(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})
	gone.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "DeletionByTaintManager"}}
	if x := deletedExit(gone, false, 0); x.Cause != exec.CauseHostLost || x.Reason != "DeletionByTaintManager" {
		t.Errorf("deleted by the taint manager: %+v", x)
	}
	if x := deletedExit(podWith(corev1.PodFailed, terminated(143, "Error")), true, syscall.SIGTERM); x.Code != 143 {
		t.Errorf("stopped after the container ended: %+v", x)
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"123456789012":          "123456789012",
		"abc:3":                 "abc-3",
		"-x-":                   "x",
		"":                      "",
		strings.Repeat("a", 70): strings.Repeat("a", 63),
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}
