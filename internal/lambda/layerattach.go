package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
)

// resolveLayers reads the layer versions a function names (at most 5, one version per layer),
// each the caller's own or shared with it.
func (s *Service) resolveLayers(ctx context.Context, account string, arns []string) ([]*layerRecord, error) {
	if len(arns) > maxFunctionLayers {
		return nil, invalid("Layers: a function can use at most %d layers, got %d", maxFunctionLayers, len(arns))
	}
	seen := map[string]string{}
	var out []*layerRecord
	var total int64
	for _, arn := range arns {
		ref, err := s.parseLayer(account, arn, "Layers", true)
		if err != nil {
			return nil, err
		}
		layer := ref.owner + "/" + ref.name
		if prev, ok := seen[layer]; ok {
			return nil, invalid("Layers: two different versions of the same layer are not allowed: %s and %s", prev, arn)
		}
		seen[layer] = arn
		rec, err := s.layerVersion(ctx, account, ref)
		if err != nil {
			if isNotFound(err) {
				return nil, invalid("Layers: layer version %s does not exist", arn)
			}
			return nil, err
		}
		if total += rec.Size; total > maxUnzipped {
			return nil, invalid("Layers: layers consume more than the available size of %d bytes", maxUnzipped)
		}
		out = append(out, rec)
	}
	return out, nil
}

// attachLayers gives a function its layers: merged, in order (a later layer's file replaces an
// earlier one's), into one directory of the function's that its instances see at /opt. The
// merge links the layers' files, so deleting a layer version later leaves the function whole.
// A directory per list of layers: published versions keep theirs; all go with the function.
func (s *Service) attachLayers(account, name string, rec *record, layers []*layerRecord) error {
	rec.OptDir, rec.Config.Layers = "", nil
	if len(layers) == 0 {
		return nil
	}
	h := sha256.New()
	for _, l := range layers {
		io.WriteString(h, l.Info.LayerVersionArn+"\n")
		rec.Config.Layers = append(rec.Config.Layers, lw.Layer{Arn: l.Info.LayerVersionArn, CodeSize: l.Info.Content.CodeSize})
	}
	dir := filepath.Join(s.cfg.CodeDir, account, name, "opt-"+hex.EncodeToString(h.Sum(nil))[:32])
	if _, err := os.Stat(dir); err == nil {
		rec.OptDir = dir
		return nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	for _, l := range layers {
		if err := mergeTree(l.Dir, tmp); err != nil {
			os.RemoveAll(tmp)
			return serviceErr("unpacking the function's layers failed", err)
		}
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return serviceErr("unpacking the function's layers failed", err)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		os.RemoveAll(tmp)
		return serviceErr("unpacking the function's layers failed", err)
	}
	rec.OptDir = dir
	return nil
}

// setLayers replaces a function's layers (UpdateFunctionConfiguration); an empty list removes
// them.
func (s *Service) setLayers(ctx context.Context, account string, rec *record, arns []string) error {
	if rec.ImageURI != "" && len(arns) > 0 {
		return invalid("Layers: functions defined as container images do not support layers")
	}
	layers, err := s.resolveLayers(ctx, account, arns)
	if err != nil {
		return err
	}
	return s.attachLayers(account, rec.Config.FunctionName, rec, layers)
}

// mergeTree links (or, across file systems, copies) src's files into dst, replacing what is
// there.
func mergeTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case !d.Type().IsRegular():
			return nil // unzip makes only directories and regular files
		}
		os.Remove(target)
		err = os.Link(path, target)
		if errors.Is(err, syscall.EXDEV) {
			err = copyFile(path, target)
		}
		return err
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
