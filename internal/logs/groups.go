package logs

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrAlreadyExists is wrapped by errors for a log group or stream that exists already.
var ErrAlreadyExists = errors.New("resource already exists")

// groupMetaFile holds a log group's settings inside its directory (stream files end in
// fileSuffix, so it is never taken for one).
const groupMetaFile = ".group.json"

// GroupInfo describes a log group as DescribeLogGroups does. A group made implicitly by a job or
// function's first output has no settings; its creation time is its directory's.
type GroupInfo struct {
	Name            string            `json:"-"`
	CreationTime    int64             `json:"creationTime"`
	RetentionInDays int32             `json:"retentionInDays,omitempty"`
	KmsKeyID        string            `json:"kmsKeyId,omitempty"`
	Class           string            `json:"logGroupClass,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	Subscriptions   []Subscription    `json:"subscriptions,omitempty"`
	StoredBytes     int64             `json:"-"`
}

// Subscription is a group's subscription filter: its events that match Pattern go to
// Destination (a Lambda function ARN).
type Subscription struct {
	Name         string `json:"name"`
	Pattern      string `json:"pattern"`
	Destination  string `json:"destination"`
	Role         string `json:"role,omitempty"`
	Distribution string `json:"distribution,omitempty"`
	Created      int64  `json:"created"`
}

// AllSubscriptions lists the subscription filters of every group, by account and group.
func (s *Store) AllSubscriptions() (map[[2]string][]Subscription, error) {
	out := map[[2]string][]Subscription{}
	accounts, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	for _, a := range accounts {
		account, ok := unescapeName(a.Name())
		if !a.IsDir() || !ok {
			continue
		}
		names, err := s.groupNames(account)
		if err != nil {
			return nil, err
		}
		for _, g := range names {
			s.mu.Lock()
			info, err := s.groupInfo(account, g)
			s.mu.Unlock()
			if err == nil && len(info.Subscriptions) > 0 {
				out[[2]string{account, g}] = info.Subscriptions
			}
		}
	}
	return out, nil
}

// CreateGroup makes an empty log group with its settings.
func (s *Store) CreateGroup(account string, g GroupInfo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := filepath.Join(s.dir, groupPath(account, g.Name))
	if err := os.MkdirAll(filepath.Dir(dir), dirPerm); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if err := os.Mkdir(dir, dirPerm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("log group %q: %w", g.Name, ErrAlreadyExists)
		}
		return fmt.Errorf("logs: create log group %q: %w", g.Name, err)
	}
	s.dirs.Store(dir, true)
	s.forgetRetention(account, g.Name)
	g.CreationTime = s.now().UnixMilli()
	return writeGroupMeta(dir, g)
}

func writeGroupMeta(dir string, g GroupInfo) error {
	b, _ := json.Marshal(g)
	tmp := filepath.Join(dir, ".tmp-"+newID())
	if err := os.WriteFile(tmp, b, filePerm); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, groupMetaFile))
}

// UpdateGroup changes a group's settings (retention, tags) through fn.
func (s *Store) UpdateGroup(account, group string, fn func(*GroupInfo)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupInfo(account, group)
	if err != nil {
		return err
	}
	fn(&g)
	s.forgetRetention(account, group)
	return writeGroupMeta(filepath.Join(s.dir, groupPath(account, group)), g)
}

// Group returns one group's settings.
func (s *Store) Group(account, group string) (GroupInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groupInfo(account, group)
}

// groupInfo reads a group's settings; s.mu must be held.
func (s *Store) groupInfo(account, group string) (GroupInfo, error) {
	dir := filepath.Join(s.dir, groupPath(account, group))
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return GroupInfo{}, groupNotFound(group)
	}
	if err != nil {
		return GroupInfo{}, fmt.Errorf("logs: %w", err)
	}
	g := GroupInfo{CreationTime: fi.ModTime().UnixMilli()}
	if b, err := os.ReadFile(filepath.Join(dir, groupMetaFile)); err == nil {
		json.Unmarshal(b, &g)
	}
	g.Name = group
	return g, nil
}

// DeleteGroup removes a group with all its streams. Writers still open on them keep accepting
// output, which goes nowhere.
func (s *Store) DeleteGroup(account, group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gp := groupPath(account, group)
	dir := filepath.Join(s.dir, gp)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return groupNotFound(group)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("logs: delete log group %q: %w", group, err)
	}
	s.dirs.Delete(dir)
	s.forgetEmpty(gp)
	s.forgetRetention(account, group)
	for p := range s.active {
		if strings.HasPrefix(p, gp+string(filepath.Separator)) {
			delete(s.active, p)
		}
	}
	return nil
}

// DescribeGroupsParams selects groups as DescribeLogGroups does.
type DescribeGroupsParams struct {
	Prefix    string // names starting with it
	Pattern   string // names containing it, case-insensitively (logGroupNamePattern)
	Limit     int    // 1 to 50; 0 means 50
	NextToken string
}

// DescribeGroupsResult is one page of groups, by name.
type DescribeGroupsResult struct {
	Groups    []GroupInfo
	NextToken string
}

// DescribeGroups lists an account's log groups by name.
func (s *Store) DescribeGroups(account string, p DescribeGroupsParams) (DescribeGroupsResult, error) {
	limit := p.Limit
	if limit <= 0 || limit > maxDescribeLimit {
		limit = maxDescribeLimit
	}
	after := ""
	if p.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.NextToken)
		if err != nil {
			return DescribeGroupsResult{}, fmt.Errorf("%w: %q", ErrInvalidToken, p.NextToken)
		}
		after = string(b)
	}
	names, err := s.groupNames(account)
	if err != nil {
		return DescribeGroupsResult{}, err
	}
	res := DescribeGroupsResult{Groups: []GroupInfo{}}
	pattern := strings.ToLower(p.Pattern)
	for i, name := range names {
		if name <= after && after != "" || !strings.HasPrefix(name, p.Prefix) || !strings.Contains(strings.ToLower(name), pattern) {
			continue
		}
		if len(res.Groups) == limit {
			res.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			break
		}
		s.mu.Lock()
		g, err := s.groupInfo(account, name)
		s.mu.Unlock()
		if err != nil {
			continue // deleted meanwhile
		}
		g.StoredBytes = s.groupBytes(account, name)
		res.Groups = append(res.Groups, g)
	}
	return res, nil
}

// groupNames lists an account's groups, sorted.
func (s *Store) groupNames(account string) ([]string, error) {
	d, err := s.root.Open(escapeName(account))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	defer d.Close()
	var names []string
	for {
		des, err := d.ReadDir(1024)
		for _, de := range des {
			if !de.IsDir() {
				continue
			}
			if name, ok := unescapeName(de.Name()); ok {
				names = append(names, name)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("logs: %w", err)
		}
	}
	slices.Sort(names)
	return names, nil
}

// groupBytes is the size of a group's stream files.
func (s *Store) groupBytes(account, group string) int64 {
	var n int64
	entries, _ := os.ReadDir(filepath.Join(s.dir, groupPath(account, group)))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), fileSuffix) {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

// CreateStream makes an empty stream in an existing group.
func (s *Store) CreateStream(account, group, stream string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.root.Stat(groupPath(account, group)); errors.Is(err, fs.ErrNotExist) {
		return groupNotFound(group)
	}
	p := streamPath(account, group, stream)
	if _, err := s.root.Stat(p); err == nil || s.active[p] != nil {
		return fmt.Errorf("log stream %q: %w", stream, ErrAlreadyExists)
	}
	switch _, ok, err := s.reserved(account, group, stream); {
	case err != nil:
		return err
	case ok:
		return fmt.Errorf("log stream %q: %w", stream, ErrAlreadyExists)
	}
	hdr := header{created: s.now().UnixMilli(), id: newID(), account: account, group: group, stream: stream}
	f, err := s.createFile(filepath.Join(s.dir, p), hdr.encode())
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("log stream %q: %w", stream, ErrAlreadyExists)
	}
	if err != nil {
		return err
	}
	return f.Close()
}
