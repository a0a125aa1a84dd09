package lambda

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/barge-run/barge/internal/awserr"
)

// CodeSource fetches deployment packages named by an S3 location (Code.S3Bucket and S3Key), as
// Lambda does for SAM, CDK and CloudFormation deploys and for packages past the 50 MB upload.
type CodeSource interface {
	// Fetch reads the object, at most limit bytes; longer is an error.
	Fetch(ctx context.Context, bucket, key, version string, limit int64) ([]byte, error)
}

// S3Source is a CodeSource reading an S3-compatible endpoint the operator names
// (--s3-endpoint) with the server's own AWS credentials (the SDK's default chain), path-style
// as local S3 servers expect.
type S3Source struct {
	client *s3.Client
}

// NewS3Source makes an S3Source for endpoint, signing for region.
func NewS3Source(ctx context.Context, endpoint, region string) (*S3Source, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("s3 source %s: %w", endpoint, err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	return &S3Source{client: client}, nil
}

// Fetch implements CodeSource.
func (s *S3Source) Fetch(ctx context.Context, bucket, key, version string, limit int64) ([]byte, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > limit {
		return nil, fmt.Errorf("the object is %d bytes, more than the %d Lambda accepts", *out.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(out.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the object is more than the %d bytes Lambda accepts", limit)
	}
	return data, nil
}

// packageBytes is a deployment package given inline (zip) or by S3 location; field names the
// request member ("Code", "Content" or "") for errors.
func (s *Service) packageBytes(ctx context.Context, field string, zip []byte, bucket, key, version string) ([]byte, error) {
	dot := field
	if dot != "" {
		dot += "."
	}
	switch {
	case len(zip) > 0 && bucket+key != "":
		return nil, invalid("%sZipFile and %sS3Bucket/%sS3Key are mutually exclusive", dot, dot, dot)
	case len(zip) > 0:
		return zip, nil
	case bucket == "" || key == "":
		return nil, invalid("%sZipFile, or %sS3Bucket with %sS3Key, is required", dot, dot, dot)
	case s.cfg.Code == nil:
		return nil, invalid("%sS3Bucket: this barge fetches code from S3 only through an endpoint its operator names (barge server --s3-endpoint URL); upload %sZipFile instead", dot, dot)
	}
	data, err := s.cfg.Code.Fetch(ctx, bucket, key, version, maxUnzipped)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			return nil, invalid("Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s", api.ErrorCode(), api.ErrorMessage())
		}
		if awserr.IsNoSpace(err) {
			return nil, awserr.NoSpace(err)
		}
		return nil, userErr(http.StatusBadRequest, "InvalidParameterValueException", "Error occurred while GetObject from s3://%s/%s: %v", bucket, key, err)
	}
	return data, nil
}
