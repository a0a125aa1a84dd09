package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/sigv4"
	"github.com/barge-run/barge/internal/store"
)

// KindCredential is an access key in the store (account "", named by its access key id): every
// server on a shared store accepts every key any of them imported from its credentials.json.
// The store holds the secrets as the credentials file does (SigV4 needs them to verify a
// signature): its access is as sensitive as the file's.
const KindCredential store.Kind = "credential"

// negativeFor is how long what the store said of a key is kept: a key costs at most one store
// read a second, whatever a client sends.
const negativeFor = time.Second

// Stored is the credentials of every server on one store.
type Stored struct {
	st store.Store

	mu      sync.Mutex
	unknown map[string]time.Time // key → when the store last said no
	known   map[string]knownKey  // key → what the store said, and when
}

// NewStored reads and writes credentials in st.
func NewStored(st store.Store) *Stored {
	return &Stored{st: st, unknown: map[string]time.Time{}, known: map[string]knownKey{}}
}

// knownKey is a key the store holds, as read at at.
type knownKey struct {
	c  sigv4.Credential
	at time.Time
}

type storedCredential struct {
	SecretAccessKey string `json:"secretAccessKey"`
	AccountID       string `json:"accountId"`
	// Server is the server whose credentials.json holds the key: the one that withdraws it.
	Server string `json:"server"`
}

// Import puts the keys of set, server's credentials.json, into the store, and withdraws those it
// put there before that the file no longer holds (a key deleted from the file is revoked on every
// server once its own server has read the file again).
func (s *Stored) Import(ctx context.Context, server string, set *Set) error {
	for _, c := range set.list {
		body, _ := json.Marshal(storedCredential{SecretAccessKey: c.SecretAccessKey, AccountID: c.AccountID, Server: server})
		err := s.st.ResourceCreate(ctx, &store.Resource{Kind: KindCredential, Name: c.AccessKeyID, Status: "ACTIVE", Body: body, CreatedAt: time.Now()})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("import credential %s: %w", c.AccessKeyID, err)
		}
	}
	rs, err := s.st.ResourceList(ctx, &store.ResourceListParams{Kind: KindCredential})
	if err != nil {
		return fmt.Errorf("list credentials: %w", err)
	}
	for _, r := range rs {
		var sc storedCredential
		if json.Unmarshal(r.Body, &sc) != nil || sc.Server != server {
			continue
		}
		if _, ok := set.Lookup(r.Name); !ok {
			if err := s.st.ResourceDelete(ctx, "", KindCredential, r.Name, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("withdraw credential %s: %w", r.Name, err)
			}
		}
	}
	return nil
}

// Lookup finds a key in the store (another server imported it). What the store says is kept for
// a second (a withdrawn key stops working within one); the server looks here only for keys
// neither its file nor its sessions know.
func (s *Stored) Lookup(accessKeyID string) (sigv4.Credential, bool) {
	s.mu.Lock()
	if k, ok := s.known[accessKeyID]; ok && time.Since(k.at) < negativeFor {
		s.mu.Unlock()
		return k.c, true
	}
	if at, ok := s.unknown[accessKeyID]; ok && time.Since(at) < negativeFor {
		s.mu.Unlock()
		return sigv4.Credential{}, false
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := s.st.ResourceGet(ctx, "", KindCredential, accessKeyID, 0)
	var sc storedCredential
	if err == nil {
		err = json.Unmarshal(r.Body, &sc)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || !accountRE.MatchString(sc.AccountID) {
		if len(s.unknown) > 10000 {
			clear(s.unknown) // bounded: a flood of random keys cannot grow it without end
		}
		s.unknown[accessKeyID] = time.Now()
		delete(s.known, accessKeyID)
		return sigv4.Credential{}, false
	}
	c := sigv4.Credential{AccessKeyID: accessKeyID, SecretAccessKey: sc.SecretAccessKey, AccountID: sc.AccountID}
	if len(s.known) > 10000 {
		clear(s.known)
	}
	s.known[accessKeyID] = knownKey{c: c, at: time.Now()}
	return c, true
}
