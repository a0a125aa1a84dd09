package lambda

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	lw "github.com/barge-run/barge/internal/awstypes/lambda"
	"github.com/barge-run/barge/internal/store"
)

// Function URLs: an HTTP endpoint per function (or alias) that invokes it with the request as an
// event in API Gateway's payload format 2.0 and answers with what it returns. AWS serves them at
// https://<url-id>.lambda-url.<region>.on.aws/; barge serves them on its own listener at
// /lambda-url/<url-id>/ (a barge extension: no wildcard DNS on a laptop).

// Store kinds: the config per function and qualifier ("name:qualifier"), and the index from URL
// id to it.
const (
	KindFunctionURL   store.Kind = "function-url"
	KindFunctionURLID store.Kind = "function-url-id"
)

// urlConfig is a stored function URL config.
type urlConfig struct {
	ID           string                 `json:"id"`
	Account      string                 `json:"account"`
	Function     string                 `json:"function"`
	Qualifier    string                 `json:"qualifier,omitempty"`
	AuthType     lw.FunctionUrlAuthType `json:"authType"`
	Cors         *lw.Cors               `json:"cors,omitempty"`
	InvokeMode   lw.InvokeMode          `json:"invokeMode"`
	CreationTime string                 `json:"creationTime"`
	LastModified string                 `json:"lastModified"`
}

// URLPrefix is the path function URLs are served under.
const URLPrefix = "/lambda-url/"

func (s *Service) urlOf(c *urlConfig) string {
	base := "http://127.0.0.1:7700"
	if s.cfg.URLBase != nil {
		base = s.cfg.URLBase()
	}
	return base + URLPrefix + c.ID + "/"
}

func (s *Service) urlArn(c *urlConfig) string {
	arn := s.arn(c.Account, c.Function)
	if c.Qualifier != "" {
		arn += ":" + c.Qualifier
	}
	return arn
}

// urlTarget checks the function and qualifier ($LATEST, or an alias, as in AWS) a URL is for.
func (s *Service) urlTarget(ctx context.Context, account, function, qualifier string) (string, error) {
	rec, err := s.latest(ctx, account, function)
	if err != nil {
		return "", err
	}
	if qualifier != "" && qualifier != "$LATEST" {
		if isVersion(qualifier) {
			return "", invalid("Qualifier: function URLs are for $LATEST or an alias, not a version")
		}
		if _, err := s.alias(ctx, account, rec.Config.FunctionName, qualifier); err != nil {
			return "", err
		}
	}
	return rec.Config.FunctionName, nil
}

func checkURLConfig(auth lw.FunctionUrlAuthType, mode lw.InvokeMode) error {
	if auth != lw.FunctionUrlAuthTypeNone && auth != lw.FunctionUrlAuthTypeAwsIam {
		return invalid("AuthType must be NONE or AWS_IAM, got %q", auth)
	}
	if mode != "" && mode != lw.InvokeModeBuffered {
		return invalid("InvokeMode %s is not supported by barge; use BUFFERED", mode)
	}
	return nil
}

