package sqlite

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedFileRefused: a database whose pages were overwritten is refused at Open with
// ErrDamaged and a message saying what to do; an intact one opens, and a backup of a live store
// opens as a store of its own with the same rows.
func TestDamagedFileRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "barge.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec("CREATE TABLE filler (b BLOB)"); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if _, err := s.write.Exec("INSERT INTO filler VALUES (randomblob(3000))"); err != nil {
			t.Fatal(err)
		}
	}
	backup := filepath.Join(dir, "copy.db")
	if err := s.Backup(backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(backup); err == nil {
		t.Error("a backup over an existing file was accepted")
	}
	s.Close()

	c, err := Open(backup)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	var n int
	c.read.QueryRow("SELECT count(*) FROM filler").Scan(&n)
	c.Close()
	if n != 200 {
		t.Fatalf("the backup holds %d rows of 200", n)
	}

	// Damage: garbage over the middle of the file (b-tree pages of the filler table).
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", 4096))
	f.WriteAt(junk, fi.Size()/2/4096*4096)
	f.Close()
	_, err = Open(path)
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "Restore the data directory") {
		t.Fatalf("Open of a damaged file: %v", err)
	}
}
