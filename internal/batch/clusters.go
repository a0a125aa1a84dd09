package batch

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"sync"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
)

// Compute environments on Kubernetes, as AWS Batch on EKS: a compute environment with an
// eksConfiguration runs its jobs as Pods in a namespace of a cluster barge was given (barge
// server --kubeconfig). Its maxvCpus bounds what barge admits there (as Kueue admits); the
// cluster's scheduler places the Pods, so memory and GPUs are the cluster's to bound.

// Clusters are the Kubernetes clusters barge may run jobs on.
type Clusters interface {
	// Executor runs attempts as Pods in namespace of the cluster clusterARN names; an error when
	// barge knows no such cluster.
	Executor(clusterARN, namespace string) (bexec.Executor, error)
}

// namespaceRE is a Kubernetes namespace name (a DNS label).
var namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// checkEKS validates a compute environment's eksConfiguration against the clusters barge knows.
func (s *Service) checkEKS(in *wire.CreateComputeEnvironmentRequest) error {
	ek := in.EksConfiguration
	switch {
	case s.cfg.Clusters == nil:
		return awserr.Client("eksConfiguration: this barge has no Kubernetes cluster (barge server --kubeconfig FILE)")
	case ek.EksClusterArn == "":
		return awserr.Client("eksConfiguration.eksClusterArn is required")
	case !namespaceRE.MatchString(ek.KubernetesNamespace):
		return awserr.Client("eksConfiguration.kubernetesNamespace %q is not a Kubernetes namespace name", ek.KubernetesNamespace)
	case in.Type != wire.CETypeManaged:
		return awserr.Client("type: a compute environment with eksConfiguration must be MANAGED")
	}
	if _, err := s.cfg.Clusters.Executor(ek.EksClusterArn, ek.KubernetesNamespace); err != nil {
		return awserr.Client("eksConfiguration.eksClusterArn: %v", err)
	}
	return nil
}

// executors remembers the executor of each compute environment that is not this host's.
type executors struct{ byCE sync.Map } // compute environment ARN → bexec.Executor

// noteExecutor records where d's jobs run (nothing for this host's compute environments).
func (s *Service) noteExecutor(d *wire.ComputeEnvironmentDetail) {
	ek := d.EksConfiguration
	if ek == nil || s.cfg.Clusters == nil {
		s.execs.byCE.Delete(d.ComputeEnvironmentArn)
		return
	}
	ex, err := s.cfg.Clusters.Executor(ek.EksClusterArn, ek.KubernetesNamespace)
	if err != nil {
		s.log.Error("compute environment's cluster is gone: its jobs cannot start", "computeEnvironment", d.ComputeEnvironmentArn, "err", err)
		ex = missingCluster{fmt.Errorf("cluster %s: %w", ek.EksClusterArn, err)}
	}
	s.execs.byCE.Store(d.ComputeEnvironmentArn, ex)
}

// executorFor is the executor that runs the jobs of compute environment ce.
func (s *Service) executorFor(ce string) bexec.Executor {
	if ex, ok := s.execs.byCE.Load(ce); ok {
		return ex.(bexec.Executor)
	}
	return s.cfg.Executor
}

// allExecutors are this host's executor and every cluster's, each once.
func (s *Service) allExecutors() []bexec.Executor {
	out := []bexec.Executor{s.cfg.Executor}
	seen := map[bexec.Executor]bool{s.cfg.Executor: true}
	s.execs.byCE.Range(func(_, v any) bool {
		if ex := v.(bexec.Executor); !seen[ex] {
			seen[ex] = true
			out = append(out, ex)
		}
		return true
	})
	return out
}

// eksCapacity is what the scheduler counts of a Kubernetes compute environment beside its vCPUs:
// nothing it could run out of.
const eksCapacity = math.MaxInt32

// missingCluster is the executor of a compute environment whose cluster barge no longer knows:
// every start fails, saying so.
type missingCluster struct{ err error }

func (m missingCluster) Start(context.Context, bexec.Spec) (bexec.Process, error) { return nil, m.err }
func (m missingCluster) Describe() string                                         { return m.err.Error() }
func (m missingCluster) List(context.Context) ([]string, error)                   { return nil, nil }
func (m missingCluster) Attach(context.Context, string, io.Writer, io.Writer) (bexec.Process, error) {
	return nil, bexec.ErrNotFound
}
