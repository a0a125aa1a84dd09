package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/logs"
	"github.com/barge-run/barge/internal/store/sqlite"
)

// wantClientError checks that err is a ClientException whose message has want ("" wants no error).
func wantClientError(t *testing.T, what string, err error, want string) {
	t.Helper()
	var ae *awserr.Error
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: refused: %v", what, err)
	case want != "" && err == nil:
		t.Errorf("%s: accepted, want a ClientException with %q", what, want)
	case want != "" && (!errors.As(err, &ae) || ae.Code != "ClientException" || !strings.Contains(ae.Message, want)):
		t.Errorf("%s: %v, want a ClientException with %q", what, err, want)
	}
}

func hostVolume(path string) wire.Volume {
	return wire.Volume{Name: "v", Host: &wire.Host{SourcePath: path}}
}

// TestCheckIsolationVolumes: a volume's host.sourcePath is accepted only inside a volume root,
// clean, away from /proc, /sys, /dev and barge's data directory; scratch volumes always are.
func TestCheckIsolationVolumes(t *testing.T) {
	t.Parallel()
	const field = "containerProperties.volumes[0].host.sourcePath"
	withRoots := &Service{cfg: Config{DataDir: "/var/lib/barge", VolumeRoots: []string{"/srv/data", "/scratch"}}}
	noRoots := &Service{cfg: Config{DataDir: "/var/lib/barge"}}
	for _, c := range []struct {
		s    *Service
		vols []wire.Volume
		want string // a part of the refusal; "" when accepted
	}{
		// Accepted: inside a root (or the root itself), and scratch volumes with or without roots.
		{withRoots, []wire.Volume{hostVolume("/srv/data")}, ""},
		{withRoots, []wire.Volume{hostVolume("/srv/data/project/in")}, ""},
		{withRoots, []wire.Volume{hostVolume("/scratch/x")}, ""},
		{withRoots, []wire.Volume{{Name: "tmp"}}, ""},
		{withRoots, []wire.Volume{{Name: "tmp", Host: &wire.Host{}}}, ""},
		{noRoots, []wire.Volume{{Name: "tmp"}}, ""},
		{noRoots, []wire.Volume{{Name: "tmp", Host: &wire.Host{}}}, ""},
		{noRoots, nil, ""},

		// Not absolute, not clean.
		{withRoots, []wire.Volume{hostVolume("data")}, field + " must be an absolute path"},
		{withRoots, []wire.Volume{hostVolume("./srv/data")}, field + " must be an absolute path"},
		{withRoots, []wire.Volume{hostVolume("/srv/data/../../etc")}, field + `: "/srv/data/../../etc" has a .. element`},
		{withRoots, []wire.Volume{hostVolume("/srv/data/..")}, ".. element"},
		{withRoots, []wire.Volume{hostVolume("/srv/data/./x")}, field + `: "/srv/data/./x" is not a clean path; write it /srv/data/x`},
		{withRoots, []wire.Volume{hostVolume("/srv/data/x/")}, "not a clean path"},
		{withRoots, []wire.Volume{hostVolume("/srv//data")}, "not a clean path"},

		// The kernel's trees.
		{withRoots, []wire.Volume{hostVolume("/proc")}, field + ": /proc is in /proc: /proc, /sys and /dev cannot be volumes"},
		{withRoots, []wire.Volume{hostVolume("/proc/1/root")}, "/proc, /sys and /dev cannot be volumes"},
		{withRoots, []wire.Volume{hostVolume("/sys")}, "/proc, /sys and /dev cannot be volumes"},
		{withRoots, []wire.Volume{hostVolume("/sys/fs/cgroup")}, "/proc, /sys and /dev cannot be volumes"},
		{withRoots, []wire.Volume{hostVolume("/dev")}, "/proc, /sys and /dev cannot be volumes"},
		{withRoots, []wire.Volume{hostVolume("/dev/sda")}, "/proc, /sys and /dev cannot be volumes"},
		{noRoots, []wire.Volume{hostVolume("/proc/self")}, "/proc, /sys and /dev cannot be volumes"},

		// barge's data directory, inside it, or one of its parents.
		{withRoots, []wire.Volume{hostVolume("/var/lib/barge")}, field + ": /var/lib/barge is barge's data directory"},
		{withRoots, []wire.Volume{hostVolume("/var/lib/barge/credentials.json")}, "is inside barge's data directory"},
		{withRoots, []wire.Volume{hostVolume("/var/lib")}, "holds barge's data directory"},
		{withRoots, []wire.Volume{hostVolume("/")}, field + ": / holds barge's data directory"},

		// Outside every root; with no roots, every host path.
		{withRoots, []wire.Volume{hostVolume("/etc")}, field + ": /etc is not under a volume root this barge allows (--volume-root: /srv/data, /scratch)"},
		{withRoots, []wire.Volume{hostVolume("/srv/data2")}, "not under a volume root"},
		{withRoots, []wire.Volume{hostVolume("/srv")}, "not under a volume root"},
		{withRoots, []wire.Volume{hostVolume("/var/lib/barge2")}, "not under a volume root"},
		{withRoots, []wire.Volume{hostVolume("/devices")}, "not under a volume root"},
		{noRoots, []wire.Volume{hostVolume("/srv/data")}, field + ": /srv/data is not under a volume root: this barge allows no host volumes (the operator can allow a root with `barge server --volume-root DIR`)"},
		{noRoots, []wire.Volume{hostVolume("/")}, "holds barge's data directory"},

		// The field names the volume that is refused.
		{withRoots, []wire.Volume{hostVolume("/srv/data/ok"), {Name: "w", Host: &wire.Host{SourcePath: "/etc/shadow"}}}, "containerProperties.volumes[1].host.sourcePath: /etc/shadow is not under a volume root"},
	} {
		cp := &wire.ContainerProperties{Command: []string{"true"}, Volumes: c.vols}
		what := "no roots"
		if len(c.s.cfg.VolumeRoots) > 0 {
			what = "roots " + strings.Join(c.s.cfg.VolumeRoots, ",")
		}
		for _, v := range c.vols {
			if v.Host != nil {
				what += " " + v.Host.SourcePath
			}
		}
		wantClientError(t, what, c.s.checkIsolation(cp), c.want)
	}
}

