package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// importedFile records the names imported archives pinned, per account.
const importedFile = "imported.json"

// Imported is one image Import loaded: the name it is pinned under and its digest.
type Imported struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// archived is an image found in an archive, with the name it is to be known by.
type archived struct {
	name string
	img  v1.Image
}

// Import loads the images of an archive — a `docker save` tarball, or an OCI image layout (a
// directory, or a tar of one, as `podman save --format oci-archive` writes) — unpacks each, and
// pins its name to the imported digest for account alone: that account's jobs and functions
// naming it run it without a registry (until the name is imported again); no other account
// sees the pin, so no tenant can substitute another's image. tag names the image when the
// archive holds one image and does not name it (or renames it).
func (s *Store) Import(ctx context.Context, account, path, tag string) ([]Imported, error) {
	found, cleanup, err := openArchive(path, tag)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	var out []Imported
	for _, a := range found {
		h, err := a.img.Digest()
		if err != nil {
			return out, fmt.Errorf("import %s: %w", a.name, err)
		}
		if _, err := s.unpackOnce(ctx, h.String(), a.img); err != nil {
			return out, fmt.Errorf("import %s: %w", a.name, err)
		}
		if err := s.pin(account, a.name, h.String()); err != nil {
			return out, fmt.Errorf("import %s: %w", a.name, err)
		}
		out = append(out, Imported{Name: a.name, Digest: h.String()})
	}
	return out, nil
}

// GetFor is Get for one account: a name the account imported is its pinned image.
func (s *Store) GetFor(ctx context.Context, account, ref string) (*Image, error) {
	if r, err := s.parse(ref); err == nil {
		s.mu.Lock()
		d, ok := s.pins[account][r.Name()]
		s.mu.Unlock()
		if ok {
			if im, err := s.cached(d); err == nil && im != nil {
				return im.clone(ref), nil
			}
		}
	}
	return s.Get(ctx, ref)
}

// pin records account's name → digest, in memory and in imported.json.
func (s *Store) pin(account, ref, digest string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	s.mu.Lock()
	if s.pins[account] == nil {
		s.pins[account] = map[string]string{}
	}
	s.pins[account][r.Name()] = digest
	b, err := json.MarshalIndent(s.pins, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.dir, importedFile), b)
}

// loadPins reads imported.json (at New).
func (s *Store) loadPins() error {
	b, err := os.ReadFile(filepath.Join(s.dir, importedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, &s.pins)
}

// openArchive finds the images of the archive at path; cleanup removes what it unpacked.
func openArchive(path, tag string) ([]archived, func(), error) {
	nothing := func() {}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nothing, err
	}
	if fi.IsDir() {
		found, err := fromLayout(path, tag)
		return found, nothing, err
	}
	entries, err := tarNames(path)
	if err != nil {
		return nil, nothing, fmt.Errorf("%s is neither an OCI image layout nor a tar: %w", path, err)
	}
	switch {
	case entries["manifest.json"]:
		found, err := fromDockerTarball(path, tag)
		return found, nothing, err
	case entries["index.json"] && entries["oci-layout"]:
		dir, err := os.MkdirTemp("", "barge-import-")
		if err != nil {
			return nil, nothing, err
		}
		cleanup := func() { os.RemoveAll(dir) }
		if err := extractTar(path, dir); err != nil {
			return nil, cleanup, err
		}
		found, err := fromLayout(dir, tag)
		return found, cleanup, err
	}
	return nil, nothing, fmt.Errorf("%s holds no manifest.json (docker save) nor index.json (OCI layout)", path)
}

func tarNames(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names[strings.TrimPrefix(h.Name, "./")] = true
	}
}

// fromDockerTarball reads a `docker save` archive: each image named by its RepoTags (or tag).
func fromDockerTarball(path, tag string) ([]archived, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if tag != "" && len(m) != 1 {
		return nil, fmt.Errorf("%s holds %d images: a tag names only one", path, len(m))
	}
	var out []archived
	for _, d := range m {
		var src *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, fmt.Errorf("image name %q: %w", d.RepoTags[0], err)
			}
			src = &t
		}
		img, err := tarball.Image(opener, src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		names := d.RepoTags
		if tag != "" {
			names = []string{tag}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%s holds an image without a name: give one with --tag", path)
		}
		for _, n := range names {
			out = append(out, archived{name: n, img: img})
		}
	}
	return out, nil
}

// fromLayout reads an OCI image layout: each manifest named by its annotations (containerd's
// full name, or a full reference in org.opencontainers.image.ref.name), or by tag.
func fromLayout(dir, tag string) ([]archived, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if tag != "" && len(im.Manifests) != 1 {
		return nil, fmt.Errorf("%s holds %d images: a tag names only one", dir, len(im.Manifests))
	}
	var out []archived
	for _, d := range im.Manifests {
		n := tag
		if n == "" {
			n = d.Annotations["io.containerd.image.name"]
		}
		if ref := d.Annotations["org.opencontainers.image.ref.name"]; n == "" && strings.ContainsAny(ref, "/:") {
			n = ref
		}
		if n == "" {
			return nil, fmt.Errorf("%s holds an image without a full name: give one with --tag", dir)
		}
		img, err := layoutImage(idx, d)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", dir, n, err)
		}
		out = append(out, archived{name: n, img: img})
	}
	return out, nil
}

// layoutImage is the image a layout's descriptor names: the linux/GOARCH one of an index.
func layoutImage(idx v1.ImageIndex, d v1.Descriptor) (v1.Image, error) {
	if !d.MediaType.IsIndex() {
		return idx.Image(d.Digest)
	}
	inner, err := idx.ImageIndex(d.Digest)
	if err != nil {
		return nil, err
	}
	m, err := inner.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, c := range m.Manifests {
		if c.Platform == nil || (c.Platform.OS == "linux" && c.Platform.Architecture == runtime.GOARCH) {
			return inner.Image(c.Digest)
		}
	}
	return nil, fmt.Errorf("no linux/%s image in the index", runtime.GOARCH)
}

// extractTar unpacks an OCI layout tar into dir with the image store's own safe unpacker (every
// name kept inside dir).
func extractTar(path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return unpack(root, f)
}
