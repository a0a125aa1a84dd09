// Package lambda is the AWS Lambda domain service: the function registry (create, describe,
// list, delete; code unpacked into the data directory) and synchronous invocation through the
// instance pool of package fn. It validates requests, names functions with AWS's ARNs and
// returns Lambda's error types; the HTTP edge (package api) only decodes and encodes.
package lambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/fn"
	"github.com/barge-run/barge/internal/image"
	"github.com/barge-run/barge/internal/store"
)

// KindFunction is the store kind of a function's $LATEST configuration.
const KindFunction store.Kind = "function"

// Limits from the Lambda quotas.
const (
	maxUnzipped    = 250 << 20
	maxSyncPayload = 6 << 20
)

// Config wires the service.
type Config struct {
	Region  string
	Store   store.Store
	Pool    *fn.Pool
	CodeDir string // unpacked deployment packages live below it
	// Images resolves (and pulls) the images of PackageType Image functions; nil refuses them.
	Images Images
	// Code fetches packages from S3 (Code.S3Bucket/S3Key); nil refuses S3 locations.
	Code CodeSource
	// Holder names this server in the claims of asynchronous events: stable across its restarts
	// ("" is "local").
	Holder string
	// URLBase is the scheme and address function URLs are served at, e.g. http://127.0.0.1:7700.
	URLBase func() string
}

// Images pulls an image and says which manifest digest a reference resolved to.
type Images interface {
	// GetFor resolves ref for an account: a name the account imported is its own pin.
	GetFor(ctx context.Context, account, ref string) (*image.Image, error)
}

// Service implements the Lambda operations barge serves.
type Service struct {
	cfg   Config
	async *asyncQueue
	fns   fnCache
}

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return &Service{cfg: cfg}
}

