package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/store"
)

// Functions' code stored by content: a deployment package is kept in the store under its SHA-256
// (KindCode), and every host that runs an instance unpacks it into a local directory named by
// that hash the first time it needs it. The store is the only place code must be, so any server
// on the store can run any function, and a data directory restored elsewhere (barge backup)
// finds its functions' code in the store it brought.

// KindCode is a function's deployment package, named "<function>/<sha256 hex>".
const KindCode store.Kind = "function-code"

// codeName is the store name of a function's package with hash sum.
func codeName(function, sum string) string { return function + "/" + sum }

// saveCode keeps a deployment package in the store (once per function and hash).
func (s *Service) saveCode(ctx context.Context, account, function, sum string, zip []byte) error {
	err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindCode, Name: codeName(function, sum), Body: zip})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return serviceErr("storing the function's code failed", err)
	}
	return nil
}

// dropCode forgets a package no version of the function uses any more.
func (s *Service) dropCode(ctx context.Context, account, function, sum string) {
	if sum != "" {
		s.cfg.Store.ResourceDelete(ctx, account, KindCode, codeName(function, sum), 0)
	}
}

// codePath is where this host runs rec's code from: the local directory of its hash, or, for a
// function stored before code was kept by content, the directory it was unpacked to.
func (s *Service) codePath(account string, rec *record) string {
	if rec.CodeHash == "" {
		return rec.CodeDir
	}
	return filepath.Join(s.cfg.CodeDir, account, rec.Config.FunctionName, rec.CodeHash)
}

// localCode remembers the code directories known to be unpacked on this host.
var localCode sync.Map

// ensureCode unpacks rec's code on this host if it is not there yet, from the store.
func (s *Service) ensureCode(ctx context.Context, account string, rec *record) error {
	if rec.CodeHash == "" || rec.ResolvedImageURI != "" {
		return nil
	}
	dir := s.codePath(account, rec)
	if _, ok := localCode.Load(dir); ok {
		return nil
	}
	if _, err := os.Stat(dir); err == nil {
		localCode.Store(dir, true)
		return nil
	}
	r, err := s.cfg.Store.ResourceGet(ctx, account, KindCode, codeName(rec.Config.FunctionName, rec.CodeHash), 0)
	if err != nil {
		return fmt.Errorf("code %s of %s: %w", rec.CodeHash, rec.Config.FunctionName, err)
	}
	// Unpacked aside and renamed into place, so no instance ever sees half a package.
	tmp := dir + ".tmp-" + uuid.NewString()
	if err := unpackCode(r.Body, rec.Config.Runtime, tmp); err != nil {
		return fmt.Errorf("code %s of %s: %w", rec.CodeHash, rec.Config.FunctionName, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(dir); statErr != nil { // not another unpacker that won
			return fmt.Errorf("code %s of %s: %w", rec.CodeHash, rec.Config.FunctionName, err)
		}
	}
	localCode.Store(dir, true)
	return nil
}

// dropAllCode forgets every package of a function being deleted: $LATEST's (latest) and its
// published versions'.
func (s *Service) dropAllCode(ctx context.Context, account, function, latest string) {
	hashes := map[string]bool{latest: true}
	versions, _ := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindVersion, Names: []string{function}})
	for _, r := range versions {
		var v record
		if json.Unmarshal(r.Body, &v) == nil {
			hashes[v.CodeHash] = true
		}
	}
	for h := range hashes {
		s.dropCode(ctx, account, function, h)
	}
}

// forgetLocalCode drops what localCode knows under dir (a deleted function's directories).
func forgetLocalCode(dir string) {
	prefix := dir + string(filepath.Separator)
	localCode.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), prefix) {
			localCode.Delete(k)
		}
		return true
	})
}
