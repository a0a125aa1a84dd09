package batch

import (
	"path/filepath"
	"slices"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
)

// checkIsolation validates the parts of containerProperties the sandbox enforces: volumes,
// mountPoints, ulimits and linuxParameters.
func (s *Service) checkIsolation(cp *wire.ContainerProperties) error {
	const f = "containerProperties"
	if deref(cp.Privileged) && !s.cfg.AllowPrivileged {
		return awserr.Client("%s.privileged: privileged containers are not allowed on this barge (the operator can allow them with `barge server --allow-privileged`)", f)
	}
	vols := map[string]bool{}
	for i, v := range cp.Volumes {
		switch {
		case v.Name == "":
			return awserr.Client("%s.volumes[%d].name is required", f, i)
		case vols[v.Name]:
			return awserr.Client("%s.volumes[%d].name: %q is used twice", f, i, v.Name)
		case v.EfsVolumeConfiguration != nil || v.S3filesVolumeConfiguration != nil:
			return awserr.Client("%s.volumes[%d]: EFS and S3 Files volumes are not supported by barge; use host.sourcePath", f, i)
		case v.Host != nil && v.Host.SourcePath != "" && !filepath.IsAbs(v.Host.SourcePath):
			return awserr.Client("%s.volumes[%d].host.sourcePath must be an absolute path, got %q", f, i, v.Host.SourcePath)
		}
		vols[v.Name] = true
	}
	for i, m := range cp.MountPoints {
		switch {
		case !vols[m.SourceVolume]:
			return awserr.Client("%s.mountPoints[%d].sourceVolume: no volume named %q", f, i, m.SourceVolume)
		case !filepath.IsAbs(m.ContainerPath) || filepath.Clean(m.ContainerPath) == "/":
			return awserr.Client("%s.mountPoints[%d].containerPath must be an absolute path other than /, got %q", f, i, m.ContainerPath)
		}
	}
	for i, u := range cp.Ulimits {
		switch {
		case !slices.Contains(bexec.UlimitNames, u.Name):
			return awserr.Client("%s.ulimits[%d].name: unknown ulimit %q", f, i, u.Name)
		case u.SoftLimit == nil || u.HardLimit == nil:
			return awserr.Client("%s.ulimits[%d]: softLimit and hardLimit are required", f, i)
		case *u.SoftLimit > *u.HardLimit:
			return awserr.Client("%s.ulimits[%d]: softLimit %d is above hardLimit %d", f, i, *u.SoftLimit, *u.HardLimit)
		}
	}
	if lp := cp.LinuxParameters; lp != nil {
		switch {
		case len(lp.Devices) > 0:
			return awserr.Client("%s.linuxParameters.devices: host devices are not supported by barge", f)
		case len(lp.Tmpfs) > 0:
			return awserr.Client("%s.linuxParameters.tmpfs is not supported by barge yet", f)
		}
	}
	return nil
}

// isolationSpec copies what the sandbox enforces from a job's container into spec.
func isolationSpec(c *wire.ContainerDetail, spec *bexec.Spec) {
	sources := map[string]string{}
	for _, v := range c.Volumes {
		src := ""
		if v.Host != nil {
			src = v.Host.SourcePath
		}
		sources[v.Name] = src
	}
	for _, m := range c.MountPoints {
		spec.Mounts = append(spec.Mounts, bexec.Mount{Source: sources[m.SourceVolume], Target: m.ContainerPath, ReadOnly: deref(m.ReadOnly)})
	}
	for _, u := range c.Ulimits {
		spec.Ulimits = append(spec.Ulimits, bexec.Ulimit{Name: u.Name, Soft: int64(deref(u.SoftLimit)), Hard: int64(deref(u.HardLimit))})
	}
	spec.ReadonlyRootFS = deref(c.ReadonlyRootFilesystem)
	spec.User = c.User
	spec.Privileged = deref(c.Privileged)
	if lp := c.LinuxParameters; lp != nil {
		spec.SharedMemoryMiB = int64(deref(lp.SharedMemorySize))
		spec.InitProcess = deref(lp.InitProcessEnabled)
	}
}
