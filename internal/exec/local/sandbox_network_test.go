package local

import (
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/sandbox"
)

// dial is a job that connects to each host:port of its arguments ("gateway" is its default
// route's gateway) and prints what it read, or why it could not.
const dial = `
import socket, struct, sys
def gateway():
    for line in open("/proc/net/route").read().splitlines()[1:]:
        f = line.split()
        if f[1] == "00000000":
            return socket.inet_ntoa(struct.pack("<I", int(f[2], 16)))
    return "no-gateway"
for a in sys.argv[1:]:
    host, port = a.rsplit(":", 1)
    if host == "gateway":
        host = gateway()
    try:
        s = socket.create_connection((host, int(port)), timeout=3)
        print(a, "read", s.recv(100).decode().strip())
    except Exception as e:
        print(a, "failed", type(e).__name__, e)
`

// hostIPv4 is an IPv4 address of one of the host's interfaces, not loopback, outside the
// sandboxes' own 10.0.2.0/24; the test skips without one.
func hostIPv4(t *testing.T) string {
	t.Helper()
	_, nat, _ := net.ParseCIDR("10.0.2.0/24")
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() && !nat.Contains(n.IP) {
				return n.IP.String()
			}
		}
	}
	t.Skip("the host has no non-loopback IPv4 address (outside 10.0.2.0/24) to serve on")
	return ""
}

// greeter listens on addr and answers every connection with greeting; it counts them.
func greeter(t *testing.T, addr, greeting string) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Write([]byte(greeting + "\n"))
			c.Close()
		}
	}()
	return l.Addr().String(), &n
}

// TestSandboxNetworkNAT: with --job-network nat a job reaches a server on the host's own
// (non-loopback) address through pasta, but neither the host's loopback nor, through the
// gateway, what pasta would otherwise map to it; without nat (the default) it reaches nothing.
func TestSandboxNetworkNAT(t *testing.T) {
	if _, err := exec.LookPath("pasta"); err != nil {
		t.Skip("pasta is not installed (Debian's package passt)")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	ext, extConns := greeter(t, net.JoinHostPort(hostIPv4(t), "0"), "hello-from-host")
	lo, _ := greeter(t, "127.0.0.1:0", "hello-from-host-loopback")
	_, loPort, _ := net.SplitHostPort(lo)
	job := func(v env, targets ...string) string {
		t.Helper()
		x, out, errs := v.run(t, bexec.Spec{Command: append([]string{"python3", "-c", dial}, targets...)})
		if x.Code != 0 {
			t.Fatalf("exit %+v; stdout %q stderr %q", x, out, errs)
		}
		return out
	}

	t.Run("nat", func(t *testing.T) {
		v := sandboxed(t, func(o *sandbox.Options) { o.NetworkNAT = true })
		out := job(v, ext, "127.0.0.1:"+loPort, "gateway:"+loPort, "169.254.169.254:80")
		if !strings.Contains(out, ext+" read hello-from-host\n") {
			t.Errorf("the host's address was not reached through pasta:\n%s", out)
		}
		for _, target := range []string{"127.0.0.1:" + loPort, "gateway:" + loPort, "169.254.169.254:80"} {
			if !strings.Contains(out, target+" failed") {
				t.Errorf("%s reached from the sandbox:\n%s", target, out)
			}
		}
		// (The loopback listener's own count is no witness: other tests on this host, such as
		// e2e's unprotected Runtime API thief, scan loopback ports and connect to it.)
		if strings.Contains(out, "hello-from-host-loopback") {
			t.Errorf("the sandbox read from the host's loopback:\n%s", out)
		}
		if strings.Contains(out, "no-gateway") {
			t.Errorf("no default route inside:\n%s", out)
		}
	})
	t.Run("isolated", func(t *testing.T) {
		before := extConns.Load()
		out := job(sandboxed(t), ext)
		if !strings.Contains(out, ext+" failed") || extConns.Load() != before {
			t.Errorf("an isolated sandbox reached the host's address:\n%s", out)
		}
	})
}
