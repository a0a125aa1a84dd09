package lambda

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/barge-run/barge/internal/account"
	"github.com/barge-run/barge/internal/awserr"
	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// Store kinds of layer versions (named by layer, revisioned by version number) and of their
// resource-based policies (named "layer:version").
const (
	KindLayerVersion store.Kind = "layer-version"
	KindLayerPolicy  store.Kind = "layer-version-policy"
)

// Lambda's layer quotas.
const (
	maxFunctionLayers = 5
	maxLayerRuntimes  = 15
)

// layerRecord is what the store keeps for a layer version. A deleted version stays as a
// tombstone so that its number is never given again, as in Lambda.
type layerRecord struct {
	Info lw.GetLayerVersionResponse `json:"info"`
	// Dir is the unpacked content; Size its unzipped bytes.
	Dir     string `json:"dir"`
	Size    int64  `json:"size"`
	Deleted bool   `json:"deleted,omitempty"`
}

var (
	layerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,140}$`)
	// layerARNRE is a layer ARN, with its version when versioned.
	layerARNRE = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):([0-9]{12}):layer:([a-zA-Z0-9_-]{1,140})(?::([0-9]+))?$`)
)

// layerRef is a layer named in a request: by name (the caller's own) or by ARN (perhaps another
// account's, in the caller's region).
type layerRef struct {
	owner   string // the owner's scope key
	name    string
	version int64 // 0 when the reference has none
}

// parseLayer reads a LayerName member (a name or a layer ARN) or, with versioned, a layer
// version ARN; field names the member for errors.
func (s *Service) parseLayer(caller, ref, field string, versioned bool) (layerRef, error) {
	if !versioned && layerNameRE.MatchString(ref) {
		return layerRef{owner: caller, name: ref}, nil
	}
	m := layerARNRE.FindStringSubmatch(ref)
	if m == nil || (versioned != (m[4] != "")) {
		what := "a layer name or ARN"
		if versioned {
			what = "a layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)"
		}
		return layerRef{}, invalid("%s: %q is not %s", field, ref, what)
	}
	if _, region := s.scope(caller); m[1] != region {
		return layerRef{}, invalid("%s: %s is in region %s; layers are used in their own region (%s here)", field, ref, m[1], region)
	}
	v, _ := strconv.ParseInt(m[4], 10, 64)
	return layerRef{owner: account.Scope(m[2], m[1], s.cfg.Region), name: m[3], version: v}, nil
}

func (s *Service) layerARN(owner, name string) string {
	id, region := s.scope(owner)
	return fmt.Sprintf("arn:aws:lambda:%s:%s:layer:%s", region, id, name)
}

