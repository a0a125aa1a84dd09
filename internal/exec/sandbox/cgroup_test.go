//go:build linux

package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCgroupV2Mechanics exercises the cgroup v2 driver where this host has a v2 hierarchy at all.
// On a hybrid host (controllers on v1, an empty unified hierarchy at /sys/fs/cgroup/unified) no
// limit can be set there, but creating a group, joining it the way a sandbox does (writing "0"
// to cgroup.procs), killing it and removing it are the same code as on a v2 host.
func TestCgroupV2Mechanics(t *testing.T) {
	var mount string
	for _, m := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var st syscall.Statfs_t
		if syscall.Statfs(m, &st) == nil && st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
			mount = m
			break
		}
	}
	if mount == "" || os.Geteuid() != 0 {
		t.Skip("no cgroup v2 hierarchy or not root")
	}
	d := &v2Driver{mount: mount, parent: "/barge-test-v2"}
	defer d.close()
	g, err := d.create("job-1", limits{}) // no controllers needed
	if err != nil {
		t.Fatal(err)
	}
	procs := g.procsFiles()
	if len(procs) != 1 || !strings.HasPrefix(procs[0], filepath.Join(mount, "barge-test-v2", "job-1")) {
		t.Fatalf("procs files %v", procs)
	}
	// Join the group as a sandbox does: the process writes "0" itself.
	cmd := exec.Command("sh", "-c", `echo 0 > "$1" && exec sleep 30`, "sh", procs[0])
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	inGroup := func() bool {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cgroup")
		return strings.Contains(string(b), "/barge-test-v2/job-1")
	}
	for deadline := time.Now().Add(10 * time.Second); !inGroup(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the process never joined its group")
		}
	}
	g.destroy() // kills what is inside, then removes the group
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("destroy left the process running")
	}
	if _, err := os.Stat(filepath.Join(mount, "barge-test-v2", "job-1")); !os.IsNotExist(err) {
		t.Errorf("the group is still there: %v", err)
	}
	// A leftover group (barge killed) is swept on the next start.
	if _, err := d.create("left-over", limits{}); err != nil {
		t.Fatal(err)
	}
	d.sweep()
	if _, err := os.Stat(filepath.Join(mount, "barge-test-v2", "left-over")); !os.IsNotExist(err) {
		t.Errorf("sweep left a group: %v", err)
	}
}
