package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
)

// TestArrayStatus checks that an array's line shows what its children do, not the PENDING its
// parent keeps until they all ended.
func TestArrayStatus(t *testing.T) {
	array := func(parent types.JobStatus, sum map[string]int32) types.JobDetail {
		return types.JobDetail{JobName: aws.String("a"), Status: parent,
			ArrayProperties: &types.ArrayPropertiesDetail{Size: aws.Int32(4), StatusSummary: sum}}
	}
	for _, tc := range []struct {
		j    types.JobDetail
		want string
	}{
		{array(types.JobStatusPending, map[string]int32{"RUNNING": 2, "SUCCEEDED": 2}), "[###############...............]  50% 2/4 RUNNING=2 SUCCEEDED=2 (RUNNING)"},
		{array(types.JobStatusPending, map[string]int32{"STARTING": 1, "RUNNABLE": 3}), "(RUNNING)"},
		{array(types.JobStatusPending, map[string]int32{"RUNNABLE": 4}), "(RUNNABLE)"},
		{array(types.JobStatusPending, map[string]int32{"PENDING": 4}), "(PENDING)"},
		{array(types.JobStatusFailed, map[string]int32{"FAILED": 1, "SUCCEEDED": 3}), "100% 4/4 SUCCEEDED=3 FAILED=1 (FAILED)"},
		{types.JobDetail{JobName: aws.String("one"), Status: types.JobStatusRunning}, "one RUNNING"},
	} {
		if got := watchLine(tc.j); !strings.Contains(got, tc.want) {
			t.Errorf("watchLine = %q, want it to contain %q", got, tc.want)
		}
	}
}

// TestLiveLine checks the two ways a watch writes: lines per change into a file or pipe, one
// line redrawn in place on a terminal.
func TestLiveLine(t *testing.T) {
	var plain bytes.Buffer
	l := &liveLine{w: &plain}
	for _, s := range []string{"a RUNNABLE", "a RUNNABLE", "a RUNNING", "a SUCCEEDED"} {
		l.show(s)
	}
	l.end()
	if want := "a RUNNABLE\na RUNNING\na SUCCEEDED\n"; plain.String() != want {
		t.Errorf("not a terminal: wrote %q, want %q", plain.String(), want)
	}
	var tty bytes.Buffer
	l = &liveLine{w: &tty, tty: true, cols: 12}
	l.show("a RUNNING")
	l.show("a much longer line")
	l.end()
	l.end()
	if want := "\r\x1b[Ka RUNNING\r\x1b[Ka much lon…\n"; tty.String() != want {
		t.Errorf("terminal: wrote %q, want %q", tty.String(), want)
	}
}
