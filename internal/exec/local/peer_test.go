package local

import (
	"bufio"
	"net"
	"strings"
	"testing"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/sandbox"
)

// endpoint is an attempt's listener that answers "secret" to every connection; its address is
// sent on addr once it listens.
func endpoint(addr chan<- string) bexec.Listen {
	return bexec.Listen{Addr: "127.0.0.1:9001", Env: "ENDPOINT", Serve: func(l net.Listener) {
		addr <- l.Addr().String()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("secret\n"))
				c.Close()
			}
		}()
	}}
}

// TestHostNetworkEndpointOnlyForItsTenant: with the host's network shared (--job-network host),
// an attempt's endpoint (a function's Runtime API) is a host loopback port; the attempt itself
// reaches it, another tenant's attempt and any other host process do not.
func TestHostNetworkEndpointOnlyForItsTenant(t *testing.T) {
	v := sandboxed(t, func(o *sandbox.Options) { o.HostNetwork = true })
	addrs := make(chan string, 2)
	x, out, errOut := v.run(t, bexec.Spec{Tenant: "victim", ID: t.Name() + "-self",
		Command: []string{"sh", "-c", `exec python3 -c "$DIAL" "$ENDPOINT"`}, Env: []string{"DIAL=" + dial},
		Listen: []bexec.Listen{endpoint(addrs)}})
	if x.Code != 0 || !strings.Contains(out, "read secret") {
		t.Fatalf("the attempt could not reach its own endpoint %s: %+v %q %q", <-addrs, x, out, errOut)
	}
	holder, _, _ := v.start(t, bexec.Spec{Tenant: "victim", ID: t.Name() + "-holder", Command: []string{"sleep", "60"},
		Listen: []bexec.Listen{endpoint(addrs)}})
	defer holder.Wait()
	defer holder.Stop(0)
	<-addrs
	target := <-addrs
	x, out, errOut = v.run(t, bexec.Spec{Tenant: "thief", ID: t.Name() + "-thief", Command: []string{"python3", "-c", dial, target}})
	if x.Code != 0 || !strings.Contains(out, target) || strings.Contains(out, "read secret") {
		t.Fatalf("another tenant's attempt dialling %s: %+v %q %q", target, x, out, errOut)
	}
	if c, err := net.Dial("tcp", target); err == nil {
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != "" {
			t.Fatalf("a host process read %q from the attempt's endpoint", line)
		}
	}
}
