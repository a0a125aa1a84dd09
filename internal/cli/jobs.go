package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/barge-run/barge/internal/account"
)

type clients struct {
	batch    *batch.Client
	logs     *cloudwatchlogs.Client
	cfg      aws.Config
	endpoint string
}

// call sends a signed restJson1 POST and returns the response body, for output in AWS's own
// wire shape.
func (cl *clients) call(ctx context.Context, service, path string, body any) ([]byte, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(cl.endpoint, "/")+path, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := cl.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(payload)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, cl.cfg.Region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(raw, &e)
		return nil, fmt.Errorf("%s: %s", e.Type, e.Message)
	}
	return raw, nil
}

// clients builds SDK clients for the server: AWS_* variables when set, else the data dir.
func (c *commonFlags) clients() (*clients, error) {
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		endpoint = "http://" + c.addr
	}
	key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		creds, err := account.Load(c.dataDir)
		if err != nil {
			return nil, fmt.Errorf("no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY set and %w", err)
		}
		key, secret = creds.First().AccessKeyID, creds.First().SecretAccessKey
	}
	cfg := aws.Config{
		Region:       c.resolveRegion(),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		BaseEndpoint: aws.String(endpoint),
	}
	return &clients{batch: batch.NewFromConfig(cfg), logs: cloudwatchlogs.NewFromConfig(cfg), cfg: cfg, endpoint: endpoint}, nil
}

// stringList collects a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// envList collects repeatable --env KEY=VALUE flags, refusing anything else as they are parsed.
type envList [][2]string

func (e *envList) String() string {
	var kvs []string
	for _, kv := range *e {
		kvs = append(kvs, kv[0]+"="+kv[1])
	}
	return strings.Join(kvs, ",")
}

func (e *envList) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	*e = append(*e, [2]string{k, val})
	return nil
}

const adhocDefinition = "barge-adhoc"

func cmdSubmit(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	queue := fs.String("queue", "default", "job queue")
	def := fs.String("definition", "", "job definition (`NAME`, name:revision or ARN); default: an ad-hoc one registered on demand")
	name := fs.String("name", "", "job `NAME` (default: the command's first word)")
	vcpus := fs.String("vcpus", "", "VCPU requirement override (`N`)")
	memory := fs.String("memory", "", "MEMORY requirement override (`MiB`)")
	attempts := fs.Int("attempts", 0, "retry attempts (1-10)")
	timeout := fs.Int("timeout", 0, "attempt timeout in seconds")
	img := fs.String("image", "", "run in this OCI image `REF` (an ad-hoc definition per image; the command, if any, replaces its CMD)")
	var env envList
	fs.Var(&env, "env", "`KEY=VALUE` environment override (repeatable)")
	if err := parseLeading(fs, args); err != nil {
		return err
	}
	command := fs.Args()
	switch {
	case *def != "" && *img != "":
		return usageError{"--image and --definition exclude each other (a job definition names its image)"}
	case *def == "" && *img == "" && len(command) == 0:
		return usageError{"give a command after --, --image or --definition"}
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	if *def == "" {
		if *def, err = ensureAdhocDefinition(ctx, cl, *img); err != nil {
			return err
		}
	}
	if *name == "" {
		*name = "job"
		if len(command) > 0 {
			*name = sanitizeName(command[0])
		} else if *img != "" {
			*name = sanitizeName(strings.Split(strings.Split(*img, "@")[0], ":")[0])
		}
	}
	in := &batch.SubmitJobInput{JobName: name, JobQueue: queue, JobDefinition: def, ContainerOverrides: &types.ContainerOverrides{}}
	if len(command) > 0 {
		in.ContainerOverrides.Command = command
	}
	if *vcpus != "" {
		in.ContainerOverrides.ResourceRequirements = append(in.ContainerOverrides.ResourceRequirements, types.ResourceRequirement{Type: types.ResourceTypeVcpu, Value: vcpus})
	}
	if *memory != "" {
		in.ContainerOverrides.ResourceRequirements = append(in.ContainerOverrides.ResourceRequirements, types.ResourceRequirement{Type: types.ResourceTypeMemory, Value: memory})
	}
	for _, kv := range env {
		in.ContainerOverrides.Environment = append(in.ContainerOverrides.Environment, types.KeyValuePair{Name: aws.String(kv[0]), Value: aws.String(kv[1])})
	}
	if *attempts > 0 {
		in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(int32(*attempts))}
	}
	if *timeout > 0 {
		in.Timeout = &types.JobTimeout{AttemptDurationSeconds: aws.Int32(int32(*timeout))}
	}
	res, err := cl.batch.SubmitJob(ctx, in)
	if err != nil {
		return apiError(err)
	}
	fmt.Fprintln(out, aws.ToString(res.JobId))
	return nil
}

