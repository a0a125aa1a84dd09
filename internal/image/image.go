package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

const (
	defaultTagTTL = 5 * time.Minute
	refsFile      = "refs.json"
	configFile    = "config.json"
	rootfsDir     = "rootfs"
	tmpPrefix     = ".tmp-"
)

// Options configures a Store.
type Options struct {
	// Insecure lists registries ("host:port", compared exactly with the registry part of a
	// reference) reached over plain HTTP. Loopback registries (localhost, 127.0.0.0/8, [::1])
	// are always allowed over plain HTTP.
	Insecure []string
	// Keychain supplies registry credentials; nil means authn.DefaultKeychain (the docker config
	// at $DOCKER_CONFIG/config.json or ~/.docker/config.json).
	Keychain authn.Keychain
	// TagTTL is how long a tag's resolution to a digest is reused without asking the registry
	// again; 0 means 5 minutes.
	TagTTL time.Duration
	// Now is the clock (nil: time.Now), for tests of TagTTL.
	Now func() time.Time
}

// Store is the on-disk image cache under one directory. One Store (one process) owns a
// directory at a time: New removes unpacks in progress that it finds there. A Store is safe for
// concurrent use.
type Store struct {
	dir      string
	insecure map[string]bool
	keychain authn.Keychain
	ttl      time.Duration
	now      func() time.Time

	mu      sync.Mutex
	tags    map[string]resolution        // tag reference name → last resolution, in memory only
	refs    map[string]string            // reference name → image digest, mirrored in refs.json
	images  map[string]*Image            // digest → unpacked image (Ref unset), a template to clone
	flights map[string]*flight           // digest → pull in progress
	pins    map[string]map[string]string // account → imported name → digest, mirrored in imported.json

	// persistMu serialises refs.json writes so an older snapshot never replaces a newer one.
	persistMu sync.Mutex
}

type resolution struct {
	digest string
	at     time.Time
}

// flight is one pull and unpack of a digest that concurrent Gets wait on.
type flight struct {
	done chan struct{}
	img  *Image
	err  error
}

