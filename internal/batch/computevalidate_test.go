package batch

import (
	"strings"
	"testing"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

func TestCheckComputeResources(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	ec2 := func(mod func(*wire.ComputeResource)) *wire.ComputeResource {
		cr := &wire.ComputeResource{Type: wire.CRTypeEc2, MaxvCpus: i32(8), InstanceRole: "ecsInstanceRole", InstanceTypes: []string{"optimal"}}
		if mod != nil {
			mod(cr)
		}
		return cr
	}
	for _, tc := range []struct {
		name string
		cr   *wire.ComputeResource
		want string // "" when accepted
	}{
		{"EC2", ec2(nil), ""},
		{"families and types", ec2(func(c *wire.ComputeResource) {
			c.InstanceTypes = []string{"c5", "m5.large", "m6gd.24xlarge", "c5.metal", "inf2"}
		}), ""},
		{"no instance role", ec2(func(c *wire.ComputeResource) { c.InstanceRole = "" }), "instanceRole"},
		{"unknown instance type", ec2(func(c *wire.ComputeResource) { c.InstanceTypes = []string{"huge.box"} }), "instanceTypes[0]"},
		{"desired above max", ec2(func(c *wire.ComputeResource) { c.DesiredvCpus = i32(9) }), "desiredvCpus"},
		{"spot bid", ec2(func(c *wire.ComputeResource) { c.Type, c.BidPercentage = wire.CRTypeSpot, i32(101) }), "bidPercentage"},
		{"Fargate", &wire.ComputeResource{Type: wire.CRTypeFargate, MaxvCpus: i32(4)}, ""},
		{"Fargate with an instance role", &wire.ComputeResource{Type: wire.CRTypeFargate, MaxvCpus: i32(4), InstanceRole: "r"}, "instanceRole is not applicable"},
	} {
		err := checkComputeResources(tc.cr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}
