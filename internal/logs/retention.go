package logs

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// retentions caches groups' retention (days; 0: forever), read on every GetEvents and
// FilterEvents; the group's settings change it (UpdateGroup, CreateGroup, DeleteGroup).
type retentions struct {
	mu   sync.Mutex
	days map[[2]string]int32
}

// retentionStart is the oldest timestamp a group's retention keeps, or nil when it keeps all.
func (s *Store) retentionStart(account, group string) *int64 {
	key := [2]string{account, group}
	s.ret.mu.Lock()
	days, ok := s.ret.days[key]
	s.ret.mu.Unlock()
	if !ok {
		s.mu.Lock()
		g, err := s.groupInfo(account, group)
		s.mu.Unlock()
		if err == nil {
			days = g.RetentionInDays
		}
		s.ret.mu.Lock()
		if s.ret.days == nil {
			s.ret.days = map[[2]string]int32{}
		}
		s.ret.days[key] = days
		s.ret.mu.Unlock()
	}
	if days <= 0 {
		return nil
	}
	start := s.now().Add(-time.Duration(days) * 24 * time.Hour).UnixMilli()
	return &start
}

// forgetRetention drops a group's cached retention after its settings changed.
func (s *Store) forgetRetention(account, group string) {
	s.ret.mu.Lock()
	delete(s.ret.days, [2]string{account, group})
	s.ret.mu.Unlock()
}

// laterOf is the later of a requested start and the retention's.
func laterOf(asked, kept *int64) *int64 {
	if kept == nil || asked != nil && *asked >= *kept {
		return asked
	}
	return kept
}

// Expire deletes the streams whose newest event is older than their group's retention (events
// older than it are already hidden from reads), and reports how many it deleted.
func (s *Store) Expire() (int, error) {
	deleted := 0
	accounts, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, err
	}
	for _, a := range accounts {
		account, ok := unescapeName(a.Name())
		if !a.IsDir() || !ok {
			continue
		}
		groups, err := s.groupNames(account)
		if err != nil {
			return deleted, err
		}
		for _, g := range groups {
			kept := s.retentionStart(account, g)
			if kept == nil {
				continue
			}
			entries, err := s.listGroup(account, g, "")
			if err != nil {
				continue
			}
			for _, e := range entries {
				if err := s.loadInfo(&e); err != nil {
					continue
				}
				last := max(e.info.LastEventTimestamp, e.info.CreationTime)
				if e.file == "" { // reserved, no events: its reservation expires instead
					s.mu.Lock()
					if last < *kept {
						if gone, err := s.unreserve(account, g, e.name); err == nil && gone {
							deleted++
						}
					}
					s.mu.Unlock()
					continue
				}
				s.mu.Lock()
				_, active := s.active[e.file]
				s.mu.Unlock()
				if last < *kept && !active && strings.HasSuffix(e.file, fileSuffix) {
					if os.Remove(filepath.Join(s.dir, e.file)) == nil {
						deleted++
					}
				}
			}
		}
	}
	return deleted, nil
}
