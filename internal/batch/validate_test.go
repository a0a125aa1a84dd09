package batch

import (
	"strings"
	"testing"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// TestResourceNumbers: every number a job can ask for is finite, positive and in range, or the
// request is refused with a ClientException naming the field (NaN, inf and 1e-300 used to pass:
// no CPU limit, or a job that blocks its compute environment).
func TestResourceNumbers(t *testing.T) {
	for _, c := range []struct {
		typ, value string
		ok         bool
		milli      int64
	}{
		{"VCPU", "1", true, 1000},
		{"VCPU", "0.25", true, 250},
		{"VCPU", "0.01", true, 10},
		{"VCPU", "NaN", false, 0},
		{"VCPU", "nan", false, 0},
		{"VCPU", "inf", false, 0},
		{"VCPU", "-inf", false, 0},
		{"VCPU", "1e-300", false, 0},
		{"VCPU", "0.001", false, 0},
		{"VCPU", "0", false, 0},
		{"VCPU", "-1", false, 0},
		{"VCPU", "1e7", false, 0},
		{"VCPU", "0x10", false, 0},
		{"VCPU", "", false, 0},
		{"MEMORY", "NaN", false, 0},
		{"MEMORY", "1.5", false, 0},
		{"MEMORY", "0", false, 0},
		{"MEMORY", "99999999999", false, 0},
		{"GPU", "-1", false, 0},
		{"GPU", "inf", false, 0},
	} {
		reqs := []wire.ResourceRequirement{{Type: wire.ResourceType(c.typ), Value: c.value}}
		r, err := resourcesOf("containerProperties", reqs, nil, nil, false)
		if c.ok != (err == nil) {
			t.Errorf("%s %q: err = %v, want ok=%v", c.typ, c.value, err, c.ok)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "containerProperties.resourceRequirements[0]") {
			t.Errorf("%s %q: the error does not name the field: %v", c.typ, c.value, err)
		}
		if c.ok && c.typ == "VCPU" && r.MilliVCPU != c.milli {
			t.Errorf("%s %q: %d milli-vCPU, want %d", c.typ, c.value, r.MilliVCPU, c.milli)
		}
	}
}

// TestExecSize: a command or environment Linux could not exec is refused at submit, naming it.
func TestExecSize(t *testing.T) {
	big := strings.Repeat("a", 128<<10)
	for _, c := range []struct {
		name string
		cmd  []string
		env  []wire.KeyValuePair
		want string
	}{
		{"fits", []string{"echo", strings.Repeat("a", 1000)}, []wire.KeyValuePair{{Name: "A", Value: "b"}}, ""},
		{"one argument too long", []string{"echo", big}, nil, "command[1]"},
		{"one variable too long", []string{"true"}, []wire.KeyValuePair{{Name: "BIG", Value: big}}, "environment[0] (BIG)"},
		{"too much together", []string{"echo", big[:100000], big[:100000], big[:100000], big[:100000], big[:100000], big[:100000], big[:100000], big[:100000], big[:100000], big[:100000], big[:100000]}, nil, "together"},
	} {
		err := checkExecSize(c.cmd, c.env)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}
