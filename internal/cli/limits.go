package cli

import (
	"flag"

	"github.com/barge-run/barge/internal/server"
)

// limitFlags registers the API listener's limits (server.Limits) on fs; the returned function
// reads them once fs is parsed.
func limitFlags(fs *flag.FlagSet) func() server.Limits {
	d := server.DefaultLimits
	readHeader := fs.Duration("read-header-timeout", d.ReadHeaderTimeout, "how long a client has to send a request's headers")
	read := fs.Duration("read-timeout", d.ReadTimeout, "how long a client has to send a whole request, body included")
	idle := fs.Duration("idle-timeout", d.IdleTimeout, "how long a keep-alive connection may wait for its next request")
	write := fs.Duration("write-timeout", d.WriteTimeout, "how long a response may take (must outlast the longest synchronous Invoke)")
	headerBytes := sizeFlag(int64(d.MaxHeaderBytes))
	fs.Var(&headerBytes, "max-header-bytes", "most bytes of a request's headers (a `SIZE`)")
	conns := fs.Int("max-connections", d.MaxConnections, "most client connections served at once (past it they wait in the kernel's backlog)")
	inflight := sizeFlag(d.MaxInflightBytes)
	fs.Var(&inflight, "max-inflight-bytes", "most request body bytes read at once across all requests (a `SIZE`); past it requests get 503 with Retry-After")
	return func() server.Limits {
		return server.Limits{ReadHeaderTimeout: *readHeader, ReadTimeout: *read, IdleTimeout: *idle, WriteTimeout: *write,
			MaxHeaderBytes: int(headerBytes), MaxConnections: *conns, MaxInflightBytes: int64(inflight)}
	}
}
