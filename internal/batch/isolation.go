package batch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
		}
		if v.Host != nil && v.Host.SourcePath != "" {
			if err := s.checkHostPath(fmt.Sprintf("%s.volumes[%d].host.sourcePath", f, i), v.Host.SourcePath); err != nil {
				return err
			}
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
	if es := cp.EphemeralStorage; es != nil {
		switch {
		case es.SizeInGiB == nil:
			return awserr.Client("%s.ephemeralStorage.sizeInGiB is required", f)
		case *es.SizeInGiB < MinEphemeralStorageGiB || *es.SizeInGiB > MaxEphemeralStorageGiB:
			return awserr.Client("%s.ephemeralStorage.sizeInGiB must be between %d and %d, got %d", f, MinEphemeralStorageGiB, MaxEphemeralStorageGiB, *es.SizeInGiB)
		}
	}
	return nil
}

// The bounds of containerProperties.ephemeralStorage.sizeInGiB. AWS takes 21 to 200 (and only on
// Fargate); barge bounds every attempt's writable space by it and also takes smaller sizes.
const (
	MinEphemeralStorageGiB = 1
	MaxEphemeralStorageGiB = 200
)

// hostOnlyDirs are the kernel's trees: no volume may come from them, nor be a volume root.
var hostOnlyDirs = []string{"/proc", "/sys", "/dev"}

// checkHostPath refuses a volume's host path unless it lies inside a volume root the operator
// named, away from the kernel's trees and barge's data directory. It is lexical (the path need
// not exist yet); the executor resolves the path again when an attempt starts.
func (s *Service) checkHostPath(field, p string) error {
	if s.cfg.UncheckedVolumes && filepath.IsAbs(p) {
		return nil
	}
	switch {
	case !filepath.IsAbs(p):
		return awserr.Client("%s must be an absolute path, got %q", field, p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return awserr.Client("%s: %q has a .. element; name the directory itself", field, p)
	case filepath.Clean(p) != p:
		return awserr.Client("%s: %q is not a clean path; write it %s", field, p, filepath.Clean(p))
	}
	for _, d := range hostOnlyDirs {
		if within(p, d) {
			return awserr.Client("%s: %s is in %s: /proc, /sys and /dev cannot be volumes", field, p, d)
		}
	}
	if dd := s.cfg.DataDir; dd != "" {
		switch {
		case p == dd:
			return awserr.Client("%s: %s is barge's data directory, which jobs cannot reach", field, p)
		case within(p, dd):
			return awserr.Client("%s: %s is inside barge's data directory, which jobs cannot reach", field, p)
		case within(dd, p):
			return awserr.Client("%s: %s holds barge's data directory, which jobs cannot reach", field, p)
		}
	}
	if len(s.cfg.VolumeRoots) == 0 {
		return awserr.Client("%s: %s is not under a volume root: this barge allows no host volumes (the operator can allow a root with `barge server --volume-root DIR`)", field, p)
	}
	for _, r := range s.cfg.VolumeRoots {
		if within(p, r) {
			return nil
		}
	}
	return awserr.Client("%s: %s is not under a volume root this barge allows (--volume-root: %s)", field, p, strings.Join(s.cfg.VolumeRoots, ", "))
}

// CheckVolumeRoots validates the operator's volume roots (--volume-root) against barge's data
// directory dataDir (absolute) and returns them in clean form. A root must be absolute, must not
// be / or lie in /proc, /sys or /dev, and must neither hold nor lie inside the data directory.
// Where a root or the data directory exists, its symbolic links are resolved and the resolved
// paths are held to the same rules, so that a link cannot stand in for a refused directory.
func CheckVolumeRoots(roots []string, dataDir string) ([]string, error) {
	var dataDirs []string
	if dataDir != "" {
		dataDirs = append(dataDirs, filepath.Clean(dataDir))
		if real, err := filepath.EvalSymlinks(dataDir); err == nil && real != dataDirs[0] {
			dataDirs = append(dataDirs, real)
		}
	}
	out := make([]string, 0, len(roots))
	for _, r := range roots {
		if !filepath.IsAbs(r) {
			return nil, fmt.Errorf("--volume-root %q: must be an absolute path", r)
		}
		r = filepath.Clean(r)
		forms := []string{r}
		if real, err := filepath.EvalSymlinks(r); err == nil && real != r {
			forms = append(forms, real)
		} else if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("--volume-root %s: %w", r, err)
		}
		for _, p := range forms {
			if err := checkVolumeRoot(p, dataDirs); err != nil {
				if p != r {
					return nil, fmt.Errorf("--volume-root %s (a link to %s): %w", r, p, err)
				}
				return nil, fmt.Errorf("--volume-root %s: %w", r, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func checkVolumeRoot(p string, dataDirs []string) error {
	if p == "/" {
		return errors.New("the whole host filesystem cannot be a volume root")
	}
	for _, d := range hostOnlyDirs {
		if within(p, d) {
			return errors.New("/proc, /sys and /dev cannot be volume roots, nor what lies in them")
		}
	}
	for _, dd := range dataDirs {
		if within(p, dd) || within(dd, p) {
			return fmt.Errorf("overlaps barge's data directory %s (jobs must never reach its database, credentials or other jobs' files)", dd)
		}
	}
	return nil
}

// within reports whether the clean, absolute path p is dir or lies under it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
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
	if es := c.EphemeralStorage; es != nil && es.SizeInGiB != nil {
		spec.DiskBytes = int64(*es.SizeInGiB) << 30
	}
	spec.ReadonlyRootFS = deref(c.ReadonlyRootFilesystem)
	spec.User = c.User
	spec.Privileged = deref(c.Privileged)
	if lp := c.LinuxParameters; lp != nil {
		spec.SharedMemoryMiB = int64(deref(lp.SharedMemorySize))
		spec.InitProcess = deref(lp.InitProcessEnabled)
	}
}
