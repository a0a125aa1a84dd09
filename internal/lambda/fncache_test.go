package lambda

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store"
	"github.com/barge-run/barge/internal/store/sqlite"
)

// dropDuringRead is a real store whose ResourceGet lets a write of the same function land while
// the read is in flight, as a concurrent UpdateFunctionConfiguration would.
type dropDuringRead struct {
	store.Store
	during func()
}

func (d *dropDuringRead) ResourceGet(ctx context.Context, account string, kind store.Kind, name string, rev int) (*store.Resource, error) {
	r, err := d.Store.ResourceGet(ctx, account, kind, name, rev)
	if d.during != nil {
		d.during()
	}
	return r, err
}

func TestFnCache(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	put := func(body string) {
		t.Helper()
		r := &store.Resource{Account: "a", Kind: KindFunction, Name: "f", Status: "Active", Body: []byte(body), CreatedAt: time.Now()}
		if err := db.ResourceUpdate(ctx, r); errors.Is(err, store.ErrNotFound) {
			err = db.ResourceCreate(ctx, r)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	var c fnCache
	read := func(st store.Store) string {
		t.Helper()
		rec, b, err := c.shared(ctx, st, "a", "f")
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil || rec.Config.FunctionName != "f" {
			t.Fatalf("decoded record %+v of %s", rec, b)
		}
		return string(b)
	}

	if _, _, err := c.shared(ctx, db, "a", "f"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a missing function: %v", err)
	}
	put(`{"config":{"FunctionName":"f","Description":"v1"}}`)
	if got := read(db); got != `{"config":{"FunctionName":"f","Description":"v1"}}` {
		t.Fatalf("first read: %s", got)
	}
	// Written behind the cache's back (another server on the same store): the cached record
	// serves until the TTL; written by this server (drop after the write): read at once.
	put(`{"config":{"FunctionName":"f","Description":"v2"}}`)
	if got := read(db); got != `{"config":{"FunctionName":"f","Description":"v1"}}` {
		t.Fatalf("within the TTL: %s", got)
	}
	c.drop("a", "f")
	if got := read(db); got != `{"config":{"FunctionName":"f","Description":"v2"}}` {
		t.Fatalf("after drop: %s", got)
	}
	// A read that began before a write must not cache what it read.
	racing := &dropDuringRead{Store: db}
	c.drop("a", "f")
	racing.during = func() {
		put(`{"config":{"FunctionName":"f","Description":"v3"}}`)
		c.drop("a", "f")
		racing.during = nil
	}
	if got := read(racing); got != `{"config":{"FunctionName":"f","Description":"v2"}}` {
		t.Fatalf("the racing read itself: %s", got)
	}
	if got := read(db); got != `{"config":{"FunctionName":"f","Description":"v3"}}` {
		t.Fatalf("after a write during a read, the cache kept the older record: %s", got)
	}
	// Deleted by this server: gone at once.
	if err := db.ResourceDelete(ctx, "a", KindFunction, "f", 0); err != nil {
		t.Fatal(err)
	}
	c.drop("a", "f")
	if _, _, err := c.shared(ctx, db, "a", "f"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}