func sanitizeName(s string) string {
	s = s[strings.LastIndexByte(s, '/')+1:]
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (isAlnumRune(r) || r == '-' || r == '_') && b.Len() < 128 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || !isAlnumRune(rune(b.String()[0])) {
		return "job"
	}
	return b.String()
}

func isAlnumRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// ensureAdhocDefinition registers the ad-hoc job definition (one per image) the first time it
// is needed, and returns its name.
func ensureAdhocDefinition(ctx context.Context, cl *clients, image string) (string, error) {
	name := adhocDefinition
	if image != "" {
		sum := sha256.Sum256([]byte(image))
		name += "-image-" + hex.EncodeToString(sum[:6])
	}
	res, err := cl.batch.DescribeJobDefinitions(ctx, &batch.DescribeJobDefinitionsInput{JobDefinitionName: aws.String(name), Status: aws.String("ACTIVE")})
	if err != nil {
		return "", apiError(err)
	}
	if len(res.JobDefinitions) > 0 {
		return name, nil
	}
	cp := &types.ContainerProperties{
		Command: []string{"true"},
		ResourceRequirements: []types.ResourceRequirement{
			{Type: types.ResourceTypeVcpu, Value: aws.String("1")},
			{Type: types.ResourceTypeMemory, Value: aws.String("512")},
		},
	}
	if image != "" {
		cp.Image, cp.Command = aws.String(image), nil
	}
	_, err = cl.batch.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{
		JobDefinitionName: aws.String(name), Type: types.JobDefinitionTypeContainer, ContainerProperties: cp})
	return name, apiError(err)
}

func cmdJobs(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("jobs", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	queue := fs.String("queue", "default", "job queue")
	status := fs.String("status", "all", "job status to list, or all")
	if err := parse(fs, args); err != nil {
		return err
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	statuses := []types.JobStatus{types.JobStatus(strings.ToUpper(*status))}
	if strings.EqualFold(*status, "all") {
		statuses = types.JobStatus("").Values()
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB ID\tNAME\tSTATUS\tCREATED\tEXIT\tREASON")
	for _, st := range statuses {
		p := batch.NewListJobsPaginator(cl.batch, &batch.ListJobsInput{JobQueue: queue, JobStatus: st})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return apiError(err)
			}
			for _, j := range page.JobSummaryList {
				exit := ""
				if j.Container != nil && j.Container.ExitCode != nil {
					exit = fmt.Sprint(*j.Container.ExitCode)
				}
				created := time.UnixMilli(aws.ToInt64(j.CreatedAt)).Local().Format("2006-01-02 15:04:05")
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", aws.ToString(j.JobId), aws.ToString(j.JobName), j.Status, created, exit, aws.ToString(j.StatusReason))
			}
		}
	}
	return tw.Flush()
}

func cmdDescribe(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("describe", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"usage: barge describe <jobId>…"}
	}
	cl, err := c.clients()
	if err != nil {
		return err
	}
	// The raw response, so the output is the AWS wire shape `aws batch describe-jobs` prints.
	raw, err := cl.call(ctx, "batch", "/v1/describejobs", map[string]any{"jobs": fs.Args()})
	if err != nil {
		return err
	}
	var res struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	if len(res.Jobs) == 0 {
		return fmt.Errorf("no such job: %s", strings.Join(fs.Args(), ", "))
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		return err
	}
	pretty.WriteByte('\n')
	_, err = out.Write(pretty.Bytes())
	return err
}
