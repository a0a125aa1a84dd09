package batch

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/sched"
)

// resourcesOf reads VCPU, MEMORY and GPU from resourceRequirements (and the legacy vcpus and
// memory members); with required set, VCPU and MEMORY must both be present.
func resourcesOf(field string, reqs []wire.ResourceRequirement, vcpus, memory *int32, required bool) (sched.Resources, error) {
	var r sched.Resources
	var haveCPU, haveMem bool
	if vcpus != nil {
		if *vcpus <= 0 {
			return r, awserr.Client("%s.vcpus must be positive, got %d", field, *vcpus)
		}
		r.MilliVCPU, haveCPU = int64(*vcpus)*1000, true
	}
	if memory != nil {
		if *memory <= 0 {
			return r, awserr.Client("%s.memory must be positive, got %d", field, *memory)
		}
		r.MemoryMiB, haveMem = int64(*memory), true
	}
	for i, rr := range reqs {
		f := fmt.Sprintf("%s.resourceRequirements[%d]", field, i)
		switch rr.Type {
		case wire.ResourceTypeVcpu:
			v, err := strconv.ParseFloat(rr.Value, 64)
			// !(v >= 0.01) also catches NaN; 0.01 vCPU is the smallest CPU quota a cgroup can
			// enforce (1 ms per 100 ms period), so 1e-300 cannot mean "no limit".
			if err != nil || !(v >= 0.01) || math.IsInf(v, 0) || v > 1e6 {
				return r, awserr.Client("%s: VCPU value %q must be a number from 0.01 to 1000000", f, rr.Value)
			}
			r.MilliVCPU, haveCPU = int64(math.Round(v*1000)), true
		case wire.ResourceTypeMemory:
			v, err := strconv.ParseInt(rr.Value, 10, 64)
			if err != nil || v <= 0 || v > 1<<30 {
				return r, awserr.Client("%s: MEMORY value %q must be a positive whole number of MiB", f, rr.Value)
			}
			r.MemoryMiB, haveMem = v, true
		case wire.ResourceTypeGpu:
			v, err := strconv.ParseInt(rr.Value, 10, 64)
			if err != nil || v < 0 || v > 1024 {
				return r, awserr.Client("%s: GPU value %q must be a whole number", f, rr.Value)
			}
			r.GPU = v
		case "":
			return r, awserr.Client("%s.type is required", f)
		default:
			return r, awserr.Client("%s.type: %q is not one of VCPU, MEMORY, GPU", f, rr.Type)
		}
	}
	if required && !haveCPU {
		return r, awserr.Client("%s: a VCPU resource requirement is required (in the job definition or containerOverrides)", field)
	}
	if required && !haveMem {
		return r, awserr.Client("%s: a MEMORY resource requirement is required (in the job definition or containerOverrides)", field)
	}
	return r, nil
}