// record is what the store keeps for a function.
type record struct {
	Config  lw.FunctionConfiguration `json:"config"`
	CodeDir string                   `json:"codeDir"`
	// CodeHash is the package's SHA-256 (hex): its name in the store (KindCode) and of its
	// directory on every host (codePath). "" for functions stored before code was kept by content.
	CodeHash string `json:"codeHash,omitempty"`
	// ImageURI is an image function's reference as given, ResolvedImageURI the same pinned to
	// the digest it resolved to (what instances run, so a moved tag changes nothing until
	// UpdateFunctionCode).
	ImageURI         string            `json:"imageUri,omitempty"`
	ResolvedImageURI string            `json:"resolvedImageUri,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	// Reserved is the reserved concurrency (PutFunctionConcurrency); nil when none.
	Reserved *int32 `json:"reserved,omitempty"`
	// OptDir is the function's layers merged in order, what its instances see at /opt; "" when
	// it has none.
	OptDir string `json:"optDir,omitempty"`
	// PublishedFrom is, for a published version, the LastModified of $LATEST it was taken from.
	PublishedFrom string `json:"publishedFrom,omitempty"`
}

func userErr(status int, code, format string, args ...any) *awserr.Error {
	e := awserr.New(status, code, format, args...)
	e.Fields = map[string]string{"Type": "User"}
	return e
}

// serviceErr is Lambda's ServiceException (500): barge failed, not the caller; or, when err
// failed for lack of disk space, the 503 that says so.
func serviceErr(what string, err error) *awserr.Error {
	if awserr.IsNoSpace(err) {
		return awserr.NoSpace(err)
	}
	return awserr.New(http.StatusInternalServerError, "ServiceException", "%s", what)
}

func invalid(format string, args ...any) *awserr.Error {
	return userErr(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func notFound(account, region, name string) *awserr.Error {
	return userErr(http.StatusNotFound, "ResourceNotFoundException", "Function not found: arn:aws:lambda:%s:%s:function:%s", region, account, name)
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// functionName accepts a name, a partial ARN (account:function:name) or a full ARN, in this
// account and region, each optionally with ":qualifier" (a version or alias); it returns both.
func (s *Service) functionName(account, ref string) (string, string, error) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		acct, region := s.scope(account)
		prefix := fmt.Sprintf("arn:aws:lambda:%s:%s:function:", region, acct)
		rest, ok := strings.CutPrefix(ref, prefix)
		if !ok {
			return "", "", invalid("FunctionName: %q is not a function ARN of this account and region", ref)
		}
		name = rest
	} else if rest, ok := strings.CutPrefix(ref, s.accountID(account)+":function:"); ok {
		name = rest
	}
	qualifier := ""
	if q := strings.IndexByte(name, ':'); q >= 0 {
		name, qualifier = name[:q], name[q+1:]
	}
	if !nameRE.MatchString(name) {
		return "", "", invalid("FunctionName: %q must be 1 to 64 letters, numbers, hyphens or underscores", ref)
	}
	return name, qualifier, nil
}

func (s *Service) arn(account, name string) string {
	acct, region := s.scope(account)
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, acct, name)
}

// scope is the account id and region of a scope key (account.Scope): what ARNs carry.
func (s *Service) scope(key string) (accountID, region string) {
	return account.SplitScope(key, s.cfg.Region)
}

func (s *Service) accountID(key string) string {
	a, _ := s.scope(key)
	return a
}

// notFound is Lambda's 404 for a function of the scope key's account and region.
func (s *Service) notFound(account, name string) *awserr.Error {
	acct, region := s.scope(account)
	return notFound(acct, region, name)
}

// checkCreate validates a CreateFunction request's members that need no lookup, and says
// whether it creates an image function.
func checkCreate(in *lw.CreateFunctionRequest) (bool, error) {
	image := in.PackageType == lw.PackageTypeImage || (in.Code != nil && in.Code.ImageUri != "")
	switch {
	case image && (in.Code == nil || in.Code.ImageUri == ""):
		return false, invalid("Code.ImageUri is required for PackageType Image")
	case image && (in.Runtime != "" || in.Handler != ""):
		return false, invalid("Runtime and Handler are not supported for PackageType Image")
	case image && in.PackageType != lw.PackageTypeImage:
		return false, invalid("PackageType must be Image with Code.ImageUri")
	case !image && in.Runtime == "":
		return false, invalid("Runtime is required for a zip package")
	case !image && !runtimeSupported(in.Runtime):
		return false, unsupportedRuntime(in.Runtime)
	case !image && in.ImageConfig != nil:
		return false, invalid("ImageConfig is only for PackageType Image")
	}
	if !strings.HasPrefix(in.Role, "arn:aws:iam::") {
		return false, invalid("Role: %q is not an IAM role ARN", in.Role)
	}
	if err := checkTags(in.Tags); err != nil {
		return false, err
	}
	if err := checkDeadLetter(in.DeadLetterConfig); err != nil {
		return false, err
	}
	if len(in.Tags) > maxTags {
		return false, invalid("Tags: a function can have at most %d tags", maxTags)
	}
	if image && len(in.Layers) > 0 {
		return false, invalid("Layers: functions defined as container images do not support layers")
	}
	if memory := deref(in.MemorySize, 128); memory < 128 || memory > 10240 {
		return false, invalid("MemorySize must be between 128 and 10240 MB, got %d", memory)
	}
	if timeout := deref(in.Timeout, 3); timeout < 1 || timeout > 900 {
		return false, invalid("Timeout must be between 1 and 900 seconds, got %d", timeout)
	}
	return image, nil
}

// CreateFunction implements the Lambda operation for zip packages with a custom runtime.
func (s *Service) CreateFunction(ctx context.Context, account string, in *lw.CreateFunctionRequest) (*lw.FunctionConfiguration, error) {
	name, qualifier, err := s.functionName(account, in.FunctionName)
	if err != nil {
		return nil, err
	}
	if qualifier != "" {
		return nil, invalid("FunctionName: a new function takes no qualifier")
	}
	image, err := checkCreate(in)
	if err != nil {
		return nil, err
	}
	memory, timeout := deref(in.MemorySize, 128), deref(in.Timeout, 3)
	if _, err := s.cfg.Store.ResourceGet(ctx, account, KindFunction, name, 0); err == nil {
		return nil, userErr(http.StatusConflict, "ResourceConflictException", "Function already exist: %s", name)
	}
	layers, err := s.resolveLayers(ctx, account, in.Layers)
	if err != nil {
		return nil, err
	}
	rec := record{Tags: in.Tags}
	codeSha, codeSize, err := s.newCode(ctx, account, name, image, in, &rec)
	if err != nil {
		return nil, err
	}
	if err := s.attachLayers(account, name, &rec, layers); err != nil {
		return nil, err
	}
	cfg := lw.FunctionConfiguration{
		FunctionName:     name,
		FunctionArn:      s.arn(account, name),
		Runtime:          in.Runtime,
		Role:             in.Role,
		Handler:          in.Handler,
		CodeSize:         &codeSize,
		Description:      in.Description,
		Timeout:          &timeout,
		MemorySize:       &memory,
		LastModified:     time.Now().UTC().Format("2006-01-02T15:04:05.000-0700"),
		CodeSha256:       codeSha,
		Version:          "$LATEST",
		State:            lw.StateActive,
		LastUpdateStatus: lw.LastUpdateStatusSuccessful,
		PackageType:      lw.PackageTypeZip,
		Architectures:    []lw.Architecture{lw.ArchitectureX86_64},
	}
	if image {
		cfg.PackageType, cfg.Handler = lw.PackageTypeImage, ""
		if in.ImageConfig != nil {
			cfg.ImageConfigResponse = &lw.ImageConfigResponse{ImageConfig: in.ImageConfig}
		}
	}
	if in.Environment != nil {
		cfg.Environment = &lw.EnvironmentResponse{Variables: in.Environment.Variables}
	}
	cfg.LoggingConfig = loggingConfig(in.LoggingConfig)
	cfg.TracingConfig = tracingConfig(in.TracingConfig)
	if d := in.DeadLetterConfig; d != nil && d.TargetArn != "" {
		cfg.DeadLetterConfig = d
	}
	cfg.Layers = rec.Config.Layers
	rec.Config = cfg
	body, _ := json.Marshal(rec)
	err = s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindFunction, Name: name,
		ARN: cfg.FunctionArn, Status: "Active", Body: body, CreatedAt: time.Now()})
	s.fns.drop(account, name)
	if errors.Is(err, store.ErrConflict) {
		return nil, userErr(http.StatusConflict, "ResourceConflictException", "Function already exist: %s", name)
	}
	if err != nil {
		return nil, serviceErr("storing the function failed", err)
	}
	if deref(in.Publish, false) {
		return s.PublishVersion(ctx, account, &lw.PublishVersionRequest{FunctionName: name})
	}
	return &cfg, nil
}

// newCode makes a new function's code ready: its image resolved, or its package (given or from
// S3) unpacked; it returns the code's SHA-256 and size as Lambda reports them.
func (s *Service) newCode(ctx context.Context, account, name string, image bool, in *lw.CreateFunctionRequest, rec *record) (string, int64, error) {
	if image {
		if err := s.resolveImage(ctx, account, name, in.Code.ImageUri, rec); err != nil {
			return "", 0, err
		}
		return strings.TrimPrefix(rec.ResolvedImageURI[strings.LastIndexByte(rec.ResolvedImageURI, '@')+1:], "sha256:"), 0, nil
	}
	if in.Code == nil {
		in.Code = &lw.FunctionCode{}
	}
	c := in.Code
	zip, err := s.packageBytes(ctx, "Code", c.ZipFile, c.S3Bucket, c.S3Key, c.S3ObjectVersion)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(zip)
	hash := hex.EncodeToString(sum[:])
	if err := s.saveCode(ctx, account, name, hash, zip); err != nil {
		return "", 0, err
	}
	dir := filepath.Join(s.cfg.CodeDir, account, name, hash)
	if err := unpackCode(zip, in.Runtime, dir); err != nil {
		s.dropCode(ctx, account, name, hash)
		return "", 0, err
	}
	rec.CodeDir, rec.CodeHash = dir, hash
	return base64.StdEncoding.EncodeToString(sum[:]), int64(len(zip)), nil
}

func (s *Service) get(ctx context.Context, account, ref, qualifier string) (*record, error) {
	return s.getRecord(ctx, account, ref, qualifier, false)
}

// getShared is get for callers that only read the record (Invoke): $LATEST comes decoded from
// the cache, shared, and must not be changed.
func (s *Service) getShared(ctx context.Context, account, ref, qualifier string) (*record, error) {
	return s.getRecord(ctx, account, ref, qualifier, true)
}

func (s *Service) getRecord(ctx context.Context, account, ref, qualifier string, readOnly bool) (*record, error) {
	name, q, err := s.functionName(account, ref)
	if err != nil {
		return nil, err
	}
	switch {
	case q != "" && qualifier != "" && q != qualifier:
		return nil, invalid("The derived qualifier from the function name does not match the specified qualifier.")
	case q != "":
		qualifier = q
	}
	shared, body, err := s.fns.shared(ctx, s.cfg.Store, account, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.notFound(account, name)
	}
	if err != nil {
		return nil, serviceErr("reading the function failed", err)
	}
	latest := qualifier == "" || qualifier == "$LATEST"
	if readOnly && latest && shared != nil {
		return shared, nil
	}
	var rec record
	if err := json.Unmarshal(body, &rec); err != nil {
		return nil, serviceErr("reading the function failed", err)
	}
	if latest {
		return &rec, nil
	}
	return s.resolveQualifier(ctx, account, &rec, qualifier)
}

// GetFunction implements the Lambda operation.
func (s *Service) GetFunction(ctx context.Context, account string, in *lw.GetFunctionRequest) (*lw.GetFunctionResponse, error) {
	rec, err := s.get(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	if err := s.ensureCode(ctx, account, rec); err != nil {
		return nil, serviceErr("reading the function's code failed", err)
	}
	out := &lw.GetFunctionResponse{Configuration: &rec.Config, Tags: rec.Tags,
		Code: &lw.FunctionCodeLocation{RepositoryType: "S3", Location: s.codeLocation(account, rec)}}
	if rec.ImageURI != "" {
		out.Code = &lw.FunctionCodeLocation{RepositoryType: "ECR", ImageUri: rec.ImageURI, ResolvedImageUri: rec.ResolvedImageURI}
	}
	if rec.Reserved != nil {
		out.Concurrency = &lw.Concurrency{ReservedConcurrentExecutions: rec.Reserved}
	}
	return out, nil
}

// GetFunctionConfiguration implements the Lambda operation.
func (s *Service) GetFunctionConfiguration(ctx context.Context, account string, in *lw.GetFunctionConfigurationRequest) (*lw.FunctionConfiguration, error) {
	rec, err := s.get(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	return &rec.Config, nil
}

// ListFunctions implements the Lambda operation (Marker/MaxItems paging).
func (s *Service) ListFunctions(ctx context.Context, account string, in *lw.ListFunctionsRequest) (*lw.ListFunctionsResponse, error) {
	limit := 50
	if in.MaxItems != nil {
		if *in.MaxItems < 1 || *in.MaxItems > 10000 {
			return nil, invalid("MaxItems must be between 1 and 10000")
		}
		limit = int(*in.MaxItems)
	}
	p := &store.ResourceListParams{Account: account, Kind: KindFunction, Limit: limit + 1}
	if in.Marker != "" {
		after, err := base64.RawURLEncoding.DecodeString(in.Marker)
		if err != nil {
			return nil, invalid("Marker: invalid pagination token")
		}
		p.AfterName = string(after)
	}
	rs, err := s.cfg.Store.ResourceList(ctx, p)
	if err != nil {
		return nil, serviceErr("listing functions failed", err)
	}
	out := &lw.ListFunctionsResponse{Functions: []lw.FunctionConfiguration{}}
	for i, r := range rs {
		if i == limit {
			out.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(rs[i-1].Name))
			break
		}
		var rec record
		if json.Unmarshal(r.Body, &rec) == nil {
			out.Functions = append(out.Functions, rec.Config)
		}
		if in.FunctionVersion == lw.FunctionVersionAll {
			versions, err := s.publishedVersions(ctx, account, r.Name)
			if err != nil {
				return nil, err
			}
			out.Functions = append(out.Functions, versions...)
		}
	}
	return out, nil
}

// tracingConfig is the TracingConfig a function keeps: the mode asked for, PassThrough when none
// (barge records it; there is no X-Ray to send traces to).
func tracingConfig(in *lw.TracingConfig) *lw.TracingConfigResponse {
	mode := lw.TracingModePassThrough
	if in != nil && in.Mode != "" {
		mode = in.Mode
	}
	return &lw.TracingConfigResponse{Mode: mode}
}

// DeleteFunction implements the Lambda operation: unqualified, the function with all its
// versions and aliases; with a version number, that version (unless an alias points to it).
func (s *Service) DeleteFunction(ctx context.Context, account string, in *lw.DeleteFunctionRequest) (*lw.DeleteFunctionResponse, error) {
	rec, err := s.get(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	name := rec.Config.FunctionName
	if v := rec.Config.Version; v != "$LATEST" {
		if _, q, _ := s.functionName(account, in.FunctionName); !isVersion(q) && !isVersion(in.Qualifier) {
			return nil, invalid("Qualifier: deleting an alias this way is not allowed; use DeleteAlias")
		}
		aliases, err := s.aliasesOf(ctx, account, name)
		if err != nil {
			return nil, err
		}
		for _, a := range aliases {
			_, weighted := weights(a.RoutingConfig)[v]
			if a.FunctionVersion == v || weighted {
				return nil, userErr(http.StatusConflict, "ResourceConflictException", "Unable to delete version because the following aliases reference it: [%s]", a.Name)
			}
		}
		n, _ := strconv.Atoi(v)
		if err := s.cfg.Store.ResourceDelete(ctx, account, KindVersion, name, n); err != nil {
			return nil, s.notFound(account, name+":"+v)
		}
		return &lw.DeleteFunctionResponse{StatusCode: ptr(int32(http.StatusNoContent))}, nil
	}
	err = s.cfg.Store.ResourceDelete(ctx, account, KindFunction, name, 0)
	s.fns.drop(account, name)
	if err != nil {
		return nil, s.notFound(account, name)
	}
	s.dropAllCode(ctx, account, name, rec.CodeHash)
	s.cfg.Store.ResourceDelete(ctx, account, KindVersion, name, 0)
	aliases, _ := s.aliasesOf(ctx, account, name)
	for _, a := range aliases {
		s.cfg.Store.ResourceDelete(ctx, account, KindAlias, name+":"+a.Name, 0)
	}
	// Its permissions go with it: a function made later under the same name grants nothing.
	s.deletePolicies(ctx, account, name)
	os.RemoveAll(filepath.Dir(rec.CodeDir))
	forgetLocalCode(filepath.Join(s.cfg.CodeDir, account, name))
	return &lw.DeleteFunctionResponse{StatusCode: ptr(int32(http.StatusNoContent))}, nil
}

// Invoke implements the Lambda operation for RequestResponse and DryRun invocations.
func (s *Service) Invoke(ctx context.Context, account string, in *lw.InvocationRequest) (*lw.InvocationResponse, error) {
	account, err := s.invokeScope(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	rec, err := s.getShared(ctx, account, in.FunctionName, in.Qualifier) // read only below
	if err != nil {
		return nil, err
	}
	switch in.InvocationType {
	case "", lw.InvocationTypeRequestResponse:
	case lw.InvocationTypeDryRun:
		return &lw.InvocationResponse{StatusCode: ptr(int32(http.StatusNoContent))}, nil
	case lw.InvocationTypeEvent:
		payload := in.Payload
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		// The queued event names the version it resolved to now (an alias may move meanwhile).
		if _, err := s.enqueue(ctx, account, rec.Config.FunctionName+":"+rec.Config.Version, payload); err != nil {
			return nil, err
		}
		return &lw.InvocationResponse{StatusCode: ptr(int32(http.StatusAccepted))}, nil
	default:
		return nil, invalid("X-Amz-Invocation-Type: %q is not one of RequestResponse, Event, DryRun", in.InvocationType)
	}
	if len(in.Payload) > maxSyncPayload {
		return nil, userErr(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
	}
	payload := in.Payload
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	} else if !json.Valid(payload) {
		return nil, userErr(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: the payload is not valid JSON")
	}
	spec, throttled := s.spec(account, rec)
	if throttled {
		s.cfg.Pool.CountThrottle(account, spec.Name)
		return nil, throttledByReservation()
	}
	res, err := s.cfg.Pool.Invoke(ctx, spec, payload)
	var te *fn.ThrottledError
	switch {
	case errors.As(err, &te):
		e := throttle()
		e.Fields["Reason"] = te.Reason
		return nil, e
	case err != nil:
		return nil, awserr.New(http.StatusInternalServerError, "ServiceException", "invocation failed: %v", err)
	}
	out := &lw.InvocationResponse{StatusCode: ptr(int32(http.StatusOK)), Payload: res.Payload,
		FunctionError: res.FunctionError, ExecutedVersion: res.ExecutedVersion}
	if in.LogType == lw.LogTypeTail {
		out.LogResult = base64.StdEncoding.EncodeToString(res.LogTail)
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// loggingConfig is the LoggingConfig a function keeps, with Lambda's defaults for JSON logs
// (application and system logs at INFO) filled in.
func loggingConfig(in *lw.LoggingConfig) *lw.LoggingConfig {
	if in == nil {
		return nil
	}
	c := *in
	if c.LogFormat == lw.LogFormatJson {
		if c.ApplicationLogLevel == "" {
			c.ApplicationLogLevel = lw.ApplicationLogLevelInfo
		}
		if c.SystemLogLevel == "" {
			c.SystemLogLevel = lw.SystemLogLevelInfo
		}
	}
	return &c
}