// getURL reads the URL config of a function (and qualifier).
func (s *Service) getURL(ctx context.Context, account, function, qualifier string) (*urlConfig, error) {
	name, err := s.urlTarget(ctx, account, function, qualifier)
	if err != nil {
		return nil, err
	}
	r, err := s.cfg.Store.ResourceGet(ctx, account, KindFunctionURL, name+":"+qualifier, 0)
	if err != nil {
		return nil, userErr(http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
	}
	var c urlConfig
	if json.Unmarshal(r.Body, &c) != nil {
		return nil, serviceErr("reading the function URL failed", err)
	}
	return &c, nil
}

// urlResponse is how Get and Update describe a URL config.
func (s *Service) urlResponse(c *urlConfig) *lw.GetFunctionUrlConfigResponse {
	return &lw.GetFunctionUrlConfigResponse{FunctionUrl: s.urlOf(c), FunctionArn: s.urlArn(c), AuthType: c.AuthType, Cors: c.Cors,
		CreationTime: c.CreationTime, LastModifiedTime: c.LastModified, InvokeMode: c.InvokeMode}
}

// CreateFunctionUrlConfig implements the Lambda operation.
func (s *Service) CreateFunctionUrlConfig(ctx context.Context, account string, in *lw.CreateFunctionUrlConfigRequest) (*lw.CreateFunctionUrlConfigResponse, error) {
	name, err := s.urlTarget(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	if err := checkURLConfig(in.AuthType, in.InvokeMode); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	c := urlConfig{ID: urlIDs.EncodeToString(b), Account: account, Function: name, Qualifier: in.Qualifier, AuthType: in.AuthType,
		Cors: in.Cors, InvokeMode: lw.InvokeModeBuffered, CreationTime: now, LastModified: now}
	body, _ := json.Marshal(c)
	if err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindFunctionURL, Name: name + ":" + in.Qualifier,
		Status: "Active", Body: body, CreatedAt: time.Now()}); err != nil {
		return nil, userErr(http.StatusConflict, "ResourceConflictException", "Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", s.arn(account, name))
	}
	if err := s.cfg.Store.ResourceCreate(ctx, &store.Resource{Account: account, Kind: KindFunctionURLID, Name: c.ID,
		Status: "Active", Body: body, CreatedAt: time.Now()}); err != nil {
		return nil, serviceErr("storing the function URL failed", err)
	}
	return &lw.CreateFunctionUrlConfigResponse{FunctionUrl: s.urlOf(&c), FunctionArn: s.urlArn(&c), AuthType: c.AuthType, Cors: c.Cors,
		CreationTime: c.CreationTime, InvokeMode: c.InvokeMode}, nil
}