// TestCheckIsolationEphemeralStorage: sizeInGiB is 1 to 200 (AWS: 21 to 200, Fargate only).
func TestCheckIsolationEphemeralStorage(t *testing.T) {
	t.Parallel()
	const want = "containerProperties.ephemeralStorage.sizeInGiB must be between 1 and 200"
	s := &Service{}
	for _, c := range []struct {
		es   *wire.EphemeralStorage
		want string
	}{
		{nil, ""},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(1))}, ""},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(20))}, ""},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(21))}, ""},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(200))}, ""},
		{&wire.EphemeralStorage{}, "containerProperties.ephemeralStorage.sizeInGiB is required"},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(0))}, want + ", got 0"},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(-5))}, want + ", got -5"},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(201))}, want + ", got 201"},
		{&wire.EphemeralStorage{SizeInGiB: ptr(int32(1 << 30))}, want},
	} {
		what := fmt.Sprintf("ephemeralStorage %+v", c.es)
		if c.es != nil && c.es.SizeInGiB != nil {
			what = fmt.Sprintf("sizeInGiB %d", *c.es.SizeInGiB)
		}
		wantClientError(t, what, s.checkIsolation(&wire.ContainerProperties{EphemeralStorage: c.es}), c.want)
	}
}

// TestIsolationSpecDiskBytes: ephemeralStorage becomes the attempt's disk bound; absent, 0 (the
// executor's default).
func TestIsolationSpecDiskBytes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		es   *wire.EphemeralStorage
		want int64
	}{{nil, 0}, {&wire.EphemeralStorage{}, 0}, {&wire.EphemeralStorage{SizeInGiB: ptr(int32(1))}, 1 << 30}, {&wire.EphemeralStorage{SizeInGiB: ptr(int32(200))}, 200 << 30}} {
		var spec bexec.Spec
		isolationSpec(&wire.ContainerDetail{EphemeralStorage: c.es}, &spec)
		if spec.DiskBytes != c.want {
			t.Errorf("ephemeralStorage %+v: DiskBytes %d, want %d", c.es, spec.DiskBytes, c.want)
		}
	}
}

