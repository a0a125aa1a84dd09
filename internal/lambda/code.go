// Package lambda is the AWS Lambda domain service: the function registry (create, describe,
// list, delete; code unpacked into the data directory) and synchronous invocation through the
// instance pool of package fn. It validates requests, names functions with AWS's ARNs and
// returns Lambda's error types; the HTTP edge (package api) only decodes and encodes.
package lambda

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	gname "github.com/google/go-containerregistry/pkg/name"
	kflate "github.com/klauspost/compress/flate"

	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// unpackCode unzips a function's package into dir with its runtime's bootstrap; on failure dir
// is gone and the error says whose fault it was (a bad zip, or no space left).
func unpackCode(zip []byte, rt lw.Runtime, dir string) *awserr.Error {
	err := unzip(zip, dir)
	if err != nil && !awserr.IsNoSpace(err) {
		os.RemoveAll(dir)
		return userErr(http.StatusBadRequest, "InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again. (%v)", err)
	}
	if err == nil {
		err = prepareRuntime(rt, dir)
	}
	if err != nil {
		os.RemoveAll(dir)
		return serviceErr("unpacking the function's code failed", err)
	}
	return nil
}

// unzip extracts a deployment package into dir, refusing paths that escape it and links.
func unzip(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	// klauspost's inflater: ~20 % faster than the standard library's on a Go binary, and
	// inflating is most of CreateFunction for a typical package.
	zr.RegisterDecompressor(zip.Deflate, func(r io.Reader) io.ReadCloser { return kflate.NewReader(r) })
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var total int64
	for _, f := range zr.File {
		name := filepath.Clean(f.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("entry %q leaves the package", f.Name)
		}
		target := filepath.Join(dir, name)
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		case !mode.IsRegular():
			return fmt.Errorf("entry %q is not a regular file", f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode.Perm()|0o400)
		if err != nil {
			rc.Close()
			return err
		}
		n, err := io.Copy(out, io.LimitReader(rc, maxUnzipped-total+1))
		rc.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if total += n; total > maxUnzipped {
			return fmt.Errorf("unzipped size exceeds %d bytes", maxUnzipped)
		}
	}
	return nil
}

// resolveImage pulls an image function's image (so a missing one fails CreateFunction, as in
// AWS, and the first invoke finds it unpacked) and pins the function to the digest it resolved
// to. The function's code directory is per digest: instances are keyed by it.
func (s *Service) resolveImage(ctx context.Context, account, name, ref string, rec *record) error {
	if s.cfg.Images == nil {
		return invalid("PackageType Image needs barge's sandbox, which this host does not have (see barge doctor)")
	}
	r, err := gname.ParseReference(ref)
	if err != nil {
		return invalid("Code.ImageUri: %q is not an image reference: %v", ref, err)
	}
	img, err := s.cfg.Images.GetFor(ctx, s.accountID(account), ref)
	if err != nil {
		return invalid("Source image %s is not valid: %v", ref, err)
	}
	rec.ImageURI, rec.ResolvedImageURI = ref, r.Context().Name()+"@"+img.Digest
	rec.CodeDir = filepath.Join(s.cfg.CodeDir, account, name, "image-"+strings.TrimPrefix(img.Digest, "sha256:"))
	if err := os.MkdirAll(rec.CodeDir, 0o755); err != nil {
		return serviceErr("preparing the function failed", err)
	}
	return nil
}
