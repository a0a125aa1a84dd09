package lambda

import (
	"context"
	"log/slog"
	"time"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/fn"
)

// spec is what the pool needs to run the function, its code unpacked on this host; throttled
// when its reserved concurrency is 0.
func (s *Service) spec(account string, rec *record) (fn.FunctionSpec, bool) {
	if err := s.ensureCode(context.Background(), account, rec); err != nil {
		// The instance then fails to start, saying its code is missing; the log says why.
		slog.Warn("function code unavailable on this host", "function", rec.Config.FunctionName, "err", err)
	}
	c := &rec.Config
	spec := fn.FunctionSpec{
		Account: account, Name: c.FunctionName, Version: c.Version, ARN: c.FunctionArn, CodeDir: s.codePath(account, rec), OptDir: rec.OptDir,
		Handler: c.Handler, Runtime: string(c.Runtime), MemoryMiB: int(deref(c.MemorySize, 128)),
		Timeout: time.Duration(deref(c.Timeout, 3)) * time.Second, Role: c.Role,
	}
	_, spec.Region = s.scope(account)
	if c.Environment != nil {
		spec.Env = c.Environment.Variables
	}
	if lc := c.LoggingConfig; lc != nil {
		spec.LogFormat = string(lc.LogFormat)
		if lc.LogFormat == lw.LogFormatJson { // Lambda filters by level only JSON logs
			spec.LogLevel = string(lc.ApplicationLogLevel)
		}
	}
	if rec.ResolvedImageURI != "" {
		spec.Image = rec.ResolvedImageURI
		if ic := c.ImageConfigResponse; ic != nil && ic.ImageConfig != nil {
			spec.Entrypoint, spec.Command, spec.WorkingDir = ic.ImageConfig.EntryPoint, ic.ImageConfig.Command, ic.ImageConfig.WorkingDirectory
		}
	}
	if rec.Reserved != nil {
		if *rec.Reserved == 0 {
			return spec, true
		}
		spec.ReservedConcurrency = int(*rec.Reserved)
	}
	return spec, false
}
