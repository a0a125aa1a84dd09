//go:build linux

package sandbox

import (
	"encoding/hex"
	"strings"

	"github.com/moby/sys/capability"

	"github.com/barge-run/barge/internal/exec/seccomp"
)

// seccompFilter is Docker's default seccomp profile for a sandbox keeping capabilities keep,
// hex-encoded for the plan.
func seccompFilter(keep uint64, denyIoctls []uint32) (hexProgram, description string, err error) {
	var names []string
	for _, c := range capability.ListKnown() {
		if keep&(1<<uint(c)) != 0 {
			names = append(names, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	prog, err := seccomp.ProgramDenying(names, denyIoctls)
	if err != nil {
		return "", "", err
	}
	return hex.EncodeToString(prog), seccomp.Describe(names, denyIoctls), nil
}
