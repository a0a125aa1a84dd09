package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/barge-run/barge/internal/store/sqlite"
)

// cmdBackup copies a data directory, while its server runs, into a new directory a server can
// start from: the store as one consistent snapshot (SQLite's VACUUM INTO), the credentials,
// functions' code and the logs. Restore: stop the server and start one with --data-dir on the
// copy (or move the copy into the old directory's place).
func cmdBackup(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: barge backup [--data-dir .barge] <new directory>"}
	}
	dest := fs.Arg(0)
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backup: %s exists; name a new directory", dest)
	}
	db, err := sqlite.Open(filepath.Join(c.dataDir, "barge.db"))
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return err
	}
	// The store first: its snapshot names only functions and streams that exist by now.
	if err := db.Backup(filepath.Join(dest, "barge.db")); err != nil {
		return err
	}
	for _, name := range []string{"credentials.json", "functions", "logs"} {
		if err := copyTree(filepath.Join(c.dataDir, name), filepath.Join(dest, name)); err != nil {
			return fmt.Errorf("backup: %s: %w", name, err)
		}
	}
	fmt.Fprintf(out, "backed up %s to %s; start a server from it with: barge server --data-dir %s\n", c.dataDir, dest, dest)
	return nil
}

// copyTree copies regular files, directories and symlinks from src to dst (missing src: nothing).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == src {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return nil // sockets, devices: not part of barge's data
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return errors.Join(out.Sync(), out.Close())
}