// isNotFound reports whether err is a 404 answer.
func isNotFound(err error) bool {
	var e *awserr.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func layerNotFound() error {
	return userErr(http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
}

// layerVersion reads a live layer version the caller may use: its own, or one whose policy
// grants the caller's account lambda:GetLayerVersion.
func (s *Service) layerVersion(ctx context.Context, caller string, ref layerRef) (*layerRecord, error) {
	if ref.version < 1 || ref.version > 1<<31 {
		return nil, layerNotFound()
	}
	r, err := s.cfg.Store.ResourceGet(ctx, ref.owner, KindLayerVersion, ref.name, int(ref.version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, layerNotFound()
	}
	if err != nil {
		return nil, serviceErr("reading the layer version failed", err)
	}
	var rec layerRecord
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		return nil, serviceErr("reading the layer version failed", err)
	}
	if rec.Deleted {
		return nil, layerNotFound()
	}
	if ref.owner != caller {
		p, err := s.loadPolicy(ctx, KindLayerPolicy, ref.owner, layerPolicyName(ref.name, ref.version))
		if err != nil {
			return nil, err
		}
		if callerID := s.accountID(caller); !p.allows(callerID, "lambda:GetLayerVersion") {
			return nil, userErr(http.StatusForbidden, "AccessDeniedException",
				"User: arn:aws:iam::%s:root is not authorized to perform: lambda:GetLayerVersion on resource: %s because no resource-based policy allows the lambda:GetLayerVersion action",
				callerID, rec.Info.LayerVersionArn)
		}
	}
	return &rec, nil
}

func layerPolicyName(name string, version int64) string {
	return name + ":" + strconv.FormatInt(version, 10)
}

// PublishLayerVersion implements the Lambda operation: a new, immutable version of a layer from
// a zip or an S3 location, numbered after every version the layer ever had.
func (s *Service) PublishLayerVersion(ctx context.Context, account string, in *lw.PublishLayerVersionRequest) (*lw.PublishLayerVersionResponse, error) {
	ref, err := s.parseLayer(account, in.LayerName, "LayerName", false)
	if err != nil {
		return nil, err
	}
	if ref.owner != account {
		return nil, invalid("LayerName: %s belongs to another account", in.LayerName)
	}
	if err := checkLayerCompat(in.CompatibleRuntimes, in.CompatibleArchitectures); err != nil {
		return nil, err
	}
	if len(in.Description) > 256 {
		return nil, invalid("Description: at most 256 characters")
	}
	if len(in.LicenseInfo) > 512 {
		return nil, invalid("LicenseInfo: at most 512 characters")
	}
	if in.Content == nil {
		in.Content = &lw.LayerVersionContentInput{}
	}
	c := in.Content
	zip, err := s.packageBytes(ctx, "Content", c.ZipFile, c.S3Bucket, c.S3Key, c.S3ObjectVersion)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.cfg.CodeDir, "layers", account, ref.name, uuid.NewString())
	if err := unpackCode(zip, "", dir); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(zip)
	rec := layerRecord{Dir: dir, Size: treeSize(dir), Info: lw.GetLayerVersionResponse{
		LayerArn:                s.layerARN(account, ref.name),
		Description:             in.Description,
		CreatedDate:             time.Now().UTC().Format("2006-01-02T15:04:05.000-0700"),
		CompatibleRuntimes:      in.CompatibleRuntimes,
		CompatibleArchitectures: in.CompatibleArchitectures,
		LicenseInfo:             in.LicenseInfo,
		Content:                 &lw.LayerVersionContentOutput{CodeSha256: base64.StdEncoding.EncodeToString(sum[:]), CodeSize: ptr(int64(len(zip)))},
	}}
	r := &store.Resource{Account: account, Kind: KindLayerVersion, Name: ref.name, Status: "Active", CreatedAt: time.Now()}
	err = s.cfg.Store.ResourceCreateNextRevision(ctx, r, func(n int) (string, []byte) {
		rec.Info.Version = ptr(int64(n))
		rec.Info.LayerVersionArn = rec.Info.LayerArn + ":" + strconv.Itoa(n)
		body, _ := json.Marshal(rec)
		return rec.Info.LayerVersionArn, body
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, serviceErr("publishing the layer version failed", err)
	}
	out := lw.PublishLayerVersionResponse(s.layerInfo(&rec))
	return &out, nil
}

// checkLayerCompat validates a layer's compatible runtimes and architectures as Lambda does.
func checkLayerCompat(runtimes []lw.Runtime, archs []lw.Architecture) error {
	if len(runtimes) > maxLayerRuntimes {
		return invalid("CompatibleRuntimes: at most %d runtimes", maxLayerRuntimes)
	}
	for _, rt := range runtimes {
		if !slices.Contains(rt.Values(), rt) {
			return invalid("CompatibleRuntimes: %q is not a Lambda runtime", rt)
		}
	}
	if len(archs) > 2 {
		return invalid("CompatibleArchitectures: at most 2 architectures")
	}
	for _, a := range archs {
		if a != lw.ArchitectureX86_64 && a != lw.ArchitectureArm64 {
			return invalid("CompatibleArchitectures: %q must be x86_64 or arm64", a)
		}
	}
	return nil
}

// layerInfo is a layer version as Lambda describes it, with a fresh link to its content.
func (s *Service) layerInfo(rec *layerRecord) lw.GetLayerVersionResponse {
	info := rec.Info
	content := *info.Content
	content.Location = s.dirLocation(rec.Dir, false)
	info.Content = &content
	return info
}

// treeSize is the bytes of the regular files under dir.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