// mergeRequirements overlays override requirements on base ones, by type.
func mergeRequirements(base, override []wire.ResourceRequirement) []wire.ResourceRequirement {
	out := append([]wire.ResourceRequirement(nil), base...)
	for _, o := range override {
		replaced := false
		for i := range out {
			if out[i].Type == o.Type {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// mergeEnvironment overlays override variables on base ones, by name, keeping base order.
func mergeEnvironment(base, override []wire.KeyValuePair) []wire.KeyValuePair {
	out := append([]wire.KeyValuePair(nil), base...)
	for _, o := range override {
		replaced := false
		for i := range out {
			if out[i].Name == o.Name {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

func checkEnvironment(field string, env []wire.KeyValuePair) error {
	for i, kv := range env {
		if kv.Name == "" {
			return awserr.Client("%s[%d].name is required", field, i)
		}
		if strings.HasPrefix(kv.Name, "AWS_BATCH") {
			return awserr.Client("%s[%d].name: variables starting with AWS_BATCH are reserved", field, i)
		}
		if strings.ContainsAny(kv.Name, "=\x00") || strings.Contains(kv.Value, "\x00") {
			return awserr.Client("%s[%d]: names cannot contain '=' or NUL and values cannot contain NUL", field, i)
		}
	}
	return nil
}

func checkRetryStrategy(field string, rs *wire.RetryStrategy) error {
	if rs == nil {
		return nil
	}
	if rs.Attempts != nil && (*rs.Attempts < 1 || *rs.Attempts > 10) {
		return awserr.Client("%s.attempts must be between 1 and 10, got %d", field, *rs.Attempts)
	}
	if len(rs.EvaluateOnExit) > 5 {
		return awserr.Client("%s.evaluateOnExit: at most 5 conditions, got %d", field, len(rs.EvaluateOnExit))
	}
	for i, e := range rs.EvaluateOnExit {
		f := fmt.Sprintf("%s.evaluateOnExit[%d]", field, i)
		switch strings.ToUpper(string(e.Action)) {
		case "RETRY", "EXIT":
		case "":
			return awserr.Client("%s.action is required", f)
		default:
			return awserr.Client("%s.action: %q is not RETRY or EXIT", f, e.Action)
		}
		for name, pat := range map[string]string{"onExitCode": e.OnExitCode, "onReason": e.OnReason, "onStatusReason": e.OnStatusReason} {
			if len(pat) > 512 {
				return awserr.Client("%s.%s is longer than 512 characters", f, name)
			}
			if _, err := path.Match(globPattern(pat), ""); err != nil {
				return awserr.Client("%s.%s: invalid pattern %q", f, name, pat)
			}
		}
	}
	return nil
}

// globPattern turns an AWS evaluateOnExit pattern (only a trailing '*' is special) into a
// path.Match pattern by escaping everything else.
func globPattern(p string) string {
	star := strings.HasSuffix(p, "*")
	p = strings.TrimSuffix(p, "*")
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	if star {
		b.WriteByte('*')
	}
	return b.String()
}

func globMatch(pattern, s string) bool {
	ok, _ := path.Match(globPattern(pattern), s)
	if !ok && strings.HasSuffix(pattern, "*") {
		// path.Match's '*' stops at '/', AWS's does not.
		ok = strings.HasPrefix(s, strings.TrimSuffix(pattern, "*"))
	}
	return ok
}

// checkTimeout accepts any positive duration. AWS requires at least 60 s; barge allows shorter
// timeouts (an extension documented in docs/compatibility.md) so tests and short jobs can use them.
func checkTimeout(field string, t *wire.JobTimeout) error {
	if t == nil || t.AttemptDurationSeconds == nil {
		return nil
	}
	if *t.AttemptDurationSeconds < 1 {
		return awserr.Client("%s.attemptDurationSeconds must be at least 1, got %d", field, *t.AttemptDurationSeconds)
	}
	return nil
}

// substituteRefs replaces Ref::name placeholders in the command with parameter values; unknown
// names are left as they are, as AWS does.
func substituteRefs(cmd []string, params map[string]string) []string {
	if len(params) == 0 {
		return cmd
	}
	out := make([]string, len(cmd))
	for i, arg := range cmd {
		var b strings.Builder
		for {
			idx := strings.Index(arg, "Ref::")
			if idx < 0 {
				b.WriteString(arg)
				break
			}
			b.WriteString(arg[:idx])
			rest := arg[idx+5:]
			n := 0
			for n < len(rest) && (isAlnum(rest[n]) || rest[n] == '_' || rest[n] == '-') {
				n++
			}
			// The longest parameter name that prefixes the rest wins.
			best := -1
			for k := n; k > 0; k-- {
				if _, ok := params[rest[:k]]; ok {
					best = k
					break
				}
			}
			if best < 0 {
				b.WriteString("Ref::")
				arg = rest
				continue
			}
			b.WriteString(params[rest[:best]])
			arg = rest[best:]
		}
		out[i] = b.String()
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Linux's limits on what execve takes: one argument or environment entry at most 128 KiB
// (MAX_ARG_STRLEN), all of them together well under ARG_MAX (2 MiB with the default stack
// limit; barge keeps 1 MiB, leaving room for the variables it adds). Past them a job could never
// start; it is refused at submit instead, naming the field.
const (
	maxExecString = 128 << 10
	maxExecTotal  = 1 << 20
)

// checkExecSize refuses a command and environment that could not be exec'd.
func checkExecSize(cmd []string, env []wire.KeyValuePair) error {
	total := 0
	for i, a := range cmd {
		if len(a)+1 > maxExecString {
			return awserr.Client("command[%d] is %d bytes; one argument may have at most %d", i, len(a), maxExecString-1)
		}
		total += len(a) + 1
	}
	for i, kv := range env {
		n := len(kv.Name) + 1 + len(kv.Value) + 1
		if n > maxExecString {
			return awserr.Client("environment[%d] (%s) is %d bytes; one variable may have at most %d", i, kv.Name, n, maxExecString)
		}
		total += n
	}
	if total > maxExecTotal {
		return awserr.Client("command and environment together are %d bytes; at most %d", total, maxExecTotal)
	}
	return nil
}