// GetFunctionUrlConfig implements the Lambda operation.
func (s *Service) GetFunctionUrlConfig(ctx context.Context, account string, in *lw.GetFunctionUrlConfigRequest) (*lw.GetFunctionUrlConfigResponse, error) {
	c, err := s.getURL(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	return s.urlResponse(c), nil
}

// UpdateFunctionUrlConfig implements the Lambda operation (AuthType, Cors).
func (s *Service) UpdateFunctionUrlConfig(ctx context.Context, account string, in *lw.UpdateFunctionUrlConfigRequest) (*lw.UpdateFunctionUrlConfigResponse, error) {
	c, err := s.getURL(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	if in.AuthType != "" {
		c.AuthType = in.AuthType
	}
	if in.Cors != nil {
		c.Cors = in.Cors
	}
	if err := checkURLConfig(c.AuthType, in.InvokeMode); err != nil {
		return nil, err
	}
	c.LastModified = time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	body, _ := json.Marshal(c)
	for _, r := range []*store.Resource{{Account: account, Kind: KindFunctionURL, Name: c.Function + ":" + in.Qualifier, Status: "Active", Body: body},
		{Account: account, Kind: KindFunctionURLID, Name: c.ID, Status: "Active", Body: body}} {
		if err := s.cfg.Store.ResourceUpdate(ctx, r); err != nil {
			return nil, serviceErr("storing the function URL failed", err)
		}
	}
	out := lw.UpdateFunctionUrlConfigResponse(*s.urlResponse(c))
	return &out, nil
}

// DeleteFunctionUrlConfig implements the Lambda operation.
func (s *Service) DeleteFunctionUrlConfig(ctx context.Context, account string, in *lw.DeleteFunctionUrlConfigRequest) (*Empty, error) {
	c, err := s.getURL(ctx, account, in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	s.cfg.Store.ResourceDelete(ctx, account, KindFunctionURLID, c.ID, 0)
	if err := s.cfg.Store.ResourceDelete(ctx, account, KindFunctionURL, c.Function+":"+in.Qualifier, 0); err != nil {
		return nil, userErr(http.StatusNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
	}
	return &Empty{}, nil
}

// ListFunctionUrlConfigs implements the Lambda operation (one page).
func (s *Service) ListFunctionUrlConfigs(ctx context.Context, account string, in *lw.ListFunctionUrlConfigsRequest) (*lw.ListFunctionUrlConfigsResponse, error) {
	name, err := s.urlTarget(ctx, account, in.FunctionName, "")
	if err != nil {
		return nil, err
	}
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{Account: account, Kind: KindFunctionURL})
	if err != nil {
		return nil, serviceErr("listing function URLs failed", err)
	}
	out := &lw.ListFunctionUrlConfigsResponse{FunctionUrlConfigs: []lw.FunctionUrlConfig{}}
	for _, r := range rs {
		var c urlConfig
		if json.Unmarshal(r.Body, &c) != nil || c.Function != name {
			continue
		}
		out.FunctionUrlConfigs = append(out.FunctionUrlConfigs, lw.FunctionUrlConfig{FunctionUrl: s.urlOf(&c), FunctionArn: s.urlArn(&c),
			AuthType: c.AuthType, Cors: c.Cors, CreationTime: c.CreationTime, LastModifiedTime: c.LastModified, InvokeMode: c.InvokeMode})
	}
	return out, nil
}

// URLTarget is what a function URL invokes and who may call it.
type URLTarget struct {
	Account, Function, Qualifier string
	// IAM is set for AuthType AWS_IAM: callers must sign with a credential of Account.
	IAM  bool
	Cors *lw.Cors
}

// ResolveURL finds the function behind a URL id.
func (s *Service) ResolveURL(ctx context.Context, id string) (*URLTarget, bool) {
	rs, err := s.cfg.Store.ResourceList(ctx, &store.ResourceListParams{AllAccounts: true, Kind: KindFunctionURLID, Names: []string{id}})
	if err != nil || len(rs) != 1 {
		return nil, false
	}
	var c urlConfig
	if json.Unmarshal(rs[0].Body, &c) != nil {
		return nil, false
	}
	return &URLTarget{Account: c.Account, Function: c.Function, Qualifier: c.Qualifier, IAM: c.AuthType == lw.FunctionUrlAuthTypeAwsIam, Cors: c.Cors}, true
}

// URLEvent is the invocation event for an HTTP request to a function URL: API Gateway's payload
// format version 2.0, as Lambda sends it. path is the request path below the URL's root.
func URLEvent(r *http.Request, id, path string, body []byte, account string, now time.Time) []byte {
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					cookies = append(cookies, strings.TrimSpace(c))
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	if account == "" {
		account = "anonymous"
	}
	ev := map[string]any{
		"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": r.URL.RawQuery,
		"headers": headers,
		"requestContext": map[string]any{
			"accountId": account, "apiId": id, "domainName": r.Host, "domainPrefix": id,
			"http": map[string]string{"method": r.Method, "path": path, "protocol": r.Proto,
				"sourceIp": strings.Split(r.RemoteAddr, ":")[0], "userAgent": r.UserAgent()},
			"requestId": randomID(), "routeKey": "$default", "stage": "$default",
			"time": now.UTC().Format("02/Jan/2006:15:04:05 -0700"), "timeEpoch": now.UnixMilli(),
		},
		"isBase64Encoded": false,
	}
	if len(cookies) > 0 {
		ev["cookies"] = cookies
	}
	if len(query) > 0 {
		ev["queryStringParameters"] = query
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev["body"] = string(body)
		} else {
			ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		}
	}
	b, _ := json.Marshal(ev)
	return b
}

// URLResponse turns a function's answer into the HTTP response, as Lambda does: an object with
// statusCode is taken apart (headers, cookies, body, isBase64Encoded); anything else is the JSON
// body of a 200.
func URLResponse(payload []byte) (int, http.Header, []byte) {
	h := http.Header{}
	var r struct {
		StatusCode      *int              `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            *string           `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if json.Unmarshal(payload, &r) != nil || r.StatusCode == nil {
		h.Set("Content-Type", "application/json")
		return http.StatusOK, h, payload
	}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	for _, c := range r.Cookies {
		h.Add("Set-Cookie", c)
	}
	var body []byte
	if r.Body != nil {
		body = []byte(*r.Body)
		if r.IsBase64Encoded {
			if b, err := base64.StdEncoding.DecodeString(*r.Body); err == nil {
				body = b
			}
		}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return *r.StatusCode, h, body
}

// urlIDs encodes URL ids as AWS's look: lower-case base32, no padding.
var urlIDs = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return urlIDs.EncodeToString(b)
}
