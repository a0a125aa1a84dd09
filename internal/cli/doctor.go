package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"

	"github.com/barge-run/barge/internal/exec/sandbox"
)

// cmdDoctor reports what this host offers for isolating jobs and what barge will enforce.
func cmdDoctor(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(out, "host:        %s/%s, %d CPUs, Go %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(out, "user:        uid %d%s\n", os.Geteuid(), map[bool]string{true: " (root)", false: " (not root: namespaces and cgroups need root or delegation)"}[os.Geteuid() == 0])
	fmt.Fprintf(out, "namespaces:  %s\n", namespaces())
	fmt.Fprintf(out, "cgroups:     %s\n", cgroups())
	if what, err := sandbox.Report(); err != nil {
		fmt.Fprintf(out, "sandbox:     NOTHING ENFORCED: %v; jobs and functions run as plain host processes (vCPU and memory reserved by the scheduler, not enforced) and images cannot run\n", err)
	} else {
		fmt.Fprintf(out, "sandbox:     %s", what)
	}
	return nil
}

// namespaces lists the namespace types the kernel exposes for this process.
func namespaces() string {
	entries, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// cgroups says which cgroup version is mounted and its controllers.
func cgroups() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err != nil {
		return "none mounted at /sys/fs/cgroup"
	}
	const cgroup2Magic = 0x63677270
	if st.Type == cgroup2Magic {
		b, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		return "v2 (unified); controllers: " + strings.TrimSpace(string(b))
	}
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return "v1; unreadable: " + err.Error()
	}
	var hier []string
	for _, e := range entries {
		if e.IsDir() {
			hier = append(hier, e.Name())
		}
	}
	v := "v1"
	for _, h := range hier {
		if h == "unified" {
			v = "hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified)"
		}
	}
	return v + "; hierarchies: " + strings.Join(hier, " ")
}
