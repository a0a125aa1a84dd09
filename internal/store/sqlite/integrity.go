package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// ErrDamaged is returned by Open for a database file that fails SQLite's integrity check.
var ErrDamaged = errors.New("the database file is damaged")

// checkIntegrity refuses to serve a damaged database: jobs acknowledged earlier would silently be
// missing. quick_check reads every page (O(size), seconds for gigabytes) but skips the index
// cross-checks of integrity_check.
func checkIntegrity(db *sql.DB, path string) error {
	rows, err := db.Query("PRAGMA quick_check")
	if err != nil {
		if isCorrupt(err) {
			return damaged(path, err.Error())
		}
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check of %s: %w", path, err)
		}
		if line != "ok" && len(problems) < 5 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		if isCorrupt(err) {
			return damaged(path, err.Error())
		}
		return fmt.Errorf("integrity check of %s: %w", path, err)
	}
	if len(problems) > 0 {
		return damaged(path, strings.Join(problems, "; "))
	}
	return nil
}

// whileBusy runs fn again while it fails with SQLITE_BUSY, for up to busyWait. Another handle
// opening the same file at the same moment (a second server, or a backup) can hold the lock
// its first statement needs in a way SQLite's busy_timeout does not wait for: while it turns the
// file to WAL mode, a first read fails at once with "database is locked".
func whileBusy(fn func() error) error {
	deadline := time.Now().Add(busyWait)
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		err := fn()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay) // a backoff against another process's lock, not a synchronisation
	}
}

// busyWait bounds whileBusy.
const busyWait = 10 * time.Second

func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

func isCorrupt(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "malformed") || strings.Contains(msg, "not a database") || strings.Contains(msg, "corrupt")
}

func damaged(path, why string) error {
	return fmt.Errorf("%w: %s (%s). barge will not serve it: jobs it acknowledged could be missing. "+
		"Restore the data directory from a backup (barge backup), or move %s aside to start with an empty store",
		ErrDamaged, path, why, path)
}

// Backup writes a consistent copy of the live database to dest (a new file) with VACUUM INTO,
// while the store keeps serving.
func (s *Store) Backup(dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s exists", dest)
	}
	if _, err := s.read.Exec("VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	return nil
}
