package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// policiesFile holds an account's CloudWatch Logs resource policies in its directory, next to
// its groups; no group's directory can have this name (escapeName turns '.' into %2E).
const policiesFile = ".resource-policies.json"

// ResourcePolicy is a CloudWatch Logs resource policy as the store keeps it: account-scoped, or
// (Group set) attached to one log group.
type ResourcePolicy struct {
	Name        string `json:"name"`
	Document    string `json:"document"`
	LastUpdated int64  `json:"lastUpdated"` // ms
	// Group is the log group a resource-scoped policy is attached to, GroupCreated that group's
	// creation time: a policy lives as long as its group, and a group deleted and made again
	// under the same name starts without one.
	Group        string `json:"group,omitempty"`
	GroupCreated int64  `json:"groupCreated,omitempty"`
	Revision     string `json:"revision,omitempty"`
}

// NewRevision is a fresh revision id for a resource-scoped policy.
func NewRevision() string { return newID() }

// ResourcePolicies lists an account's resource policies, in the order they were first put.
func (s *Store) ResourcePolicies(account string) ([]ResourcePolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policies(account)
}

// UpdateResourcePolicies replaces an account's resource policies with what fn makes of them.
// When fn fails, nothing changes and its error is returned. fn runs under the store's lock and
// must not call the store; it may read GroupCreated of the policies it is given, and the store
// fills in GroupCreated of a policy it adds (whose group must exist: ErrNotFound otherwise).
func (s *Store) UpdateResourcePolicies(account string, fn func([]ResourcePolicy) ([]ResourcePolicy, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.policies(account)
	if err != nil {
		return err
	}
	updated, err := fn(old)
	if err != nil {
		return err
	}
	for i, p := range updated {
		if p.Group == "" || p.GroupCreated != 0 {
			continue
		}
		if updated[i].GroupCreated, err = s.pinGroup(account, p.Group); err != nil {
			return err
		}
	}
	dir := filepath.Join(s.dir, escapeName(account))
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("logs: resource policies: %w", err)
	}
	b, err := json.Marshal(updated)
	if err != nil {
		return fmt.Errorf("logs: resource policies: %w", err)
	}
	tmp := filepath.Join(dir, ".tmp-"+newID())
	if err := os.WriteFile(tmp, b, filePerm); err != nil {
		return fmt.Errorf("logs: resource policies: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, policiesFile)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("logs: resource policies: %w", err)
	}
	return nil
}

// policies reads an account's resource policies, leaving out those whose group is gone (or was
// made again since); s.mu must be held.
func (s *Store) policies(account string) ([]ResourcePolicy, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, escapeName(account), policiesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs: resource policies: %w", err)
	}
	var all []ResourcePolicy
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("logs: resource policies of %s: %w", account, err)
	}
	live := all[:0]
	for _, p := range all {
		if p.Group != "" {
			if g, err := s.groupInfo(account, p.Group); err != nil || g.CreationTime != p.GroupCreated {
				continue
			}
		}
		live = append(live, p)
	}
	return live, nil
}

// pinGroup returns a group's creation time, first writing its settings if it has none yet (a
// group made by a job's first output takes its creation time from its directory, which changes
// as streams come and go); s.mu must be held.
func (s *Store) pinGroup(account, group string) (int64, error) {
	g, err := s.groupInfo(account, group)
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(s.dir, groupPath(account, group))
	if _, err := os.Stat(filepath.Join(dir, groupMetaFile)); errors.Is(err, fs.ErrNotExist) {
		if err := writeGroupMeta(dir, g); err != nil {
			return 0, err
		}
	}
	return g.CreationTime, nil
}
