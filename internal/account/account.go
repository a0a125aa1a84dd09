// Package account keeps the credentials barge accepts, each belonging to one account id, in a
// file in the data directory (credentials.json, mode 0600). The first start creates one random
// access key for the default account 000000000000.
package account

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/sigv4"
)

// DefaultAccount is the account id of the credential created on first start.
const DefaultAccount = "000000000000"

// FileName is the credentials file inside the data directory.
const FileName = "credentials.json"

type file struct {
	Credentials []entry `json:"credentials"`
}

type entry struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	AccountID       string `json:"accountId"`
}

// Set is the loaded credentials, indexed by access key id.
type Set struct {
	list  []sigv4.Credential
	byKey map[string]sigv4.Credential
}

// Lookup finds a credential by access key id.
func (s *Set) Lookup(accessKeyID string) (sigv4.Credential, bool) {
	c, ok := s.byKey[accessKeyID]
	return c, ok
}

// First is the first credential of the file (the default account's, unless edited).
func (s *Set) First() sigv4.Credential { return s.list[0] }

// ForAccount returns the first credential of an account.
func (s *Set) ForAccount(id string) (sigv4.Credential, bool) {
	for _, c := range s.list {
		if c.AccountID == id {
			return c, true
		}
	}
	return sigv4.Credential{}, false
}

// Accounts lists the distinct account ids, in file order.
func (s *Set) Accounts() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range s.list {
		if !seen[c.AccountID] {
			seen[c.AccountID] = true
			out = append(out, c.AccountID)
		}
	}
	return out
}

