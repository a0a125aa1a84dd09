package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// unreachable recognises an error of a request that never reached a server (nothing listening,
// no route, unknown host) and says so in one line, with the address tried and what to do,
// instead of the SDK's chain of wrapped errors.
func unreachable(err error) (string, bool) {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return "", false
	}
	endpoint := ""
	if op.Addr != nil {
		endpoint = "http://" + op.Addr.String()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			endpoint = u.Scheme + "://" + u.Host
		}
	}
	cause := "no answer"
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		cause = "connection refused"
	case errors.As(err, &dns):
		cause = "unknown host " + dns.Name
	case op.Timeout():
		cause = "timed out"
	case op.Err != nil:
		cause = op.Err.Error()
	}
	return fmt.Sprintf("barge: cannot reach the barge server at %s (%s): start it with `barge server`, or set --addr / AWS_ENDPOINT_URL to where it listens", endpoint, cause), true
}
