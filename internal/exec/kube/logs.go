package kube

import (
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
)

// followLog copies the container's log into Stdout until the container ends (the kubelet then
// closes the stream) or Wait gives up on it. A log that cannot be read — no kubelet answers, as
// under kwok, or the Pod went first — costs the attempt one line on Stderr saying so; its state
// still follows the Pod.
func (p *process) followLog() {
	p.mu.Lock()
	done := p.logDone
	p.mu.Unlock()
	defer close(done)
	ns := p.e.opts.Namespace
	req := p.e.client.CoreV1().Pods(ns).GetLogs(p.key, &corev1.PodLogOptions{Container: ContainerName, Follow: true})
	rc, err := req.Stream(p.logCtx)
	if err != nil {
		if p.logCtx.Err() == nil {
			p.logMissing(err)
		}
		return
	}
	defer rc.Close()
	if _, err := io.Copy(p.stdout, rc); err != nil && p.logCtx.Err() == nil && !errors.Is(err, io.EOF) {
		p.logMissing(err)
	}
}

// logMissing writes the line that says why the log is (partly) missing.
func (p *process) logMissing(err error) {
	fmt.Fprintf(p.stderr, "barge: the log of Pod %s/%s cannot be read from the cluster: %v\n", p.e.opts.Namespace, p.key, err)
}
