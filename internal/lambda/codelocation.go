package lambda

import (
	"archive/zip"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// CodePrefix is the path under which barge serves functions' packages (GetFunction's
// Code.Location): a link signed by the server and valid for codeLinkLife, as Lambda's presigned
// S3 URL is.
const CodePrefix = "/_barge/code/"

// codeLinkLife is how long a Code.Location link works (Lambda's: 10 minutes).
const codeLinkLife = 10 * time.Minute

// codeLinkKey signs Code.Location links; made at start, so a restart ends earlier links.
var codeLinkKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
})

type codeLink struct {
	Dir     string `json:"d"`
	Strip   bool   `json:"s,omitempty"` // leave out the bootstrap barge wrote (interpreted runtimes)
	Expires int64  `json:"e"`
}

// codeLocation is the signed link to a function's package.
func (s *Service) codeLocation(account string, rec *record) string {
	return s.dirLocation(s.codePath(account, rec), !strings.HasPrefix(string(rec.Config.Runtime), "provided"))
}

// dirLocation is a signed link to dir's files as a zip, without the bootstrap barge wrote when
// strip is set.
func (s *Service) dirLocation(dir string, strip bool) string {
	base := ""
	if s.cfg.URLBase != nil {
		base = s.cfg.URLBase()
	}
	l := codeLink{Dir: dir, Strip: strip, Expires: time.Now().Add(codeLinkLife).Unix()}
	body, _ := json.Marshal(l)
	mac := hmac.New(sha256.New, codeLinkKey())
	mac.Write(body)
	return base + CodePrefix + base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ErrCodeLink is a Code.Location link that is not barge's, or expired.
var ErrCodeLink = errors.New("the link is not valid or has expired")

// WriteCodePackage writes the zip of the package a signed link (the part after CodePrefix)
// names.
func WriteCodePackage(w io.Writer, token string) error {
	body64, sig64, ok := strings.Cut(token, ".")
	body, err1 := base64.RawURLEncoding.DecodeString(body64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if !ok || err1 != nil || err2 != nil {
		return ErrCodeLink
	}
	mac := hmac.New(sha256.New, codeLinkKey())
	mac.Write(body)
	var l codeLink
	if !hmac.Equal(sig, mac.Sum(nil)) || json.Unmarshal(body, &l) != nil || time.Now().Unix() > l.Expires {
		return ErrCodeLink
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(l.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(l.Dir, path)
		if l.Strip && rel == "bootstrap" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name, h.Method = filepath.ToSlash(rel), zip.Deflate
		f, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(f, src)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}