// TestCheckVolumeRoots: the operator's roots are absolute, not /, not in /proc, /sys or /dev,
// and clear of barge's data directory either way, also through symbolic links.
func TestCheckVolumeRoots(t *testing.T) {
	t.Parallel()
	const dataDir = "/var/lib/barge"
	for _, c := range []struct {
		roots []string
		want  []string // the roots as kept, when accepted
		err   string   // a part of the error; "" when accepted
	}{
		{roots: nil, want: []string{}},
		{roots: []string{"/srv/data", "/scratch"}, want: []string{"/srv/data", "/scratch"}},
		{roots: []string{"/srv/data/", "/srv/./x//y"}, want: []string{"/srv/data", "/srv/x/y"}},
		{roots: []string{"/var/lib/barge2", "/devices", "/system", "/var/lib/bar"}, want: []string{"/var/lib/barge2", "/devices", "/system", "/var/lib/bar"}},
		{roots: []string{"srv/data"}, err: `--volume-root "srv/data": must be an absolute path`},
		{roots: []string{"/srv/data", "."}, err: `--volume-root ".": must be an absolute path`},
		{roots: []string{"/"}, err: "--volume-root /: the whole host filesystem cannot be a volume root"},
		{roots: []string{"/srv/.."}, err: "--volume-root /: the whole host filesystem"},
		{roots: []string{"/proc"}, err: "--volume-root /proc: /proc, /sys and /dev cannot be volume roots"},
		{roots: []string{"/sys"}, err: "/proc, /sys and /dev cannot be volume roots"},
		{roots: []string{"/sys/fs/cgroup"}, err: "/proc, /sys and /dev cannot be volume roots"},
		{roots: []string{"/dev"}, err: "/proc, /sys and /dev cannot be volume roots"},
		{roots: []string{"/dev/shm"}, err: "/proc, /sys and /dev cannot be volume roots"},
		{roots: []string{dataDir}, err: "--volume-root /var/lib/barge: overlaps barge's data directory /var/lib/barge"},
		{roots: []string{dataDir + "/volumes"}, err: "overlaps barge's data directory"},
		{roots: []string{"/var/lib"}, err: "overlaps barge's data directory"},
		{roots: []string{"/var"}, err: "overlaps barge's data directory"},
	} {
		got, err := CheckVolumeRoots(c.roots, dataDir)
		switch {
		case c.err == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("roots %q: %q, %v; want %q", c.roots, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("roots %q: %q, %v; want an error with %q", c.roots, got, err, c.err)
		}
	}

	// Links: a root that is a link to / or into the data directory is refused, and so is one
	// that holds the data directory's real path.
	dir := t.TempDir()
	data, real := filepath.Join(dir, "data"), filepath.Join(dir, "real")
	for _, d := range []string{data, real, filepath.Join(real, "vols")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"to-root": "/", "to-data": data, "to-proc": "/proc/self", "to-vols": filepath.Join(real, "vols"), "data-link": data} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		roots   []string
		dataDir string
		err     string
	}{
		{[]string{filepath.Join(dir, "to-vols")}, data, ""},
		{[]string{filepath.Join(dir, "to-root")}, data, "(a link to /): the whole host filesystem"},
		{[]string{filepath.Join(dir, "to-data")}, data, "overlaps barge's data directory"},
		{[]string{filepath.Join(dir, "to-proc")}, data, "/proc, /sys and /dev cannot be volume roots"},
		// The data directory reached through a link: the root is checked against its real path.
		{[]string{data}, filepath.Join(dir, "data-link"), "overlaps barge's data directory " + data},
		{[]string{filepath.Join(dir, "missing")}, data, ""},
	} {
		_, err := CheckVolumeRoots(c.roots, c.dataDir)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("roots %q, data %s: %v", c.roots, c.dataDir, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("roots %q, data %s: %v; want an error with %q", c.roots, c.dataDir, err, c.err)
		}
	}
}

// specExec is a fake executor that also hands each Spec it starts to the test.
type specExec struct {
	*fakeExec
	specs chan bexec.Spec
}

func (e *specExec) Start(ctx context.Context, sp bexec.Spec) (bexec.Process, error) {
	e.specs <- sp
	return e.fakeExec.Start(ctx, sp)
}

