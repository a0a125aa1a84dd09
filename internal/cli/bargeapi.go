package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// bargeCall makes a POST to one of barge's own endpoints (path, with its query), signed with
// SigV4 for the service "barge" over the body's SHA-256 (sum, hex; the empty body's when ""),
// and decodes the JSON answer into out. A non-200 answer is an error with barge's error type
// and message.
func (cl *clients) bargeCall(ctx context.Context, path string, body io.Reader, size int64, sum, contentType string, out any) error {
	if sum == "" {
		h := sha256.Sum256(nil)
		sum = hex.EncodeToString(h[:])
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(cl.endpoint, "/")+path, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Amz-Content-Sha256", sum)
	creds, err := cl.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sum, "barge", cl.cfg.Region, time.Now()); err != nil {
		return fmt.Errorf("signing the request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(raw, &e)
		return fmt.Errorf("%s: %s", e.Type, e.Message)
	}
	return json.Unmarshal(raw, out)
}
