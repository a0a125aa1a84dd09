package lambda

import (
	"context"
	"sync"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// fnCacheTTL bounds how long a cached function record is used without reading the store again.
// This server drops an entry the moment it writes the function; the TTL only bounds how stale a
// record written by someone else sharing the store can be (AWS itself applies configuration
// changes to invocations within seconds, not at once).
const fnCacheTTL = time.Second

// fnCache keeps the stored bytes of recently read function records, so a warm Invoke does not
// read SQLite: reading the record was ~14 % of the server's CPU per invoke. Bytes, not decoded
// records, because callers change the records they get.
type fnCache struct {
	mu      sync.Mutex
	entries map[fnKey]fnEntry
	// gen counts writes; a read that began before a write does not fill the cache with what it
	// read, which may predate the write.
	gen uint64
}

type fnKey struct{ account, name string }

type fnEntry struct {
	body []byte
	at   time.Time
}

// get returns the function's stored record, from the cache when it is fresh.
func (c *fnCache) get(ctx context.Context, st store.Store, account, name string) ([]byte, error) {
	k := fnKey{account, name}
	c.mu.Lock()
	e, ok := c.entries[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && time.Since(e.at) < fnCacheTTL {
		return e.body, nil
	}
	r, err := st.ResourceGet(ctx, account, KindFunction, name, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.entries == nil {
			c.entries = map[fnKey]fnEntry{}
		}
		c.entries[k] = fnEntry{body: r.Body, at: time.Now()}
	}
	c.mu.Unlock()
	return r.Body, nil
}

// drop forgets a function this server is writing or deleting; call it after the write.
func (c *fnCache) drop(account, name string) {
	c.mu.Lock()
	c.gen++
	delete(c.entries, fnKey{account, name})
	c.mu.Unlock()
}
