package cli

import (
	"archive/tar"
	"os"
)

// tarDirectory writes dir's tree as a tar in a temporary file and returns its path.
func tarDirectory(dir string) (string, error) {
	f, err := os.CreateTemp("", "barge-image-*.tar")
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(f)
	err = tw.AddFS(os.DirFS(dir))
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
