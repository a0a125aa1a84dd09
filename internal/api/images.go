package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/image"
	"github.com/barge-run/barge/internal/sigv4"
)

// ImagesPath is where `barge image import` uploads an image archive (a barge extension: AWS has
// no such operation). The body is streamed to disk, never held in memory.
const ImagesPath = "/_barge/images"

// MaxImageArchive bounds an uploaded image archive.
const MaxImageArchive = 16 << 30

// ImageImporter loads image archives for an account (image.Store).
type ImageImporter interface {
	Import(ctx context.Context, account, path, tag string) ([]image.Imported, error)
}

// importImage serves POST /_barge/images?tag=NAME: SigV4 for the service "barge", checked over
// the body's declared SHA-256 before a byte is read; the body goes to a file, its digest is
// compared, then the archive is imported for the caller's account.
func (s *Server) importImage(w http.ResponseWriter, r *http.Request) {
	if i := infoOf(r.Context()); i != nil {
		i.service, i.operation = "barge", "ImportImage"
	}
	var declared string
	scope, ok := s.authenticate(w, r, "barge", func(pre *sigv4.Prechecked) (res sigv4.Result, err error) {
		res, declared, err = s.verifier.VerifyDeclared(pre, r)
		return res, err
	})
	if !ok {
		return
	}
	if s.cfg.Images == nil {
		writeError(w, awserr.Client("this barge runs no images: it has no sandbox (see barge doctor)"))
		return
	}
	if r.ContentLength > MaxImageArchive {
		writeError(w, awserr.New(http.StatusRequestEntityTooLarge, "ClientException", "an image archive may be at most %d bytes", int64(MaxImageArchive)))
		return
	}
	path, err := s.receiveArchive(r, declared)
	if path != "" {
		defer os.Remove(path)
	}
	if err != nil {
		writeError(w, awserr.As(err))
		return
	}
	accountID, _ := account.SplitScope(scope, s.cfg.Region)
	got, err := s.cfg.Images.Import(r.Context(), accountID, path, r.URL.Query().Get("tag"))
	if err != nil {
		writeError(w, awserr.Client("import: %v", err))
		return
	}
	writeJSON(w, "application/json", http.StatusOK, map[string]any{"images": got})
}

// receiveArchive streams the body to a file in the import directory, checking its size and
// its SHA-256 against the one the signature covers.
func (s *Server) receiveArchive(r *http.Request, declared string) (string, error) {
	f, err := os.CreateTemp(s.cfg.ImportDir, "import-*.tar")
	if err != nil {
		return "", awserr.Server("receiving the archive: %v", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r.Body, MaxImageArchive+1))
	switch {
	case err != nil && awserr.IsNoSpace(err):
		return f.Name(), awserr.NoSpace(err)
	case err != nil:
		return f.Name(), awserr.Client("reading the archive: %v", err)
	case n > MaxImageArchive:
		return f.Name(), awserr.New(http.StatusRequestEntityTooLarge, "ClientException", "an image archive may be at most %d bytes", int64(MaxImageArchive))
	case hex.EncodeToString(h.Sum(nil)) != declared:
		return f.Name(), &awserr.Error{Code: "XAmzContentSHA256Mismatch", Status: http.StatusBadRequest,
			Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	return f.Name(), nil
}
