package e2e_test

import (
	"os"
	"testing"

	"github.com/barge-run/barge/internal/bargetest"
	"github.com/barge-run/barge/internal/exec/kube/kubetest"
	"github.com/barge-run/barge/internal/store/postgres/pgtest"
)

func TestMain(m *testing.M) {
	code := kubetest.Main(m) // stops the Kubernetes control plane of the cluster tests, if started
	pgtest.Stop()            // the PostgreSQL server of the multi-server tests, if one was started
	bargetest.RemoveBinary() // the barge binary the tests built
	os.Exit(code)
}
