package lambda

import (
	"context"
	"encoding/json"
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
	// rec is body decoded, shared by every reader that only reads it (Invoke); nil when body
	// does not decode (such readers then decode body themselves and fail as they would).
	rec *record
	at  time.Time
}

// shared returns the function's stored record, from the cache when it is fresh: its bytes, and
// decoded, shared with other readers, so it must not be changed (nil when the bytes do not
// decode).
func (c *fnCache) shared(ctx context.Context, st store.Store, account, name string) (rec *record, body []byte, err error) {
	e, err := c.entry(ctx, st, account, name)
	return e.rec, e.body, err
}

func (c *fnCache) entry(ctx context.Context, st store.Store, account, name string) (fnEntry, error) {
	k := fnKey{account, name}
	c.mu.Lock()
	e, ok := c.entries[k]
	gen := c.gen
	c.mu.Unlock()
	if ok && time.Since(e.at) < fnCacheTTL {
		return e, nil
	}
	r, err := st.ResourceGet(ctx, account, KindFunction, name, 0)
	if err != nil {
		return fnEntry{}, err
	}
	e = fnEntry{body: r.Body, at: time.Now()}
	if rec := new(record); json.Unmarshal(r.Body, rec) == nil {
		e.rec = rec
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.entries == nil {
			c.entries = map[fnKey]fnEntry{}
		}
		c.entries[k] = e
	}
	c.mu.Unlock()
	return e, nil
}

// drop forgets a function this server is writing or deleting; call it after the write.
func (c *fnCache) drop(account, name string) {
	c.mu.Lock()
	c.gen++
	delete(c.entries, fnKey{account, name})
	c.mu.Unlock()
}