// Load reads the credentials file of dataDir.
func Load(dataDir string) (*Set, error) {
	path := filepath.Join(dataDir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if len(f.Credentials) == 0 {
		return nil, fmt.Errorf("%s holds no credentials", path)
	}
	s := &Set{byKey: map[string]sigv4.Credential{}}
	for i, e := range f.Credentials {
		if e.AccessKeyID == "" || e.SecretAccessKey == "" || !accountRE.MatchString(e.AccountID) {
			return nil, fmt.Errorf("%s: credential %d needs accessKeyId, secretAccessKey and a 12-digit accountId", path, i)
		}
		c := sigv4.Credential{AccessKeyID: e.AccessKeyID, SecretAccessKey: e.SecretAccessKey, AccountID: e.AccountID}
		s.list = append(s.list, c)
		s.byKey[c.AccessKeyID] = c
	}
	return s, nil
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// LoadOrCreate loads the credentials of dataDir, first creating a file with one random credential
// for DefaultAccount when there is none.
func LoadOrCreate(dataDir string) (*Set, error) {
	_, err := os.Stat(filepath.Join(dataDir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		if _, err := Add(dataDir, DefaultAccount); err != nil {
			return nil, err
		}
	}
	return Load(dataDir)
}

// Add appends a new random credential for account to the file of dataDir and returns it. A
// file it creates starts with a credential of DefaultAccount, as a server's first start makes
// it, so that adding an account to a fresh data directory does not leave it the only one.
func Add(dataDir, account string) (sigv4.Credential, error) {
	if !accountRE.MatchString(account) {
		return sigv4.Credential{}, fmt.Errorf("account id %q must be 12 digits", account)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return sigv4.Credential{}, err
	}
	path := filepath.Join(dataDir, FileName)
	var f file
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &f); err != nil {
			return sigv4.Credential{}, fmt.Errorf("parse %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return sigv4.Credential{}, fmt.Errorf("read credentials: %w", err)
	case account != DefaultAccount:
		d := newCredential(DefaultAccount)
		f.Credentials = append(f.Credentials, entry{d.AccessKeyID, d.SecretAccessKey, d.AccountID})
	}
	c := newCredential(account)
	f.Credentials = append(f.Credentials, entry{c.AccessKeyID, c.SecretAccessKey, c.AccountID})
	b, _ = json.MarshalIndent(f, "", "  ")
	// Write then rename, so a crash never leaves a half-written credentials file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return sigv4.Credential{}, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return sigv4.Credential{}, err
	}
	return c, nil
}

// newCredential makes a random access key and secret for account.
func newCredential(account string) sigv4.Credential {
	return sigv4.Credential{AccessKeyID: "AKIA" + randomString(16, upperDigits), SecretAccessKey: randomString(40, secretChars), AccountID: account}
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// RereadInterval is the least time between two reads of credentials.json by a Live set.
const RereadInterval = 100 * time.Millisecond

// Live is a data directory's credentials as a running server sees them: a key it does not know
// makes it read credentials.json again (Reread) if the file changed since it last read it, so
// that `barge account add` takes effect without a restart. Unknown keys cost a stat of the file;
// the file is read at most once per RereadInterval.
type Live struct {
	dataDir string
	onNew   func(accountID string) error

	mu  sync.RWMutex
	set *Set

	rereadMu sync.Mutex // one reread at a time
	stamp    os.FileInfo
	readAt   time.Time
	// OnReload, when set before the server serves, is called with each set read again.
	OnReload func(*Set)
}

// NewLive serves the credentials of dataDir, starting from set (as loaded at start). onNew is
// called for each account that appears in a later read, before its keys are accepted (the
// server makes the account's default resources there); nil for none.
func NewLive(dataDir string, set *Set, onNew func(accountID string) error) *Live {
	return &Live{dataDir: dataDir, set: set, onNew: onNew}
}

// Lookup finds a credential by access key id among those last read.
func (l *Live) Lookup(accessKeyID string) (sigv4.Credential, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.set.Lookup(accessKeyID)
}

// Reread reads credentials.json again if it changed since the last read (and that read is
// RereadInterval old), then looks accessKeyID up. For keys Lookup did not find.
func (l *Live) Reread(accessKeyID string) (sigv4.Credential, bool) {
	l.rereadMu.Lock()
	defer l.rereadMu.Unlock()
	if c, ok := l.Lookup(accessKeyID); ok {
		return c, true // another reread found it meanwhile
	}
	fi, err := os.Stat(filepath.Join(l.dataDir, FileName))
	if err != nil || sameFile(fi, l.stamp) || time.Since(l.readAt) < RereadInterval {
		return sigv4.Credential{}, false
	}
	l.readAt = time.Now()
	set, err := Load(l.dataDir)
	if err != nil {
		return sigv4.Credential{}, false // a broken edit: keep serving what was read before
	}
	if l.onNew != nil {
		known := map[string]bool{}
		for _, a := range l.set.Accounts() {
			known[a] = true
		}
		for _, a := range set.Accounts() {
			if !known[a] {
				if err := l.onNew(a); err != nil {
					return sigv4.Credential{}, false // tried again on the next unknown key
				}
			}
		}
	}
	l.stamp = fi
	l.mu.Lock()
	l.set = set
	l.mu.Unlock()
	if l.OnReload != nil {
		l.OnReload(set)
	}
	return set.Lookup(accessKeyID)
}

// sameFile reports whether a and b describe the same file unchanged (Add replaces it by rename).
func sameFile(a, b os.FileInfo) bool {
	return b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// Scope is the key of what one account owns in one region: resources, jobs, functions and logs
// of an account in one region are apart from its others, as on AWS. The server's own region
// keeps the bare account id (so data from before regions were kept apart stays where it was);
// another region is "<account>@<region>".
func Scope(accountID, region, defaultRegion string) string {
	if region == "" || region == defaultRegion {
		return accountID
	}
	return accountID + "@" + region
}

// SplitScope is Scope's inverse: the account id and region of a scope key.
func SplitScope(scope, defaultRegion string) (accountID, region string) {
	if a, r, ok := strings.Cut(scope, "@"); ok {
		return a, r
	}
	return scope, defaultRegion
}
