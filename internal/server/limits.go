package server

import (
	"log"
	"net/http"
	"time"
)

// Limits bound what clients can hold of the API listener: connections, time and memory. Each
// has a `barge server` flag (docs/operations.md lists them).
type Limits struct {
	// ReadHeaderTimeout is how long a client has to send a request's headers (--read-header-timeout).
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a client has to send a whole request, body included (--read-timeout).
	ReadTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next request (--idle-timeout).
	IdleTimeout time.Duration
	// WriteTimeout is how long a response may take, from the end of the request's headers
	// (--write-timeout): it must outlast the longest synchronous Invoke.
	WriteTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (--max-header-bytes).
	MaxHeaderBytes int
	// MaxConnections bounds the connections served at once; past it new ones wait in the
	// kernel's backlog (--max-connections).
	MaxConnections int
	// MaxInflightBytes bounds the request body bytes read at once across all requests; past it
	// requests are refused with 503 and Retry-After (--max-inflight-bytes).
	MaxInflightBytes int64
}

// DefaultLimits cut slow clients off — headers within 10 s, a whole request (a 50 MB function
// package included) within 2 minutes, an idle connection after 2 minutes — and let a response
// take 16 minutes, past Lambda's 15-minute longest invocation.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       2 * time.Minute,
	IdleTimeout:       2 * time.Minute,
	WriteTimeout:      16 * time.Minute,
	MaxHeaderBytes:    64 << 10,
	MaxConnections:    4096,
	MaxInflightBytes:  256 << 20,
}

// withDefaults fills the fields that are not positive from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	return Limits{
		ReadHeaderTimeout: positiveOr(l.ReadHeaderTimeout, d.ReadHeaderTimeout),
		ReadTimeout:       positiveOr(l.ReadTimeout, d.ReadTimeout),
		IdleTimeout:       positiveOr(l.IdleTimeout, d.IdleTimeout),
		WriteTimeout:      positiveOr(l.WriteTimeout, d.WriteTimeout),
		MaxHeaderBytes:    positiveOr(l.MaxHeaderBytes, d.MaxHeaderBytes),
		MaxConnections:    positiveOr(l.MaxConnections, d.MaxConnections),
		MaxInflightBytes:  positiveOr(l.MaxInflightBytes, d.MaxInflightBytes),
	}
}

func positiveOr[T int | int64 | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// httpServer is the API's http.Server under these limits.
func (l Limits) httpServer(h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{Handler: h, ErrorLog: errorLog,
		ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout, IdleTimeout: l.IdleTimeout,
		WriteTimeout: l.WriteTimeout, MaxHeaderBytes: l.MaxHeaderBytes}
}
