package batch

import (
	"regexp"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// instanceTypeRE is what an EC2 instance family (c5, m6gd, inf2) or type (c5.large,
// m5.24xlarge, c5.metal) looks like.
var instanceTypeRE = regexp.MustCompile(`^(a|c|d|dl|f|g|h|hpc|i|im|inf|is|m|mac|p|r|t|trn|u|vt|x|z)[0-9][a-z0-9-]*(\.(nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal(-[0-9]+xl)?))?$`)

// checkComputeResources does the checks AWS Batch does of a MANAGED environment's resources
// beyond the numbers: an instance role and known instance types for EC2 and SPOT, none of the EC2
// settings for Fargate, desiredvCpus between minvCpus and maxvCpus, a bid percentage for SPOT
// between 0 and 100. barge runs nothing on EC2; it checks them so that a definition that works
// here works on AWS.
func checkComputeResources(cr *wire.ComputeResource) error {
	if cr.Type == wire.CRTypeFargate || cr.Type == wire.CRTypeFargateSpot {
		for field, set := range map[string]bool{"instanceRole": cr.InstanceRole != "", "instanceTypes": len(cr.InstanceTypes) > 0,
			"minvCpus": cr.MinvCpus != nil, "desiredvCpus": cr.DesiredvCpus != nil, "ec2KeyPair": cr.Ec2KeyPair != "",
			"imageId": cr.ImageId != "", "bidPercentage": cr.BidPercentage != nil, "allocationStrategy": cr.AllocationStrategy != "",
			"launchTemplate": cr.LaunchTemplate != nil, "placementGroup": cr.PlacementGroup != ""} {
			if set {
				return awserr.Client("computeResources.%s is not applicable for Fargate compute environments", field)
			}
		}
		return nil
	}
	if cr.InstanceRole == "" {
		return awserr.Client("computeResources.instanceRole is required for %s compute environments", cr.Type)
	}
	for i, t := range cr.InstanceTypes {
		if t != "optimal" && t != "default_x86_64" && t != "default_arm64" && !instanceTypeRE.MatchString(t) {
			return awserr.Client("computeResources.instanceTypes[%d]: %q is not an instance type or family AWS Batch knows", i, t)
		}
	}
	if d := cr.DesiredvCpus; d != nil && (*d < deref(cr.MinvCpus) || cr.MaxvCpus != nil && *d > *cr.MaxvCpus) {
		return awserr.Client("computeResources.desiredvCpus must be between minvCpus and maxvCpus, got %d", *d)
	}
	if b := cr.BidPercentage; b != nil && (*b < 0 || *b > 100) {
		return awserr.Client("computeResources.bidPercentage must be between 0 and 100, got %d", *b)
	}
	return nil
}
