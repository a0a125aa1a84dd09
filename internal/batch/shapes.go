package batch

import wire "github.com/barge-run/barge/internal/awstypes/batch"

// AWS answers an empty collection as [] or {}, never by leaving the key out, and callers index
// them without checking (Python's job["attempts"], job["container"]["command"]). The wire types
// leave out only nil collections (omitzero), so these fill the ones AWS always returns.

// withEmptyCollections is a job as DescribeJobs answers it.
func withEmptyCollections(d wire.JobDetail) wire.JobDetail {
	emptyIfNil(&d.Attempts)
	emptyIfNil(&d.DependsOn)
	emptyMapIfNil(&d.Parameters)
	emptyMapIfNil(&d.Tags)
	if c := d.Container; c != nil {
		cc := *c
		emptyContainerLists(&cc.Command, &cc.Volumes, &cc.Environment, &cc.MountPoints, &cc.Ulimits, &cc.ResourceRequirements, &cc.Secrets)
		emptyIfNil(&cc.NetworkInterfaces)
		d.Container = &cc
	}
	return d
}

// definitionWithEmptyCollections is a job definition as DescribeJobDefinitions answers it.
func definitionWithEmptyCollections(d wire.JobDefinition) wire.JobDefinition {
	emptyMapIfNil(&d.Parameters)
	emptyMapIfNil(&d.Tags)
	if c := d.ContainerProperties; c != nil {
		cc := *c
		emptyContainerLists(&cc.Command, &cc.Volumes, &cc.Environment, &cc.MountPoints, &cc.Ulimits, &cc.ResourceRequirements, &cc.Secrets)
		d.ContainerProperties = &cc
	}
	return d
}

// emptyContainerLists fills the lists a job's container and a definition's containerProperties
// share.
func emptyContainerLists(command *[]string, volumes *[]wire.Volume, env *[]wire.KeyValuePair, mounts *[]wire.MountPoint,
	ulimits *[]wire.Ulimit, reqs *[]wire.ResourceRequirement, secrets *[]wire.Secret) {
	emptyIfNil(command)
	emptyIfNil(volumes)
	emptyIfNil(env)
	emptyIfNil(mounts)
	emptyIfNil(ulimits)
	emptyIfNil(reqs)
	emptyIfNil(secrets)
}

func emptyIfNil[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}

func emptyMapIfNil(m *map[string]string) {
	if *m == nil {
		*m = map[string]string{}
	}
}
