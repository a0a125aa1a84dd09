package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/barge-run/barge/internal/store"
)

// TestFenceReadOncePerLeaseChange: in one shared transaction, fenced writes are checked against
// the lease as it stands after every earlier write of the batch — a takeover written earlier in
// the same transaction fences the deposed holder's later writes.
func TestFenceReadOncePerLeaseChange(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "barge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	old, err := s.LeaseAcquire(ctx, "engine", "a", now, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.write.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var ran []string
	write := func(name string, fence *store.Lease) *writeOp {
		return &writeOp{fence: fence, fn: func(*sql.Tx) error { ran = append(ran, name); return nil }}
	}
	takeover := &writeOp{fn: func(tx *sql.Tx) error {
		ran = append(ran, "takeover")
		_, err := tx.Exec(`UPDATE leases SET holder = 'b', generation = generation + 1 WHERE name = 'engine'`)
		return err
	}}
	var m leaseMemo
	steps := []struct {
		op      *writeOp
		fenced  bool
		wantRan string
	}{
		{write("first", old), false, "first"},
		{write("second", old), false, "second"},
		{takeover, false, "takeover"},
		{write("deposed", old), true, ""},
	}
	for _, st := range steps {
		before := len(ran)
		err := m.run(tx, s.readLease, st.op)
		if got := errors.Is(err, store.ErrFenced); got != st.fenced {
			t.Fatalf("after %v: err %v, fenced %v want %v", ran, err, got, st.fenced)
		}
		if st.wantRan != "" && (len(ran) != before+1 || ran[before] != st.wantRan) {
			t.Fatalf("ran %v, want %s to have run", ran, st.wantRan)
		}
		if st.wantRan == "" && len(ran) != before {
			t.Fatalf("ran %v: a fenced write ran", ran)
		}
	}
}