// New opens (creating if needed) the image cache in dir and removes what an interrupted unpack
// left there.
func New(dir string, opts Options) (*Store, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	s := &Store{
		dir:      dir,
		insecure: make(map[string]bool),
		keychain: opts.Keychain,
		ttl:      opts.TagTTL,
		now:      opts.Now,
		tags:     make(map[string]resolution),
		refs:     make(map[string]string),
		images:   make(map[string]*Image),
		flights:  make(map[string]*flight),
		pins:     make(map[string]map[string]string),
	}
	for _, r := range opts.Insecure {
		s.insecure[r] = true
	}
	if s.keychain == nil {
		s.keychain = authn.DefaultKeychain
	}
	if s.ttl <= 0 {
		s.ttl = defaultTagTTL
	}
	if s.now == nil {
		s.now = time.Now
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			// Best effort: a leftover that cannot be removed is merely wasted space, since
			// temp names are never reused.
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}

	if err := s.loadPins(); err != nil {
		return nil, fmt.Errorf("image store: %s: %w", importedFile, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, refsFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("image store: %w", err)
	default:
		// refs.json is only an offline fallback and is replaced atomically; should it still be
		// unreadable, starting without it loses nothing that a registry cannot give back.
		var refs map[string]string
		if json.Unmarshal(b, &refs) == nil {
			for k, d := range refs {
				if _, err := v1.NewHash(d); err == nil {
					s.refs[k] = d
				}
			}
		}
	}
	return s, nil
}

// Image is an image ready to run.
type Image struct {
	Ref        string   // as asked
	Digest     string   // manifest digest, "sha256:..."; the linux/GOARCH image's when the reference names an index
	RootFS     string   // absolute path of the unpacked root filesystem; shared, never written to
	Entrypoint []string // from the image config
	Cmd        []string
	Env        []string // KEY=VALUE
	WorkingDir string
	User       string
}

// imageJSON is config.json: what Get returns besides the paths, so that a cached image needs
// neither the registry nor the image's own config blob.
type imageJSON struct {
	Digest     string   `json:"digest"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
}

// clone returns a copy the caller may modify (appending to Env is common) without touching the
// cached template.
func (im *Image) clone(ref string) *Image {
	c := *im
	c.Ref = ref
	c.Entrypoint = slices.Clone(im.Entrypoint)
	c.Cmd = slices.Clone(im.Cmd)
	c.Env = slices.Clone(im.Env)
	return &c
}

// PullError is returned by Get when the image cannot be pulled or unpacked. Its Error text is
// short enough to follow AWS's "CannotPullContainerError: " prefix in a job's status reason.
type PullError struct {
	// Ref is the reference fully qualified ("docker.io/library/busybox:latest"), or as asked
	// when it does not parse.
	Ref string
	// Err is the cause, as returned by go-containerregistry or the unpack.
	Err error
}

func (e *PullError) Error() string { return "pull " + e.Ref + ": " + short(e.Err) }

// Unwrap returns the cause.
func (e *PullError) Unwrap() error { return e.Err }

// short describes err without what the reference already says: registry error codes become
// words ("manifest unknown") and the method and URL of failed requests are dropped.
func short(err error) string {
	var te *transport.Error
	if errors.As(err, &te) {
		if len(te.Errors) == 0 {
			return fmt.Sprintf("registry answered %d %s", te.StatusCode, http.StatusText(te.StatusCode))
		}
		d := te.Errors[0]
		switch d.Code {
		case transport.ManifestUnknownErrorCode:
			return "manifest unknown"
		case transport.NameUnknownErrorCode:
			return "repository unknown"
		}
		code := strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		if d.Message == "" {
			return code
		}
		return code + ": " + d.Message
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// Get returns ref's image, pulling and unpacking it if it is not cached. A digest reference
// already unpacked needs no network; a tag is resolved through the registry at most once per
// TagTTL, and when the registry cannot be reached the digest it last resolved to is used.
// All errors are *PullError.
func (s *Store) Get(ctx context.Context, ref string) (*Image, error) {
	r, err := s.parse(ref)
	if err != nil {
		return nil, &PullError{Ref: ref, Err: err}
	}
	im, err := s.get(ctx, r)
	if err != nil {
		display := r.Name()
		if r.Context().RegistryStr() == name.DefaultRegistry {
			display = "docker.io" + strings.TrimPrefix(display, name.DefaultRegistry)
		}
		return nil, &PullError{Ref: display, Err: err}
	}
	return im.clone(ref), nil
}

// parse parses ref, reaching configured and loopback registries over plain HTTP.
// go-containerregistry already does so for localhost:port and 127.0.0.1 but not for the rest of
// 127.0.0.0/8, "localhost" without a port or configured hosts.
func (s *Store) parse(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if reg := r.Context().RegistryStr(); s.insecure[reg] || isLoopback(reg) {
		return name.ParseReference(ref, name.Insecure)
	}
	return r, nil
}

func isLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Store) get(ctx context.Context, r name.Reference) (*Image, error) {
	key := r.Name()
	_, byDigest := r.(name.Digest)

	if d, ok := s.known(key, r, byDigest); ok {
		if im, err := s.cached(d); err != nil || im != nil {
			return im, err
		}
	}

	img, digest, err := s.resolve(ctx, r)
	if err != nil {
		if ctx.Err() != nil || !unreachable(err) {
			return nil, err
		}
		s.mu.Lock()
		d, ok := s.refs[key]
		s.mu.Unlock()
		if !ok {
			return nil, err
		}
		im, cerr := s.cached(d)
		if cerr != nil || im == nil {
			return nil, err
		}
		if !byDigest {
			// Reuse the fallback for a TTL rather than waiting on a dead registry every Get.
			s.remember(key, d)
		}
		return im, nil
	}

	im, err := s.unpackOnce(ctx, digest, img)
	if err != nil {
		return nil, err
	}
	if !byDigest {
		s.remember(key, digest)
	}
	// The image is ready; failing to record the reference only weakens the offline fallback,
	// which is no reason to fail the job that asked for it.
	_ = s.persist(key, digest, byDigest)
	return im, nil
}

// known returns the digest ref resolves to without asking the registry, if there is one: the
// digest itself, the image an index digest was resolved to before, or a tag's fresh resolution.
func (s *Store) known(key string, r name.Reference, byDigest bool) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if byDigest {
		if d, ok := s.refs[key]; ok {
			return d, true
		}
		return r.Identifier(), true
	}
	res, ok := s.tags[key]
	if ok && s.now().Sub(res.at) < s.ttl {
		return res.digest, true
	}
	return "", false
}

func (s *Store) remember(key, digest string) {
	s.mu.Lock()
	s.tags[key] = resolution{digest: digest, at: s.now()}
	s.mu.Unlock()
}

// unreachable reports whether err means the registry could not give an answer (network
// failure, 5xx, throttling) rather than a definite one such as "manifest unknown"; only then
// does a tag fall back to its last known digest.
func unreachable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests
	}
	return true
}

// resolve asks the registry which image r names for linux/GOARCH.
func (s *Store) resolve(ctx context.Context, r name.Reference) (v1.Image, string, error) {
	img, err := remote.Image(r,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(s.keychain),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}),
		remote.WithUserAgent("barge"),
	)
	if err != nil {
		return nil, "", err
	}
	h, err := img.Digest()
	if err != nil {
		return nil, "", err
	}
	return img, h.String(), nil
}

// cached returns the unpacked image with digest d, or nil if it is not on disk.
func (s *Store) cached(d string) (*Image, error) {
	h, err := v1.NewHash(d)
	if err != nil {
		return nil, fmt.Errorf("invalid digest %q: %w", d, err)
	}
	if im := s.imageFromMemory(d); im != nil {
		return im, nil
	}
	dir := filepath.Join(s.dir, h.Algorithm+"-"+h.Hex)
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j imageJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, configFile), err)
	}
	im := &Image{
		Digest:     j.Digest,
		RootFS:     filepath.Join(dir, rootfsDir),
		Entrypoint: j.Entrypoint,
		Cmd:        j.Cmd,
		Env:        j.Env,
		WorkingDir: j.WorkingDir,
		User:       j.User,
	}
	s.mu.Lock()
	s.images[d] = im
	s.mu.Unlock()
	return im, nil
}

func (s *Store) imageFromMemory(d string) *Image {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.images[d]
}

// unpackOnce pulls and unpacks img (whose digest is d) unless it is on disk, making concurrent
// callers for the same digest wait for one pull instead of each starting their own.
func (s *Store) unpackOnce(ctx context.Context, d string, img v1.Image) (*Image, error) {
	for {
		if im, err := s.cached(d); err != nil || im != nil {
			return im, err
		}
		s.mu.Lock()
		f, running := s.flights[d]
		if !running {
			f = &flight{done: make(chan struct{})}
			s.flights[d] = f
		}
		s.mu.Unlock()

		if !running {
			f.img, f.err = s.pull(ctx, d, img)
			s.mu.Lock()
			delete(s.flights, d)
			if f.err == nil {
				s.images[d] = f.img
			}
			s.mu.Unlock()
			close(f.done)
			return f.img, f.err
		}

		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err == nil {
			return f.img, nil
		}
		// The pull ran under its starter's context; if that caller gave up while this one
		// still wants the image, take over rather than report someone else's cancellation.
		if (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue
		}
		return nil, f.err
	}
}

// pull unpacks img into a temp directory beside the cache and renames it into place, so a crash
// leaves only a .tmp-* directory and never a half-filled image directory.
func (s *Store) pull(ctx context.Context, d string, img v1.Image) (_ *Image, err error) {
	h, err := v1.NewHash(d)
	if err != nil {
		return nil, err
	}
	final := filepath.Join(s.dir, h.Algorithm+"-"+h.Hex)

	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	im := &Image{
		Digest:     d,
		Entrypoint: cfg.Config.Entrypoint,
		Cmd:        cfg.Config.Cmd,
		Env:        cfg.Config.Env,
		WorkingDir: cfg.Config.WorkingDir,
		User:       cfg.Config.User,
	}
	meta, err := json.MarshalIndent(imageJSON{
		Digest:     im.Digest,
		Entrypoint: im.Entrypoint,
		Cmd:        im.Cmd,
		Env:        im.Env,
		WorkingDir: im.WorkingDir,
		User:       im.User,
	}, "", "  ")
	if err != nil {
		return nil, err
	}

	tmp, err := os.MkdirTemp(s.dir, tmpPrefix)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp) // best effort; New sweeps what is left
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	rootfs := filepath.Join(tmp, rootfsDir)
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return nil, err
	}
	if err := unpackImage(ctx, rootfs, img); err != nil {
		return nil, err
	}
	if err := syncFS(tmp); err != nil {
		return nil, fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := writeFileSync(filepath.Join(tmp, configFile), meta); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process sharing the directory may have finished the same digest first.
		if im, cerr := s.cached(d); cerr == nil && im != nil {
			_ = os.RemoveAll(tmp)
			return im, nil
		}
		return nil, err
	}
	if err := syncDir(s.dir); err != nil {
		return nil, err
	}
	im.RootFS = filepath.Join(final, rootfsDir)
	return im, nil
}

// unpackImage writes img's flattened layers into the empty directory rootfs.
func unpackImage(ctx context.Context, rootfs string, img v1.Image) error {
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	rc := mutate.Extract(img)
	defer rc.Close()
	if err := unpack(root, rc); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

// persist records key → digest in refs.json when it is news: every tag, and digest references
// naming an index (whose image digest differs), so restarts can use them without a registry.
func (s *Store) persist(key, digest string, byDigest bool) error {
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	s.mu.Lock()
	if s.refs[key] == digest || (byDigest && strings.HasSuffix(key, "@"+digest)) {
		s.mu.Unlock()
		return nil
	}
	s.refs[key] = digest
	b, err := json.MarshalIndent(s.refs, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.dir, refsFile), b)
}

// writeFileAtomic replaces path with data so that readers (and a restart after a crash) see
// either the old or the new content.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if err := writeSynced(f, data); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return writeSynced(f, data)
}

// writeSynced writes data to f, flushes it to disk and closes f.
func writeSynced(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
