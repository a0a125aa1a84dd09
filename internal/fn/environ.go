package fn

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/barge-run/barge/internal/account"
	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/sigv4"
)

// sessionEnv hands an instance its credentials, as Lambda does (they are reserved variables: a
// function's own environment cannot set them), and barge's endpoint.
func sessionEnv(env []string, cred sigv4.Credential, endpoint func() string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name != "AWS_ACCESS_KEY_ID" && name != "AWS_SECRET_ACCESS_KEY" && name != "AWS_SESSION_TOKEN" {
			out = append(out, kv)
		}
	}
	ep := ""
	if endpoint != nil {
		ep = endpoint()
	}
	return account.Env(out, cred, ep)
}

// attachOpt gives an instance its layers at /opt: mounted there in a sandbox; a plain process
// cannot have its own /opt, so it is told where the layers are instead (BARGE_OPT_DIR, which
// barge's runtimes read, and PATH and LD_LIBRARY_PATH).
func (p *Pool) attachOpt(fn *FunctionSpec, spec *bexec.Spec) {
	if fn.OptDir == "" {
		return
	}
	opt := fn.OptDir
	if sb, ok := p.cfg.Executor.(interface{ Sandboxed() bool }); ok && sb.Sandboxed() {
		spec.Mounts = append(spec.Mounts, bexec.Mount{Source: fn.OptDir, Target: "/opt", ReadOnly: true, Owned: true})
		opt = "/opt"
	} else {
		for i, kv := range spec.Env {
			if k, v, _ := strings.Cut(kv, "="); k == "PATH" || k == "LD_LIBRARY_PATH" {
				spec.Env[i] = k + "=" + strings.ReplaceAll(v, "/opt/", fn.OptDir+"/")
			}
		}
		spec.Env = append(spec.Env, "BARGE_OPT_DIR="+fn.OptDir)
	}
	if _, err := os.Stat(filepath.Join(fn.CodeDir, "bootstrap")); err != nil {
		spec.Command = []string{filepath.Join(opt, "bootstrap")} // a custom runtime from a layer, as Lambda runs it
	}
}

// taskRoot is LAMBDA_TASK_ROOT: the code directory, or /var/task in an image (Lambda's base
// images keep the function there).
func taskRoot(fn *FunctionSpec) string {
	if fn.Image != "" {
		return "/var/task"
	}
	return fn.CodeDir
}

// environ is the instance's environment: Lambda's defaults that a function may override, the
// function's variables, then the reserved variables it may not.
func (p *Pool) environ(fn *FunctionSpec, inst *instance) []string {
	env := map[string]string{
		"PATH":            "/usr/local/bin:/usr/bin:/bin:/opt/bin",
		"LANG":            "en_US.UTF-8",
		"TZ":              ":UTC",
		"LD_LIBRARY_PATH": "/lib64:/usr/lib64:" + taskRoot(fn) + ":" + taskRoot(fn) + "/lib:/opt/lib",
	}
	for k, v := range fn.Env {
		env[k] = v
	}
	reserved := map[string]string{
		"_HANDLER":                        fn.Handler,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMiB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       inst.logGroup,
		"AWS_LAMBDA_LOG_STREAM_NAME":      inst.logStream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      cmp.Or(fn.Region, p.cfg.Region),
		"AWS_DEFAULT_REGION":              cmp.Or(fn.Region, p.cfg.Region),
		"LAMBDA_TASK_ROOT":                taskRoot(fn),
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
	}
	if fn.Runtime != "" && !strings.HasPrefix(fn.Runtime, "provided") {
		reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + fn.Runtime
	}
	if fn.LogFormat != "" {
		reserved["AWS_LAMBDA_LOG_FORMAT"] = fn.LogFormat
	}
	if fn.LogLevel != "" {
		reserved["AWS_LAMBDA_LOG_LEVEL"] = fn.LogLevel
	}
	for k, v := range reserved {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// streamName is Lambda's log stream name: YYYY/MM/DD/[version]<32 hex>.
func streamName(now time.Time, version string) string {
	var b [16]byte
	rand.Read(b[:])
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + hex.EncodeToString(b[:])
}