// TestVolumeRootsAndEphemeralStorageThroughTheService: RegisterJobDefinition refuses what
// checkIsolation refuses; a job's ephemeralStorage and account reach the executor's Spec; a
// definition a later configuration no longer allows is refused at SubmitJob; New refuses bad
// roots.
func TestVolumeRootsAndEphemeralStorageThroughTheService(t *testing.T) {
	dir := t.TempDir()
	dataDir, root := filepath.Join(dir, "data"), filepath.Join(dir, "vols")
	db, err := sqlite.Open(filepath.Join(dir, "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ls, err := logs.Open(filepath.Join(dir, "logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	const account = "111122223333"
	ctx := context.Background()
	start := func(roots ...string) (*Service, *specExec) {
		t.Helper()
		ex := &specExec{fakeExec: newFakeExec(newRecorder(), 1, func(string, int) (int, int) { return 0, 0 }), specs: make(chan bexec.Spec, 4)}
		s, err := New(Config{Store: db, Executor: ex, Logs: ls, WorkDir: filepath.Join(dir, "work"), DataDir: dataDir, VolumeRoots: roots,
			Host: HostCapacity{VCPUs: 2, MemoryMiB: 1024}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureDefaults(ctx, account); err != nil {
			t.Fatal(err)
		}
		return s, ex
	}
	register := func(s *Service, name string, cp *wire.ContainerProperties) error {
		cp.Command = []string{"true"}
		cp.ResourceRequirements = []wire.ResourceRequirement{{Type: wire.ResourceTypeVcpu, Value: "1"}, {Type: wire.ResourceTypeMemory, Value: "16"}}
		_, err := s.RegisterJobDefinition(ctx, account, &wire.RegisterJobDefinitionRequest{JobDefinitionName: name, Type: wire.JobDefinitionTypeContainer, ContainerProperties: cp})
		return err
	}
	submit := func(s *Service, def string) (string, error) {
		out, err := s.SubmitJob(ctx, account, &wire.SubmitJobRequest{JobName: def, JobQueue: "default", JobDefinition: def})
		if err != nil {
			return "", err
		}
		return out.JobId, nil
	}

	s, ex := start(root + "/")
	for _, c := range []struct {
		cp   *wire.ContainerProperties
		want string
	}{
		{&wire.ContainerProperties{Volumes: []wire.Volume{hostVolume("/proc")}}, "containerProperties.volumes[0].host.sourcePath: /proc is in /proc"},
		{&wire.ContainerProperties{Volumes: []wire.Volume{hostVolume(dataDir)}}, "is barge's data directory"},
		{&wire.ContainerProperties{Volumes: []wire.Volume{hostVolume(dir)}}, "holds barge's data directory"},
		{&wire.ContainerProperties{Volumes: []wire.Volume{hostVolume("/etc")}}, "not under a volume root this barge allows (--volume-root: " + root + ")"},
		{&wire.ContainerProperties{EphemeralStorage: &wire.EphemeralStorage{SizeInGiB: ptr(int32(201))}}, "containerProperties.ephemeralStorage.sizeInGiB must be between 1 and 200"},
	} {
		wantClientError(t, "register", register(s, "bad", c.cp), c.want)
	}
	if err := register(s, "vol", &wire.ContainerProperties{Volumes: []wire.Volume{hostVolume(root + "/in")},
		MountPoints: []wire.MountPoint{{SourceVolume: "v", ContainerPath: "/in"}}, EphemeralStorage: &wire.EphemeralStorage{SizeInGiB: ptr(int32(5))}}); err != nil {
		t.Fatal(err)
	}
	if err := register(s, "plain", &wire.ContainerProperties{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		def  string
		disk int64
	}{{"vol", 5 << 30}, {"plain", 0}} {
		if _, err := submit(s, c.def); err != nil {
			t.Fatal(err)
		}
		sp := <-ex.specs
		if sp.DiskBytes != c.disk || sp.Tenant != account {
			t.Errorf("%s: Spec DiskBytes %d, Tenant %q; want %d, %q", c.def, sp.DiskBytes, sp.Tenant, c.disk, account)
		}
		if c.def == "vol" && !slices.Equal(sp.Mounts, []bexec.Mount{{Source: root + "/in", Target: "/in"}}) {
			t.Errorf("%s: mounts %+v", c.def, sp.Mounts)
		}
	}
	s.Stop()

	// The same store under a barge started without the root: the definition is refused at
	// SubmitJob rather than failing its job at start.
	s, _ = start()
	defer s.Stop()
	_, err = submit(s, "vol")
	wantClientError(t, "submit after the root went", err, "no longer passes this barge's checks: containerProperties.volumes[0].host.sourcePath: "+root+"/in is not under a volume root: this barge allows no host volumes")
	if _, err := submit(s, "plain"); err != nil {
		t.Fatal(err)
	}

	for _, roots := range [][]string{{"relative"}, {"/"}, {"/proc"}, {dataDir}, {dir}} {
		if _, err := New(Config{Store: db, Executor: ex, Logs: ls, DataDir: dataDir, VolumeRoots: roots}); err == nil || !strings.Contains(err.Error(), "--volume-root") {
			t.Errorf("New with roots %q: %v", roots, err)
		}
	}
}
