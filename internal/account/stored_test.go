package account

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store/sqlite"
)

// TestStoredSharesAndWithdrawsKeys: keys one server imports are found by another; a key removed
// from the first server's file is withdrawn from the store when it imports again, and stops
// working once the second server's cached answer ages (a second).
func TestStoredSharesAndWithdrawsKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "barge.db")
	open := func() *Stored {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return NewStored(db)
	}
	first, second := open(), open()
	dirA := t.TempDir()
	if _, err := LoadOrCreate(dirA); err != nil {
		t.Fatal(err)
	}
	extra, err := Add(dirA, "111122223333")
	if err != nil {
		t.Fatal(err)
	}
	setA, _ := Load(dirA)
	ctx := context.Background()
	if err := first.Import(ctx, "a", setA); err != nil {
		t.Fatal(err)
	}
	if c, ok := second.Lookup(extra.AccessKeyID); !ok || c != extra {
		t.Fatalf("the other server's key: %+v %v", c, ok)
	}
	if _, ok := second.Lookup("AKIANOSUCHKEY0000000"); ok {
		t.Fatal("an unknown key was accepted")
	}
	// The first server's file loses the extra key; it imports its file again.
	setA.list = setA.list[:1]
	delete(setA.byKey, extra.AccessKeyID)
	if err := first.Import(ctx, "a", setA); err != nil {
		t.Fatal(err)
	}
	second.mu.Lock()
	second.known[extra.AccessKeyID] = knownKey{c: extra, at: time.Now().Add(-2 * negativeFor)} // its cached answer aged
	second.mu.Unlock()
	if _, ok := second.Lookup(extra.AccessKeyID); ok {
		t.Fatal("a withdrawn key still works")
	}
	if _, ok := second.Lookup(setA.First().AccessKeyID); !ok {
		t.Fatal("the key still in the file was withdrawn too")
	}
}
