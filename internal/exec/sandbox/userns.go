//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"sync"
)

// Every tenant's sandboxes run in user namespaces that map root and the ids above it to a range
// of host ids of the tenant's own, far above any real user's: idBase + n*idCount for the n-th
// tenant this process has seen. Nothing a sandbox writes to the host is owned by a host user or
// by another tenant, and what the host's root owns (its /etc/shadow, barge's files) is nobody's
// inside. Ranges need not survive a restart: attempts' files do not either.
const (
	idBase  = 1 << 30
	idCount = 65536
)

// tenantIDs hands out the host id ranges.
type tenantIDs struct {
	mu   sync.Mutex
	base map[string]uint32
}

// rangeOf is the first host id of tenant's range.
func (t *tenantIDs) rangeOf(tenant string) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.base == nil {
		t.base = map[string]uint32{}
	}
	b, ok := t.base[tenant]
	if !ok {
		// 16,383 tenants fit below 2^32 - 1 (the kernel's invalid id); past that ranges repeat,
		// which only joins tenants' file ownership, never their namespaces.
		b = idBase + uint32(len(t.base)%16383)*idCount
		t.base[tenant] = b
	}
	return b
}

// own gives paths to the sandbox's root (host id base), so that root inside may write them.
func own(base uint32, paths ...string) error {
	for _, p := range paths {
		if err := os.Lchown(p, int(base), int(base)); err != nil {
			return err
		}
	}
	return nil
}

// ownTree gives every file under dir to the sandbox's root.
func ownTree(base uint32, dir string) error {
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(base), int(base))
	})
}
