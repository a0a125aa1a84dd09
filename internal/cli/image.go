package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/barge-run/barge/internal/api"
)

// cmdImageImport uploads an image archive (docker save, or an OCI layout or archive) to the
// server, which unpacks it and pins its names for the caller's account: jobs and functions then
// run it with no registry.
func cmdImageImport(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("image import", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	tag := fs.String("tag", "", "the `NAME` to give the image (an archive of one image only), e.g. registry.example/team/app:v1")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"usage: barge image import [--tag NAME] <docker-save.tar | OCI layout dir | OCI archive>"}
	}
	path := fs.Arg(0)
	body, size, sum, cleanup, err := archiveBody(path)
	defer cleanup()
	if err != nil {
		return err
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	target := api.ImagesPath
	if *tag != "" {
		target += "?tag=" + url.QueryEscape(*tag)
	}
	var res struct {
		Images []struct{ Name, Digest string }
	}
	if err := cl.bargeCall(ctx, target, body, size, sum, "application/x-tar", &res); err != nil {
		return err
	}
	for _, im := range res.Images {
		fmt.Fprintf(out, "%s\t%s\n", im.Name, im.Digest)
	}
	return nil
}

// archiveBody opens what is uploaded: the file, or a directory (an OCI layout) as a tar in a
// temporary file; with its size and SHA-256.
func archiveBody(path string) (io.ReadSeeker, int64, string, func(), error) {
	nothing := func() {}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, "", nothing, err
	}
	file := path
	cleanup := nothing
	if fi.IsDir() {
		tmp, err := tarDirectory(path)
		if err != nil {
			return nil, 0, "", nothing, err
		}
		file, cleanup = tmp, func() { os.Remove(tmp) }
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, 0, "", cleanup, err
	}
	done := func() { f.Close(); cleanup() }
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return nil, 0, "", done, err
	}
	return f, size, hex.EncodeToString(h.Sum(nil)), done, nil
}
