package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
	"github.com/barge-run/barge/internal/exec/local"
	"github.com/barge-run/barge/internal/exec/sandbox"
	"github.com/barge-run/barge/internal/image"
	"github.com/barge-run/barge/internal/store"
	"github.com/barge-run/barge/internal/store/postgres"
	"github.com/barge-run/barge/internal/store/sqlite"
)

// The engines barge runs on, chosen by configuration: a Store for state and an Executor for
// work. The server holds them by their interfaces (store.Store, exec.Executor); what a backend
// offers beyond them (an image store, barge's API served inside sandboxes) it asks for by
// interface too, so another backend (PostgreSQL, Kubernetes) plugs in here and nowhere else.

// openStore opens the store opts name: the embedded SQLite file of the data directory, or a
// PostgreSQL database several servers share.
func openStore(ctx context.Context, opts Options) (store.Store, error) {
	switch kind := storeKind(opts.Store); kind {
	case "sqlite":
		return sqlite.Open(filepath.Join(opts.DataDir, "barge.db"))
	case "postgres":
		return postgres.Open(ctx, opts.Store)
	default:
		return nil, fmt.Errorf("--store %q: not a store barge has (sqlite, the default, or postgres://user:password@host:port/db?sslmode=verify-full)", opts.Store)
	}
}

// storeKind is the driver a --store value names ("" for none).
func storeKind(s string) string {
	switch {
	case s == "" || s == "sqlite":
		return "sqlite"
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		return "postgres"
	}
	return ""
}

// serverName is this server's name among those on its store (leases, claims, shares): stable
// across its restarts. With the embedded store there is one server, "local"; on a shared store
// its host's name and its data directory's tell servers apart.
func serverName(opts Options) string {
	if opts.Name != "" {
		return opts.Name
	}
	if storeKind(opts.Store) == "sqlite" {
		return "local"
	}
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(opts.DataDir))
	return host + "-" + hex.EncodeToString(sum[:4])
}

// apiInside is an executor that serves barge's API inside each attempt's own network.
type apiInside interface{ ServesAPIInside() bool }

// imageRunner is an executor that runs OCI images from an image store of barge's.
type imageRunner interface {
	Images() *image.Store
	Sandboxed() bool
}

// sandboxed reports whether the executor isolates attempts (local sandboxes); an executor that
// is not local says so in its Describe.
func sandboxed(e bexec.Executor) bool {
	r, ok := e.(imageRunner)
	return ok && r.Sandboxed()
}

// imagesOf is the image store the executor runs images from, nil when it runs none of barge's.
func imagesOf(e bexec.Executor) *image.Store {
	if r, ok := e.(imageRunner); ok && r.Sandboxed() {
		return r.Images()
	}
	return nil
}

// newExecutor makes the local executor: sandboxed when the host allows (or opts demand it), with
// the image cache under the data directory.
func newExecutor(opts Options, api http.Handler, log *slog.Logger) (bexec.Executor, error) {
	images, err := image.New(filepath.Join(opts.DataDir, "images"), image.Options{Insecure: opts.InsecureRegistries})
	if err != nil {
		return nil, err
	}
	if opts.NetworkNAT {
		if opts.Isolation == "none" {
			return nil, errors.New("--job-network nat needs sandboxes, and --isolation none turns them off")
		}
		if _, err := exec.LookPath("pasta"); err != nil {
			return nil, fmt.Errorf("--job-network nat needs pasta (Debian's and Ubuntu's package passt): %w", err)
		}
	}
	why := ""
	switch opts.Isolation {
	case "", "auto", "sandbox":
		sopts := sandbox.Options{DataDir: opts.DataDir, PidsLimit: opts.PidsLimit, VolumeRoots: opts.VolumeRoots, DiskBytes: opts.EphemeralStorage,
			HostUsers: opts.HostUsers, HostNetwork: opts.HostNetwork, NetworkNAT: opts.NetworkNAT, Strict: opts.Isolation == "sandbox"}
		for _, u := range opts.UnsafeSandbox {
			switch u {
			case "userns":
				sopts.HostUsers = true
			case "netns":
				sopts.HostNetwork, sopts.NetworkNAT = true, false
			default:
				sopts.Unsafe = append(sopts.Unsafe, u)
			}
		}
		sb, err := sandbox.New(sopts)
		if err == nil {
			if len(opts.UnsafeSandbox) > 0 {
				log.Warn("SANDBOX PROTECTIONS TURNED OFF FOR TESTING", "off", strings.Join(opts.UnsafeSandbox, ","))
			}
			return local.New(local.Options{Sandbox: sb, Images: images, API: api}), nil
		}
		if opts.Isolation == "sandbox" || sopts.NetworkNAT {
			// Without a sandbox jobs would have the host's network, not the NAT asked for.
			return nil, fmt.Errorf("isolation: %w", err)
		}
		why = err.Error()
	case "none":
		why = "isolation turned off with --isolation none"
	default:
		return nil, fmt.Errorf("isolation: %q is not one of auto, sandbox, none", opts.Isolation)
	}
	return local.New(local.Options{Images: images, Unsandboxed: why}), nil
}

// sharedLook is how often a long poll (SQS) looks at the store again: on a shared store a
// message sent through another server wakes no waiter here.
func sharedLook(opts Options) time.Duration {
	if storeKind(opts.Store) == "sqlite" {
		return 0
	}
	return time.Second
}
