package image

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/barge-run/barge/internal/image/imagetest"
)

// TestRegistryAuthFromDockerConfig: a registry that wants credentials is pulled from with the
// ones in the usual docker config ($DOCKER_CONFIG/config.json), and refused without them.
func TestRegistryAuthFromDockerConfig(t *testing.T) {
	var protect atomic.Bool
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("barge:s3cret"))
	srv := imagetest.RegistryServer(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if protect.Load() && r.Header.Get("Authorization") != want {
				w.Header().Set("WWW-Authenticate", `Basic realm="barge-test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	host := srv.Listener.Addr().String()
	ref := host + "/private/app:v1"
	imagetest.Push(t, ref, v1.Config{Cmd: []string{"/app"}}, map[string]imagetest.File{"app": {Body: []byte("x"), Mode: 0o755}})
	protect.Store(true)

	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)

	// No credentials: refused, with the registry's reason.
	s, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get(context.Background(), ref)
	var pe *PullError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "UNAUTHORIZED") && !strings.Contains(strings.ToLower(err.Error()), "auth") {
		t.Fatalf("pull without credentials: %v", err)
	}

	// With them in config.json, as `docker login` writes it.
	auth := base64.StdEncoding.EncodeToString([]byte("barge:s3cret"))
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(context.Background(), ref)
	if err != nil {
		t.Fatalf("pull with credentials from the docker config: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(img.RootFS, "app")); err != nil || string(b) != "x" {
		t.Fatalf("unpacked app: %q %v", b, err)
	}
}
