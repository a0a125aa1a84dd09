// Package pgtest runs a throwaway PostgreSQL server for tests: one per test binary, a fresh
// database per caller. It needs Debian's postgresql package (.ci/run installs it); without it the
// tests that need it skip, saying so.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// binDir is where Debian puts PostgreSQL 15's programs (initdb is not on PATH).
var binDir = "/usr/lib/postgresql/15/bin"

var (
	once    sync.Once
	baseDSN string // of the server's "postgres" database
	dir     string
	startEr error
	dbSeq   atomic.Int64
)

// DSN is a new, empty database of the test server; the test is skipped when PostgreSQL is not
// installed, and fails when it is but cannot start.
func DSN(tb testing.TB) string {
	tb.Helper()
	once.Do(start)
	if startEr != nil {
		if os.IsNotExist(startEr) {
			tb.Skipf("PostgreSQL is not installed here (%v): apt-get install postgresql", startEr)
		}
		tb.Fatalf("starting PostgreSQL: %v", startEr)
	}
	name := fmt.Sprintf("barge_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, baseDSN)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("postgres://test@%s/%s?sslmode=disable", addr, name)
}

var addr string

// start runs initdb and the server as the postgres user in a temporary directory.
func start() {
	if _, err := os.Stat(filepath.Join(binDir, "initdb")); err != nil {
		startEr = err
		return
	}
	var err error
	if dir, err = os.MkdirTemp("", "barge-pg-"); err != nil {
		startEr = err
		return
	}
	port, err := freePort()
	if err != nil {
		startEr = err
		return
	}
	runAs := []string{}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		u, err := user.Lookup("postgres")
		if err != nil {
			startEr = fmt.Errorf("running as root needs a postgres user: %w", err)
			return
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			startEr = err
			return
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(args ...string) error {
		args = append(runAs, args...)
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %w\n%s", args, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if startEr = run(filepath.Join(binDir, "initdb"), "-D", data, "-A", "trust", "-U", "test", "-E", "UTF8", "--no-sync"); startEr != nil {
		return
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off", port, dir)
	if startEr = run(filepath.Join(binDir, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "pg.log"), "-w", "-t", "60", "-o", opts, "start"); startEr != nil {
		return
	}
	addr = "127.0.0.1:" + strconv.Itoa(port)
	baseDSN = "postgres://test@" + addr + "/postgres?sslmode=disable"
	stopCmd = append(runAs, filepath.Join(binDir, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
}

var stopCmd []string

// Stop stops the server (call it from TestMain after the tests) and removes its files.
func Stop() {
	if len(stopCmd) > 0 {
		exec.Command(stopCmd[0], stopCmd[1:]...).Run()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
