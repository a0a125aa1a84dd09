package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// put writes a function's record back.
func (s *Service) put(ctx context.Context, account string, rec *record) error {
	if rec.Config.Version != "$LATEST" {
		return invalid("a published version cannot be changed")
	}
	body, _ := json.Marshal(rec)
	err := s.cfg.Store.ResourceUpdate(ctx, &store.Resource{Account: account, Kind: KindFunction, Name: rec.Config.FunctionName,
		Status: "Active", Body: body})
	s.fns.drop(account, rec.Config.FunctionName)
	if err != nil {
		return s.notFound(account, rec.Config.FunctionName)
	}
	return nil
}

func touch(c *lw.FunctionConfiguration) {
	c.LastModified = time.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
}

// UpdateFunctionConfiguration implements the Lambda operation (handler, role, runtime,
// description, memory, timeout, environment, logging). Instances of the old configuration are not reused.
func (s *Service) UpdateFunctionConfiguration(ctx context.Context, account string, in *lw.UpdateFunctionConfigurationRequest) (*lw.FunctionConfiguration, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	c := &rec.Config
	if in.MemorySize != nil {
		if *in.MemorySize < 128 || *in.MemorySize > 10240 {
			return nil, invalid("MemorySize must be between 128 and 10240 MB, got %d", *in.MemorySize)
		}
		c.MemorySize = in.MemorySize
	}
	if in.Timeout != nil {
		if *in.Timeout < 1 || *in.Timeout > 900 {
			return nil, invalid("Timeout must be between 1 and 900 seconds, got %d", *in.Timeout)
		}
		c.Timeout = in.Timeout
	}
	if in.Runtime != "" {
		if !runtimeSupported(in.Runtime) {
			return nil, unsupportedRuntime(in.Runtime)
		}
		if err := prepareRuntime(in.Runtime, rec.CodeDir); err != nil {
			return nil, serviceErr("installing the runtime failed", err)
		}
		c.Runtime = in.Runtime
	}
	if in.Role != "" {
		c.Role = in.Role
	}
	if in.Handler != "" {
		c.Handler = in.Handler
	}
	if in.Description != "" {
		c.Description = in.Description
	}
	if in.DeadLetterConfig != nil {
		if err := checkDeadLetter(in.DeadLetterConfig); err != nil {
			return nil, err
		}
		c.DeadLetterConfig = in.DeadLetterConfig
		if in.DeadLetterConfig.TargetArn == "" {
			c.DeadLetterConfig = nil
		}
	}
	if in.Environment != nil {
		c.Environment = &lw.EnvironmentResponse{Variables: in.Environment.Variables}
	}
	if in.TracingConfig != nil {
		c.TracingConfig = tracingConfig(in.TracingConfig)
	}
	if in.LoggingConfig != nil {
		c.LoggingConfig = loggingConfig(in.LoggingConfig)
	}
	if in.Layers != nil {
		if err := s.setLayers(ctx, account, rec, in.Layers); err != nil {
			return nil, err
		}
	}
	touch(c)
	if err := s.put(ctx, account, rec); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateFunctionCode implements the Lambda operation for zip packages.
func (s *Service) UpdateFunctionCode(ctx context.Context, account string, in *lw.UpdateFunctionCodeRequest) (*lw.FunctionConfiguration, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if rec.ImageURI != "" || in.ImageUri != "" {
		return s.updateImage(ctx, account, rec, in)
	}
	if in.ZipFile, err = s.packageBytes(ctx, "", in.ZipFile, in.S3Bucket, in.S3Key, in.S3ObjectVersion); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(in.ZipFile)
	hash := hex.EncodeToString(sum[:])
	name := rec.Config.FunctionName
	dir := filepath.Join(s.cfg.CodeDir, account, name, hash)
	if dir != rec.CodeDir {
		if err := s.saveCode(ctx, account, name, hash, in.ZipFile); err != nil {
			return nil, err
		}
		if err := unpackCode(in.ZipFile, rec.Config.Runtime, dir); err != nil {
			s.dropCode(ctx, account, name, hash)
			return nil, err
		}
	}
	old, oldHash := rec.CodeDir, rec.CodeHash
	rec.CodeDir, rec.CodeHash = dir, hash
	rec.Config.CodeSha256 = base64.StdEncoding.EncodeToString(sum[:])
	rec.Config.CodeSize = ptr(int64(len(in.ZipFile)))
	touch(&rec.Config)
	if err := s.put(ctx, account, rec); err != nil {
		return nil, err
	}
	if old != dir && !s.codeInUse(ctx, account, rec.Config.FunctionName, old) {
		// Running instances of the old code keep their open executable; no new one starts there
		// (the pool keys instances by code directory). Published versions keep theirs.
		os.RemoveAll(old)
		localCode.Delete(old)
		if oldHash != hash {
			s.dropCode(ctx, account, name, oldHash)
		}
	}
	if deref(in.Publish, false) {
		return s.PublishVersion(ctx, account, &lw.PublishVersionRequest{FunctionName: rec.Config.FunctionName})
	}
	return &rec.Config, nil
}

// updateImage points an image function at a new image (or the same reference, re-resolved).
func (s *Service) updateImage(ctx context.Context, account string, rec *record, in *lw.UpdateFunctionCodeRequest) (*lw.FunctionConfiguration, error) {
	switch {
	case rec.ImageURI == "":
		return nil, invalid("Please provide ZipFile: the function's package type is Zip")
	case in.ImageUri == "":
		return nil, invalid("Please provide ImageUri: the function's package type is Image")
	}
	if err := s.resolveImage(ctx, account, rec.Config.FunctionName, in.ImageUri, rec); err != nil {
		return nil, err
	}
	rec.Config.CodeSha256 = strings.TrimPrefix(rec.ResolvedImageURI[strings.LastIndexByte(rec.ResolvedImageURI, '@')+1:], "sha256:")
	touch(&rec.Config)
	if err := s.put(ctx, account, rec); err != nil {
		return nil, err
	}
	if deref(in.Publish, false) {
		return s.PublishVersion(ctx, account, &lw.PublishVersionRequest{FunctionName: rec.Config.FunctionName})
	}
	return &rec.Config, nil
}

// PutFunctionConcurrency implements the Lambda operation: reserved concurrency caps the function's
// concurrent invocations (0 throttles every invocation, as in AWS).
func (s *Service) PutFunctionConcurrency(ctx context.Context, account string, in *lw.PutFunctionConcurrencyRequest) (*lw.Concurrency, error) {
	if in.ReservedConcurrentExecutions == nil {
		return nil, invalid("ReservedConcurrentExecutions is required")
	}
	if n := *in.ReservedConcurrentExecutions; n < 0 || n > 1000 {
		return nil, invalid("ReservedConcurrentExecutions must be between 0 and 1000, got %d", n)
	}
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	rec.Reserved = in.ReservedConcurrentExecutions
	if err := s.put(ctx, account, rec); err != nil {
		return nil, err
	}
	return &lw.Concurrency{ReservedConcurrentExecutions: rec.Reserved}, nil
}

// GetFunctionConcurrency implements the Lambda operation.
func (s *Service) GetFunctionConcurrency(ctx context.Context, account string, in *lw.GetFunctionConcurrencyRequest) (*lw.GetFunctionConcurrencyResponse, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	return &lw.GetFunctionConcurrencyResponse{ReservedConcurrentExecutions: rec.Reserved}, nil
}

// DeleteFunctionConcurrency implements the Lambda operation.
func (s *Service) DeleteFunctionConcurrency(ctx context.Context, account string, in *lw.DeleteFunctionConcurrencyRequest) (*Empty, error) {
	rec, err := s.latest(ctx, account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	rec.Reserved = nil
	if err := s.put(ctx, account, rec); err != nil {
		return nil, err
	}
	return &Empty{}, nil
}

// throttle is Lambda's 429: TooManyRequestsException with Retry-After (and retryAfterSeconds in
// the body, as the model binds it to that header).
func throttle() *awserr.Error {
	e := userErr(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
	e.RetryAfter = 1
	e.Fields["retryAfterSeconds"] = "1"
	return e
}

// throttledByReservation is the 429 for a function whose reserved concurrency is 0.
func throttledByReservation() *awserr.Error {
	e := throttle()
	e.Fields["Reason"] = "ReservedFunctionConcurrentInvocationLimitExceeded"
	return e
}

// Empty is the output of operations that answer no body.
type Empty struct{}
