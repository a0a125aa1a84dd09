// Package compat records how far barge implements each AWS API it speaks and renders that record
// as docs/compatibility.md.
//
// The operation lists come from the generated models (internal/awstypes/{batch,logs,lambda,sqs}) and
// from what the API edge actually serves (api.ImplementedBatchOperations and
// api.ImplementedLogsOperations), so the document always lists every operation of every model and
// cannot claim an operation barge does not route. What is hand-maintained is Notes: for an
// implemented operation, which tests drive it through a real AWS client, which request members
// barge accepts but ignores or refuses, and where it deliberately goes beyond AWS.
//
// After changing Notes or the implemented operations, regenerate the document with
//
//	go generate ./internal/compat
//
// TestGolden fails while docs/compatibility.md differs from Render's output.
package compat

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/barge-run/barge/internal/api"
	"github.com/barge-run/barge/internal/awstypes"
	batchwire "github.com/barge-run/barge/internal/awstypes/batch"
	eventswire "github.com/barge-run/barge/internal/awstypes/events"
	lambdawire "github.com/barge-run/barge/internal/awstypes/lambda"
	logswire "github.com/barge-run/barge/internal/awstypes/logs"
	schedulerwire "github.com/barge-run/barge/internal/awstypes/scheduler"
	sfnwire "github.com/barge-run/barge/internal/awstypes/sfn"
	sqswire "github.com/barge-run/barge/internal/awstypes/sqs"
)

// Level is how far barge implements an operation.
type Level string

// The three levels the document shows.
const (
	// Tested: implemented, and driven through a real AWS client (aws-sdk-go-v2, the AWS CLI or
	// boto3) by the tests the Note names.
	Tested Level = "tested"
	// Partial: implemented, but without a recorded client test, or with request members that
	// barge accepts and ignores or refuses (the Note says which).
	Partial Level = "partial"
	// NotYet: not implemented; the call answers a "not implemented" error.
	NotYet Level = "not-yet"
)

// label is how a level reads in the document.
func (l Level) label() string {
	if l == NotYet {
		return "not yet"
	}
	return string(l)
}

// Note is the hand-maintained record of one implemented operation.
type Note struct {
	Level Level
	// Tests are Go test names or smoke tests that drive the operation through a real client.
	Tests []string
	// Ignored are request members barge accepts but ignores, or refuses, each with what barge
	// does instead; also used for other deliberate differences from AWS.
	Ignored []string
	// Extension is where barge deliberately goes beyond AWS.
	Extension string
}

// Test names used by several notes.
var (
	lifecycle = []string{"TestBatchLifecycle", "TestCLIAWS"}
	allClient = []string{"TestBatchLifecycle", "TestCLIAWS", "TestBoto3"}
)

const cannotPlace = "jobs that no compute environment of the queue could ever fit fail at once with " +
	"`CannotPlaceJob: …` instead of staying RUNNABLE (opt out per queue with the tag `barge:waitUnschedulable=true`)"

var fairShare = []string{"TestFairShare"}

var lambdaTests = []string{"TestLambdaFunctions", "TestLambdaAsyncInvoke", "TestLambdaAsyncEventSurvivesCrash", "TestCLILambda"}

var lambdaVersionTests = []string{"TestLambdaVersionsAndAliases"}

var layerTests = []string{"TestLambdaLayers", "TestLambdaLayersBoto3"}

const shortTimeout = "`timeout.attemptDurationSeconds` may be below AWS's 60-second minimum (down to 1)"

// Notes is the hand-maintained compatibility table: service key ("batch", "logs", "lambda") →
// operation name → Note. An implemented operation without a Note is shown as partial with no
// client test recorded; a Note for an operation barge does not implement makes Render fail.
var Notes = map[string]map[string]Note{
	"sqs":    sqsNotes,
	"states": sfnNotes,
	"batch": {
		"CancelJob": {Level: Tested, Tests: lifecycle},
		"CreateComputeEnvironment": {Level: Tested, Tests: lifecycle, Ignored: []string{
			"capacity is `computeResources.maxvCpus` (MANAGED) or `unmanagedvCpus` (UNMANAGED; default: the host's cores) vCPUs, with the host's memory; `minvCpus` and `desiredvCpus` are only recorded",
			"instance types, subnets, security groups, launch templates, EC2 settings and the other `computeResources` members are recorded and not used, but checked as AWS Batch checks them: EC2 and SPOT need `instanceRole` and instance types or families AWS knows (or `optimal`), Fargate takes none of the EC2 settings, `desiredvCpus` lies between `minvCpus` and `maxvCpus`, `bidPercentage` 0–100 (TestCheckComputeResources, TestBadNumbersRefused)",
			"`serviceRole` and `context` are recorded and ignored",
			"`eksConfiguration` names a Kubernetes cluster of `barge server --kubeconfig` (its jobs run there as Pods: TestKubernetesComputeEnvironment; another cluster is refused naming the field); maxvCpus bounds what runs there, memory and GPUs are the cluster's",
		}},
		"CreateJobQueue": {Level: Tested, Tests: lifecycle, Ignored: []string{
			"`serviceEnvironmentOrder` is refused (service environments are not supported by barge)",
			"`jobQueueType` is ignored: queues are always ECS",
			"`jobStateTimeLimitActions`: the blocking reasons barge reports are `CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY` (fits, but the compute environments are busy or disabled), `MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE` (can never fit) and `MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT` (no compute environment)",
		}, Extension: cannotPlace + "; `jobStateTimeLimitActions[].maxTimeSeconds` may be below AWS's 600-second minimum (down to 1); starvation avoidance: a job that does not fit and has waited 5 minutes gets capacity held back for it (docs/scheduler.md)"},
		"DeleteComputeEnvironment":    {Level: Tested, Tests: lifecycle},
		"DeleteJobQueue":              {Level: Tested, Tests: lifecycle},
		"DeregisterJobDefinition":     {Level: Tested, Tests: lifecycle},
		"DescribeComputeEnvironments": {Level: Tested, Tests: lifecycle},
		"DescribeJobDefinitions":      {Level: Tested, Tests: lifecycle},
		"DescribeJobQueues":           {Level: Tested, Tests: lifecycle},
		"DescribeJobs":                {Level: Tested, Tests: lifecycle},
		"GetJobQueueSnapshot":         {Level: Tested, Tests: []string{"TestJobQueueSnapshot"}, Ignored: []string{"`frontOfQueue` only (the first 100 RUNNABLE jobs in the order the scheduler considers them; an array's waiting children one by one); `frontOfQuotaShares` and `queueUtilization` are not returned"}},
		"ListJobs": {Level: Tested, Tests: lifecycle, Ignored: []string{
			"`multiNodeJobId` is refused (multinode parallel jobs are not supported by barge)",
			"without `maxResults` a page holds at most 100 jobs (AWS: up to 1000); `nextToken` pages on as usual",
		}, Extension: "`maxResults` may be up to 1000 also with `filters` (AWS caps filtered pages at 100)"},
		"ListTagsForResource": {Level: Tested, Tests: lifecycle},
		"RegisterJobDefinition": {Level: Tested, Tests: append([]string{"TestIsolation", "TestIsolationPrivileged"}, lifecycle...), Ignored: []string{
			"`type` multinode, `nodeProperties` and `ecsProperties` are refused (not supported by barge); `eksProperties` takes one container (no init containers, volumes or volume mounts yet)",
			"`containerProperties.privileged` is refused unless the operator starts barge with `--allow-privileged`",
			"`image` is pulled and run in a sandbox (docs/isolation.md); barge also accepts no `image` or `host`: the job runs on the host's filesystem, read-only, inside the sandbox",
			"`volumes` with `host.sourcePath` (only under the operator's `--volume-root`; or none: scratch space), `mountPoints`, `ulimits`, `user` and `readonlyRootFilesystem` are enforced; EFS and S3 Files volumes are refused; `/proc`, `/sys`, `/dev`, `..` and barge's data directory cannot be volumes",
			"`ephemeralStorage.sizeInGiB` bounds every job's writable space (1–200 GiB; AWS: Fargate only, 21–200), enforced by the kernel",
			"`linuxParameters.initProcessEnabled` and `sharedMemorySize` are honoured; `devices` and `tmpfs` are refused; `maxSwap` and `swappiness` are ignored (swap is off: the memory limit covers it)",
			"`jobRoleArn`, `executionRoleArn`, `secrets`, `logConfiguration`, `networkConfiguration`, `fargatePlatformConfiguration`, `runtimePlatform`, `repositoryCredentials`, `enableExecuteCommand` and `instanceType` are recorded and ignored; output always goes to the log group `/aws/batch/job`",
			"`GPU` resource requirements are reserved from the host's GPUs (`barge server --gpus N`, by default the `/dev/nvidiaN` devices) and the job gets the devices' indices in `NVIDIA_VISIBLE_DEVICES`, as on AWS; the device nodes are not yet passed into the sandbox (TestGPUs)",
			"`propagateTags` and `platformCapabilities` are recorded",
			"`consumableResourceProperties` is ignored",
		}, Extension: shortTimeout},
		"SubmitJob": {Level: Tested, Tests: allClient, Ignored: []string{
			"`nodeOverrides` and `ecsPropertiesOverride` are refused (not supported by barge); `eksPropertiesOverride` overrides the one container's image, command, args, env and resources; a job with `eksProperties` is refused on a queue whose compute environments are not on Kubernetes",
			"`containerOverrides.instanceType` is recorded and ignored",
			"`consumableResourcePropertiesOverride` is ignored",
		}, Extension: shortTimeout + "; `arrayProperties.size` up to 1,000,000 (AWS: 10,000), children created lazily; up to 100,000 `dependsOn` entries (AWS: 20); TestArrayJobs and TestDependencies cover arrays, N_TO_N, SEQUENTIAL, per-child dependencies and the failure cascade; TestCancelNToNChild and TestCancelSequentialChild cancel waiting children one by one"},
		"TagResource":   {Level: Tested, Tests: lifecycle},
		"TerminateJob":  {Level: Tested, Tests: lifecycle},
		"UntagResource": {Level: Tested, Tests: lifecycle},
		"UpdateComputeEnvironment": {Level: Tested, Tests: lifecycle, Ignored: []string{
			"`state`, `unmanagedvCpus`, `serviceRole` and `computeResources.maxvCpus`, `minvCpus`, `desiredvCpus` are honoured (capacity as in CreateComputeEnvironment); the other `computeResources` members, `updatePolicy` and `context` are ignored",
		}},
		"UpdateJobQueue": {Level: Tested, Tests: lifecycle, Ignored: []string{
			"`schedulingPolicyArn` may change the policy of a fair-share queue; a FIFO queue cannot be given one (as in AWS)",
			"`serviceEnvironmentOrder` is refused",
		}, Extension: cannotPlace},
		"CreateSchedulingPolicy": {Level: Tested, Tests: fairShare, Ignored: []string{
			"`quotaSharePolicy` is refused (quota shares are not supported by barge)",
		}},
		"DescribeSchedulingPolicies": {Level: Tested, Tests: fairShare},
		"ListSchedulingPolicies":     {Level: Tested, Tests: fairShare},
		"UpdateSchedulingPolicy": {Level: Tested, Tests: fairShare, Ignored: []string{
			"`quotaSharePolicy` is refused",
		}},
		"DeleteSchedulingPolicy": {Level: Tested, Tests: fairShare},
	},
	"lambda": {
		"CreateFunction": {Level: Tested, Tests: append([]string{"TestLambdaImageFunction", "TestLambdaLayers", "TestLambdaCodeFromS3", "TestTerraformReplay"}, lambdaTests...), Ignored: []string{
			"runtimes: `provided.al2023`, `provided.al2`, `provided` (the package's `bootstrap`), `python3.X` when the host has `python3.X` and `nodejsN.x` when its `node` is version N (barge's own runtime clients, with Lambda's logging, context and error types; TestRuntimesHonest, TestPythonParity, TestNodeParity); other runtimes are refused, naming those the host can run",
			"`Code.ZipFile`, or `PackageType` Image with `Code.ImageUri` (any OCI registry, pulled at creation and pinned to its digest; `ImageConfig` EntryPoint/Command/WorkingDirectory honoured; needs barge's sandbox); `Code.S3Bucket`/`S3Key`/`S3ObjectVersion` when the server has `--s3-endpoint` (an S3-compatible server, read with the server's credentials; refused otherwise)",
			"`Layers` (at most 5 layer versions, one per layer, the caller's or shared with it) are merged in order and mounted read-only at `/opt` (docs/functions.md, Layers)",
			"`DeadLetterConfig` (SQS/SNS ARN) is honoured: failed asynchronous events are kept in barge's store as the messages AWS would send (TestLambdaDeadLetter)",
			"`Publish` publishes a version and answers with it (TestLambdaPublishOnWrite)",
			"`TracingConfig` is kept and answered (TestLambdaDeployToolCalls; there is no X-Ray); `VpcConfig`, `KMSKeyArn`, `FileSystemConfigs`, `CodeSigningConfigArn`, `Architectures`, `EphemeralStorage`, `SnapStart` are ignored; `LoggingConfig` `LogFormat` (Text or JSON) and `ApplicationLogLevel` reach the runtime (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`), barge's own START/END/REPORT lines stay text and `SystemLogLevel` is kept but not applied",
		}},
		"AddPermission": {Level: Tested, Tests: []string{"TestLambdaPermissions"}, Ignored: []string{
			"statements are stored and enforced for Invoke by another account (a function ARN of its region): allowed when a statement names that account, its root or an IAM ARN in it, or *; service principals are stored; `SourceArn`/`SourceAccount` conditions are stored, not evaluated; `PrincipalOrgID` and `EventSourceToken` are ignored",
		}},
		"GetPolicy":                    {Level: Tested, Tests: []string{"TestLambdaPermissions", "TestLambdaDeployOpsBoto3", "TestTerraformReplay"}},
		"RemovePermission":             {Level: Tested, Tests: []string{"TestLambdaPermissions", "TestLambdaDeployOpsBoto3", "TestTerraformReplay"}},
		"GetFunctionCodeSigningConfig": {Level: Tested, Tests: []string{"TestTerraformReplay", "TestLambdaDeployOpsBoto3"}, Ignored: []string{"barge has no code signing configurations: a function never has one (`CodeSigningConfigArn` empty), the answer Terraform's provider reads"}},
		"PublishLayerVersion":          {Level: Tested, Tests: layerTests, Ignored: []string{"`Content.ZipFile`, or `Content.S3Bucket`/`S3Key` with `--s3-endpoint` (TestLambdaCodeFromS3, TestLambdaCodeFromS3Boto3); stored unpacked; `CompatibleRuntimes` and `CompatibleArchitectures` are recorded and used by the listings' filters"}},
		"GetLayerVersion":              {Level: Tested, Tests: layerTests, Ignored: []string{"`Content.Location` is a signed link to the version's zip on barge, valid 10 minutes"}},
		"GetLayerVersionByArn":         {Level: Tested, Tests: layerTests},
		"ListLayers":                   {Level: Tested, Tests: layerTests, Ignored: []string{"the caller's own layers only (AWS lists those of the caller's account too)"}},
		"ListLayerVersions":            {Level: Tested, Tests: layerTests, Ignored: []string{"newest first; another account's layer lists the versions shared with the caller"}},
		"DeleteLayerVersion":           {Level: Tested, Tests: layerTests, Ignored: []string{"functions that use the version keep their copy; the version number is never given again"}},
		"AddLayerVersionPermission":    {Level: Tested, Tests: layerTests, Ignored: []string{"`Principal` an account id or `*`; a statement with `OrganizationId` is kept but grants nobody (barge has no organizations)"}},
		"GetLayerVersionPolicy":        {Level: Tested, Tests: layerTests},
		"RemoveLayerVersionPermission": {Level: Tested, Tests: layerTests},
		"GetFunction":                  {Level: Tested, Tests: lambdaTests, Ignored: []string{"`Code.Location` is a link to the package's zip on barge, signed and valid for 10 minutes like Lambda's presigned S3 URL (`RepositoryType` S3; TestLambdaDeployToolCalls); image functions give `ImageUri` and `ResolvedImageUri` (`RepositoryType` ECR, whatever the registry)"}},
		"GetFunctionConfiguration":     {Level: Tested, Tests: []string{"TestLambdaDeployToolCalls", "TestLambdaDeployOpsBoto3"}},
		"ListFunctions":                {Level: Tested, Tests: append([]string{"TestLambdaDeployToolCalls"}, lambdaTests...), Ignored: []string{"`FunctionVersion=ALL` lists the published versions after each function's $LATEST; `MasterRegion` is ignored"}},
		"DeleteFunction":               {Level: Tested, Tests: lambdaTests},
		"UpdateFunctionCode":           {Level: Tested, Tests: append([]string{"TestLambdaImageFunction", "TestLambdaCodeFromS3", "TestLambdaCodeFromS3Boto3"}, lambdaTests...), Ignored: []string{"`ZipFile`, `S3Bucket`/`S3Key` (with `--s3-endpoint`), or `ImageUri` for image functions; `Publish` publishes a version; `DryRun`, `RevisionId` and `Architectures` are ignored"}},
		"UpdateFunctionConfiguration": {Level: Tested, Tests: lambdaTests, Ignored: []string{
			"`Role`, `Handler`, `Runtime` (those the host can run), `Description`, `Timeout`, `MemorySize`, `Environment`, `LoggingConfig`, `TracingConfig` and `Layers` (`[]` removes them; TestLambdaLayers) are honoured; the other members are ignored",
		}},
		"PutFunctionConcurrency": {Level: Tested, Tests: lambdaTests, Ignored: []string{"0 throttles every invocation, as in AWS; the account limit is 1000 and barge does not keep 100 unreserved"}},
		"GetFunctionConcurrency": {Level: Tested, Tests: lambdaTests},
		"PublishVersion": {Level: Tested, Tests: lambdaVersionTests, Ignored: []string{
			"publishing without a change since the last version returns that version, as Lambda; `PublishTo` and `RevisionId` are ignored",
		}},
		"ListVersionsByFunction":             {Level: Tested, Tests: append([]string{"TestTerraformReplay", "TestLambdaDeployOpsBoto3"}, lambdaVersionTests...), Ignored: []string{"`$LATEST` is listed first, by its qualified ARN (`…:$LATEST`), as Lambda lists it"}},
		"TagResource":                        {Level: Tested, Tests: []string{"TestLambdaTags"}, Ignored: []string{"functions only (by ARN, unqualified); at most 50 tags, `aws:` keys reserved"}},
		"UntagResource":                      {Level: Tested, Tests: []string{"TestLambdaTags"}},
		"ListTags":                           {Level: Tested, Tests: []string{"TestLambdaTags"}},
		"PutProvisionedConcurrencyConfig":    {Level: Tested, Tests: []string{"TestLambdaProvisionedConcurrency"}, Ignored: []string{"instances start at once and stay warm until the config is deleted (also across restarts); on a version or an alias (its primary version), never $LATEST; at most the reserved concurrency"}},
		"GetProvisionedConcurrencyConfig":    {Level: Tested, Tests: []string{"TestLambdaProvisionedConcurrency"}, Ignored: []string{"READY once every requested instance has initialised"}},
		"DeleteProvisionedConcurrencyConfig": {Level: Tested, Tests: []string{"TestLambdaProvisionedConcurrency"}},
		"ListProvisionedConcurrencyConfigs":  {Level: Tested, Tests: []string{"TestLambdaProvisionedConcurrency"}, Ignored: []string{"one page; `Marker` and `MaxItems` are ignored"}},
		"CreateFunctionUrlConfig":            {Level: Tested, Tests: []string{"TestLambdaFunctionURL"}, Ignored: []string{"served by barge itself at `<endpoint>/lambda-url/<url-id>/` (a barge extension: AWS uses `https://<url-id>.lambda-url.<region>.on.aws/`); payload format 2.0; AuthType NONE or AWS_IAM (a signature of the function's account); Cors honoured; InvokeMode BUFFERED only; on $LATEST or an alias"}},
		"GetFunctionUrlConfig":               {Level: Tested, Tests: []string{"TestLambdaFunctionURL"}},
		"UpdateFunctionUrlConfig":            {Level: Tested, Tests: []string{"TestLambdaFunctionURL"}},
		"DeleteFunctionUrlConfig":            {Level: Tested, Tests: []string{"TestLambdaFunctionURL"}},
		"ListFunctionUrlConfigs":             {Level: Tested, Tests: []string{"TestLambdaFunctionURL"}, Ignored: []string{"one page"}},
		"UpdateFunctionEventInvokeConfig":    {Level: Tested, Tests: []string{"TestLambdaAccountSettingsAndEventConfigs"}, Ignored: []string{"members not given keep their values; one configuration per function (`Qualifier` is ignored)"}},
		"ListFunctionEventInvokeConfigs":     {Level: Tested, Tests: []string{"TestLambdaAccountSettingsAndEventConfigs"}},
		"GetAccountSettings":                 {Level: Tested, Tests: []string{"TestLambdaAccountSettingsAndEventConfigs"}, Ignored: []string{"`ConcurrentExecutions` is barge's `--function-concurrency`; code-size limits are Lambda's defaults; usage counts $LATEST and every published version"}},
		"CreateAlias":                        {Level: Tested, Tests: lambdaVersionTests, Ignored: []string{"weighted `RoutingConfig` (one additional published version, weight 0.0–1.0) is honoured per invocation"}},
		"GetAlias":                           {Level: Tested, Tests: []string{"TestLambdaDeployOpsBoto3"}},
		"UpdateAlias":                        {Level: Tested, Tests: lambdaVersionTests, Ignored: []string{"weighted `RoutingConfig` is honoured; an empty one routes everything to `FunctionVersion` again"}},
		"DeleteAlias":                        {Level: Tested, Tests: lambdaVersionTests},
		"ListAliases":                        {Level: Tested, Tests: lambdaVersionTests},
		"PutFunctionEventInvokeConfig": {Level: Tested, Tests: []string{"TestLambdaDestinations"}, Ignored: []string{
			"per function only (a `Qualifier` is ignored); a Lambda function destination in the same account and region receives AWS's invocation record as an asynchronous event; other destinations (SQS, SNS, EventBridge, S3) are recorded in the store as `lambda-destination-record` resources, since barge has none of those services",
		}},
		"GetFunctionEventInvokeConfig":    {Level: Tested, Tests: []string{"TestLambdaDestinations"}},
		"DeleteFunctionEventInvokeConfig": {Level: Tested, Tests: []string{"TestLambdaDeployOpsBoto3"}},
		"DeleteFunctionConcurrency":       {Level: Tested, Tests: lambdaTests},
		"Invoke": {Level: Tested, Tests: lambdaTests, Ignored: []string{
			"`Event` invocations are queued durably in the store and retried twice after a function error (after 1 s and 2 s; Lambda waits about 1 and 2 minutes), throttled events wait without using attempts, events older than 6 hours are dropped (both configurable with PutFunctionEventInvokeConfig)",
			"`ClientContext`, `TenantId` and `DurableExecutionName` are ignored",
		}},
	},
	"logs": {
		"DescribeLogStreams": {Level: Tested, Tests: logsClients, Ignored: []string{
			"`logGroupIdentifier` (a name or a log group ARN) is accepted in place of `logGroupName`",
		}, Extension: "`logStreamNamePrefix` is also allowed with `orderBy` `LastEventTime` (CloudWatch refuses the combination)"},
		"GetLogEvents": {Level: Tested, Tests: allClient, Ignored: []string{
			"`logGroupIdentifier` (a name or a log group ARN) is accepted in place of `logGroupName`",
			"`unmask` is ignored: barge masks nothing",
			"every event has its `message`, an empty line's too (TestLogsAPI)",
		}},
		"CreateLogGroup": {Level: Tested, Tests: []string{"TestLogsAPI"}, Ignored: []string{
			"`kmsKeyId` and `tags` are stored (not used); `deletionProtectionEnabled` is ignored",
		}},
		"DeleteLogGroup": {Level: Tested, Tests: []string{"TestLogsAPI"}},
		"FilterLogEvents": {Level: Tested, Tests: append([]string{"TestLogsAPI", "TestLogsTail", "TestJSONPatternGrouping"}, logsClients...), Ignored: []string{
			"filter patterns of terms, quoted phrases, `?` alternatives and `-` exclusions (case-sensitive); JSON patterns (`{ ($.a.b[0] = \"x*\" || $.n > 5) && $.f IS TRUE }`: =, !=, <, >, <=, >= on strings with * wildcards, numbers, true, false, null; `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`; && and ||, && binding tighter, grouped with parentheses up to 32 deep; a malformed one answers InvalidParameterException naming `filterPattern`); and space-delimited patterns (`[ip, user, ..., status=4*, bytes>1000]`: \"quoted\" and [bracketed] runs are one field, one `...`); regular expressions (`%…%`) are not supported",
			"events of all (or the named, or prefixed) streams merged by time, in pages; every searched stream is searched completely; `aws logs tail` (CLI v2, which polls FilterLogEvents) works over it, `--follow` and `--filter-pattern` too (TestLogsTail); `interleaved` and `unmask` are ignored",
		}},
		"DescribeLogGroups": {Level: Tested, Tests: []string{"TestLogsAPI"}, Ignored: []string{"`accountIdentifiers`, `includeLinkedAccounts`, `logGroupClass` and `logGroupIdentifiers` are ignored; `metricFilterCount` is 0"}},
		"PutRetentionPolicy": {Level: Tested, Tests: append([]string{"TestLogsAPI"}, logsClients...), Ignored: []string{
			"events older than the retention are hidden from GetLogEvents and FilterLogEvents at once and refused by PutLogEvents; streams whose newest event is past it are deleted every 10 minutes (TestRetention)",
		}},
		"DeleteRetentionPolicy": {Level: Tested, Tests: logsClients, Ignored: []string{
			"events the retention hid are visible again (TestLogsClientsSDK); streams it already deleted stay deleted",
		}},
		"CreateLogStream": {Level: Tested, Tests: []string{"TestLogsAPI"}},
		"DeleteLogStream": {Level: Tested, Tests: []string{"TestLogsAPI"}},
		"PutLogEvents": {Level: Tested, Tests: []string{"TestLogsAPI"}, Ignored: []string{
			"AWS's batch rules (1–10,000 events, 1 MiB, chronological, 24 hours); events more than 14 days old (or than the retention) or more than 2 hours ahead are rejected into `rejectedLogEventsInfo`",
			"barge keeps a stream in time order: events older than the stream's newest are rejected as too old too (CloudWatch accepts them)",
			"`sequenceToken` is ignored, as CloudWatch now does; `entity` is ignored",
		}},
		"PutSubscriptionFilter": {Level: Tested, Tests: append([]string{"TestSubscriptionFilters"}, logsClients...), Ignored: []string{
			"destinations are barge Lambda functions (`arn:aws:lambda:…`) only; Kinesis, Firehose and CloudWatch Logs destinations are refused with InvalidParameterException naming `destinationArn`",
			"each batch of matching events goes to the function as one asynchronous invocation (queued durably, retried) of CloudWatch's `awslogs` payload (base64 gzip JSON) — events put with PutLogEvents and jobs' and functions' output alike (TestSubscriptionFilters); at most 2 filters a group (LimitExceededException)",
			"`roleArn` and `distribution` are stored, not used; `applyOnTransformedLogs`, `emitSystemFields` and `fieldSelectionCriteria` are ignored",
		}},
		"DescribeSubscriptionFilters": {Level: Tested, Tests: append([]string{"TestSubscriptionFilters"}, logsClients...), Ignored: []string{
			"`limit` and `nextToken` are ignored: a group has at most 2 filters, all in one page",
		}},
		"DeleteSubscriptionFilter": {Level: Tested, Tests: append([]string{"TestSubscriptionFilters"}, logsClients...)},
		"TagResource": {Level: Tested, Tests: append([]string{"TestLogsAPI"}, logsClients...), Ignored: []string{
			"log group ARNs of the caller's account and region only (with or without `:*`); ARNs of other resources (destinations, delivery sources, anomaly detectors) are refused with InvalidParameterException naming `resourceArn`; at most 50 tags a group",
		}},
		"UntagResource": {Level: Tested, Tests: append([]string{"TestLogsAPI"}, logsClients...), Ignored: []string{
			"log group ARNs only, as for TagResource",
		}},
		"ListTagsForResource": {Level: Tested, Tests: append([]string{"TestLogsAPI"}, logsClients...), Ignored: []string{
			"log group ARNs only, as for TagResource; an untagged group answers `tags: {}`",
		}},
		"TagLogGroup":      {Level: Tested, Tests: logsClients, Ignored: []string{"deprecated by AWS in favour of TagResource; the same tags"}},
		"UntagLogGroup":    {Level: Tested, Tests: logsClients, Ignored: []string{"deprecated by AWS in favour of UntagResource; the same tags"}},
		"ListTagsLogGroup": {Level: Tested, Tests: logsClients, Ignored: []string{"deprecated by AWS in favour of ListTagsForResource; the same tags"}},
		"PutResourcePolicy": {Level: Tested, Tests: logsClients, Ignored: []string{
			"resource policies are stored per account and region and returned, not enforced: barge has one principal per account, and no AWS service delivers logs to it",
			"at most 10 account-scoped policies (LimitExceededException); `policyDocument` must be a JSON object of at most 51,200 characters (its IAM grammar is not checked)",
			"a policy on a log group (`resourceArn`; one per group) answers a `revisionId`; changing it needs that `expectedRevisionId`, and a stale one answers OperationAbortedException (barge's choice of code); the policy goes when its group is deleted",
		}},
		"DescribeResourcePolicies": {Level: Tested, Tests: logsClients, Ignored: []string{
			"`policyScope` ACCOUNT (the default) lists the account-scoped policies, RESOURCE those on log groups; `resourceArn` the one on that group; pages of `limit` (1–50) with `nextToken`",
		}},
		"DeleteResourcePolicy": {Level: Tested, Tests: logsClients, Ignored: []string{
			"a policy on a log group needs its current `expectedRevisionId`; an unknown policy answers ResourceNotFoundException",
		}},
		"StartQuery": {Level: Tested, Tests: []string{"TestLogsInsights", "TestInsightsQueries"}, Ignored: []string{
			"Logs Insights QL only (`queryLanguage` CWLI): `fields`/`display`, `filter` (comparisons, `like /re/` and `like \"text\"`, `not like`, `ispresent`, `and`/`or`/`not`, parentheses), `stats` (count, sum, avg, min, max, `as`, `by` fields), `sort`, `limit`; `parse`, `dedup`, `bin()` and the other functions answer MalformedQueryException",
			"the query runs at once over the window's events (at most 2,000,000 scanned) and is Complete when StartQuery answers; results are kept in memory (the newest 100 per account, until a restart); JSON messages' members are fields by dotted path",
		}},
		"GetQueryResults": {Level: Tested, Tests: []string{"TestLogsInsights"}, Ignored: []string{"no `@ptr` field in rows; `nextToken`/`maxItems` are ignored (one page)"}},
		"StopQuery":       {Level: Tested, Tests: []string{"TestLogsInsights"}, Ignored: []string{"queries complete when they start: `success` is false"}},
		"DescribeQueries": {Level: Tested, Tests: []string{"TestLogsInsights"}, Ignored: []string{"newest first, one page"}},
		"StartLiveTail": {Level: Tested, Tests: []string{"TestLiveTailSDK", "TestLiveTailBoto3", "TestLiveTailPoll"}, Ignored: []string{
			"served as an awsJson1_1 event stream over the HTTP/1.1 response (initial-response, sessionStart, then a sessionUpdate every second; more than 500 events sampled evenly; SessionTimeoutException after 3 hours)",
			"the operation's host prefix (`stream-`; older SDKs `streaming-`) names no host of a barge endpoint: turn it off — aws-sdk-go-v2: remove the `EndpointHostPrefix` finalize middleware; boto3/botocore: `Config(inject_host_prefix=False)` or the environment's `AWS_DISABLE_HOST_PREFIX_INJECTION=true` — or give barge a DNS name whose `stream-` form resolves to it too",
			"barge looks at every followed stream each second, so a session over a group of many thousand streams costs the server that much; `aws logs tail` (CLI v2, polling FilterLogEvents) is the alternative (TestLogsTail)",
			"a session's first bytes come 100 ms after the request: aws-sdk-go-v2 closes the request body as soon as the answer starts and, if Go's transport is still draining it, loses the connection — on loopback an immediate answer lost about one session in five; with aws-sdk-go-v2 v1.92 use one client per concurrent session (its event stream decoder is shared by the client's sessions; the race detector flags overlapping ones)",
		}, Extension: "`logGroupIdentifiers` may be names as well as ARNs"},
	},
}

// logsClients are the tests that drive CloudWatch Logs operations through every kind of client.
var logsClients = []string{"TestLogsClientsSDK", "TestLogsClientsBoto3", "TestLogsClientsCLI"}

// service is one section of the document.
type service struct {
	Key         string // key in Notes
	Title       string
	Intro       string
	Ops         []awstypes.Operation
	Implemented []string
	Notes       map[string]Note
}

func services() []service {
	return []service{
		{
			Key:   "batch",
			Title: "AWS Batch",
			Intro: "Jobs run as processes on the barge host, with the vCPU and memory they request; their " +
				"output goes to the CloudWatch Logs group `/aws/batch/job`. Operations not implemented " +
				"answer a `ClientException` naming the operation.",
			Ops:         batchwire.Operations,
			Implemented: api.ImplementedBatchOperations(),
			Notes:       Notes["batch"],
		},
		{
			Key:   "logs",
			Title: "CloudWatch Logs",
			Intro: "barge keeps the log streams of its jobs (group `/aws/batch/job`) and functions " +
				"(`/aws/lambda/<name>`) and the groups and streams clients make, with retention, tags, filter patterns, " +
				"subscription filters to barge functions and resource policies. Operations not implemented answer an " +
				"`InvalidOperationException` naming the operation.",
			Ops:         logswire.Operations,
			Implemented: api.ImplementedLogsOperations(),
			Notes:       Notes["logs"],
		},
		{
			Key:   "lambda",
			Title: "Lambda",
			Intro: "Functions are zip packages (a `bootstrap` for custom runtimes, or Python handlers) or OCI " +
				"images, run sandboxed as processes speaking the Lambda Runtime API, warm instances reused " +
				"and idle ones reaped; their output goes to the CloudWatch Logs group `/aws/lambda/<name>`. " +
				"Versions, aliases (weighted too) and tags are kept. " +
				"Operations not implemented answer an `InvalidParameterValueException` naming the operation.",
			Ops:         lambdawire.Operations,
			Implemented: api.ImplementedLambdaOperations(),
			Notes:       Notes["lambda"],
		},
		{
			Key:   "sqs",
			Title: "SQS",
			Intro: "Queues and their messages are kept in barge's store, at-least-once across a kill -9; standard " +
				"and FIFO queues, long polling, dead-letter queues and move tasks, over the JSON protocol " +
				"(aws-sdk-go-v2, boto3 and CLI v1 of recent botocore) and the query protocol (AWS CLI v2, older " +
				"boto3). See docs/sqs.md. Operations not implemented answer an `UnsupportedOperation` error naming the operation.",
			Ops:         sqswire.Operations,
			Implemented: api.ImplementedSQSOperations(),
			Notes:       Notes["sqs"],
		},
		{
			Key:   "scheduler",
			Title: "EventBridge Scheduler",
			Intro: "Schedules (`rate()`, `cron()` with time zones, one-time `at()`, flexible windows, start and end dates) " +
				"are work items in barge's store, fired once per occurrence by whichever server claims them, across restarts; " +
				"targets are barge's Lambda functions, SQS queues and the universal targets for Batch SubmitJob and SQS SendMessage, " +
				"with retries and a dead-letter queue. See docs/triggers.md. Operations not implemented answer a `ValidationException` naming the operation.",
			Ops:         schedulerwire.Operations,
			Implemented: api.ImplementedSchedulerOperations(),
			Notes:       Notes["scheduler"],
		},
		{
			Key:   "events",
			Title: "EventBridge",
			Intro: "Rules of the default event bus with a `ScheduleExpression`, fired by the same engine as EventBridge Scheduler, " +
				"delivering the Scheduled Event to Lambda and SQS targets; rules with an `EventPattern` are stored only. " +
				"See docs/triggers.md. Operations not implemented answer an `UnknownOperationException` naming the operation.",
			Ops:         eventswire.Operations,
			Implemented: api.ImplementedEventsOperations(),
			Notes:       Notes["events"],
		},
		{
			Key:   "states",
			Title: "Step Functions",
			Intro: "State machines in the Amazon States Language (JSONPath and JSONata), run by barge's own interpreter; " +
				"STANDARD executions are kept in barge's store and resume after a kill -9, EXPRESS ones run in memory. " +
				"Task states call barge's Lambda, Batch (`.sync` too, re-attached after a restart), SQS and Step Functions itself (nested `startExecution`, `.sync`, `.sync:2`), activities and task-token callbacks. " +
				"See docs/stepfunctions.md. Operations not implemented answer an `UnsupportedOperation` error naming the operation.",
			Ops:         sfnwire.Operations,
			Implemented: api.ImplementedSFNOperations(),
			Notes:       Notes["states"],
		},
	}
}

// Render writes docs/compatibility.md. It fails, writing nothing, when Notes contradicts the
// models or the implemented operations.
func Render(w io.Writer) error {
	svcs := services()
	for key := range Notes {
		if !slices.ContainsFunc(svcs, func(s service) bool { return s.Key == key }) {
			return fmt.Errorf("compat: Notes has an entry for unknown service %q", key)
		}
	}
	return render(w, svcs)
}

// row is one operation of a section.
type row struct {
	name  string
	level Level
	notes string
}

type section struct {
	svc                     service
	rows                    []row
	tested, partial, notYet int
}

func (s *section) implemented() int { return s.tested + s.partial }

func render(w io.Writer, svcs []service) error {
	var secs []*section
	for _, svc := range svcs {
		sec, err := build(svc)
		if err != nil {
			return err
		}
		secs = append(secs, sec)
	}

	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("<!-- Code generated by go generate ./internal/compat; DO NOT EDIT. -->\n\n")
	p("# AWS API compatibility\n\n")
	p("This page lists every operation of the AWS APIs barge speaks and how far barge implements each.\n")
	p("Each operation is in one of three states:\n\n")
	p("- **tested**: implemented, and driven through a real AWS client (aws-sdk-go-v2, the AWS CLI or boto3)\n")
	p("  by the tests named in its notes. The notes still list any request members barge ignores or refuses.\n")
	p("- **partial**: implemented, but no client test is recorded yet, or some request members are\n")
	p("  accepted and ignored, or refused; the notes say which.\n")
	p("- **not yet**: not implemented. Where barge serves the API, the call answers a clear error naming\n")
	p("  the operation rather than a 404.\n\n")
	p("Request members the notes do not mention behave as AWS documents them. \"Extension\" marks where barge\n")
	p("deliberately goes beyond AWS.\n\n")
	p("This file is generated from the AWS models in `internal/awstypes`, the operations the API edge serves\n")
	p("(`internal/api`) and the hand-maintained `Notes` table in `internal/compat/compat.go`. Edit that table,\n")
	p("then regenerate with:\n\n")
	p("```sh\ngo generate ./internal/compat\n```\n\n")
	p("| Service | Operations | Implemented | Tested | Partial | Not yet |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range secs {
		p("| [%s](#%s) | %d | %d | %d | %d | %d |\n", s.svc.Title, anchor(s.svc.Title),
			len(s.rows), s.implemented(), s.tested, s.partial, s.notYet)
	}
	for _, s := range secs {
		p("\n## %s\n\n", s.svc.Title)
		if s.svc.Intro != "" {
			p("%s\n\n", s.svc.Intro)
		}
		p("%s.\n\n", counts(s))
		p("| Operation | State | Notes |\n")
		p("| --- | --- | --- |\n")
		for _, r := range s.rows {
			p("| %s | %s | %s |\n", r.name, r.level.label(), cell(r.notes))
		}
	}
	return b.Flush()
}

// counts is the summary line of a section, e.g. "19 of 45 operations implemented (…)".
func counts(s *section) string {
	out := fmt.Sprintf("%d of %d operations implemented", s.implemented(), len(s.rows))
	if s.implemented() > 0 {
		out += fmt.Sprintf(" (%d tested through a real client, %d partial)", s.tested, s.partial)
	}
	return out + fmt.Sprintf("; %d not yet", s.notYet)
}

// build checks one service's notes against its model and implemented operations and makes its
// rows, sorted by operation name.
func build(svc service) (*section, error) {
	inModel := map[string]bool{}
	for _, op := range svc.Ops {
		if inModel[op.Name] {
			return nil, fmt.Errorf("compat: %s: operation %s is twice in the model", svc.Key, op.Name)
		}
		inModel[op.Name] = true
	}
	impl := map[string]bool{}
	for _, name := range svc.Implemented {
		if !inModel[name] {
			return nil, fmt.Errorf("compat: %s: implemented operation %s is not in the model", svc.Key, name)
		}
		impl[name] = true
	}
	for name, n := range svc.Notes {
		switch {
		case !inModel[name]:
			return nil, fmt.Errorf("compat: %s: Notes names %s, which is not an operation of the model", svc.Key, name)
		case !impl[name]:
			return nil, fmt.Errorf("compat: %s: Notes has an entry for %s, which barge does not implement", svc.Key, name)
		case n.Level != Tested && n.Level != Partial:
			return nil, fmt.Errorf("compat: %s: %s: the level of an implemented operation must be %q or %q, not %q", svc.Key, name, Tested, Partial, n.Level)
		case n.Level == Tested && len(n.Tests) == 0:
			return nil, fmt.Errorf("compat: %s: %s is %q but names no test", svc.Key, name, Tested)
		}
	}

	sec := &section{svc: svc}
	names := make([]string, 0, len(svc.Ops))
	for _, op := range svc.Ops {
		names = append(names, op.Name)
	}
	slices.Sort(names)
	for _, name := range names {
		r := row{name: name, level: NotYet}
		if impl[name] {
			n, ok := svc.Notes[name]
			if !ok {
				n = Note{Level: Partial}
			}
			r.level, r.notes = n.Level, noteText(n)
		}
		switch r.level {
		case Tested:
			sec.tested++
		case Partial:
			sec.partial++
		default:
			sec.notYet++
		}
		sec.rows = append(sec.rows, r)
	}
	return sec, nil
}

// noteText is the Notes cell of an implemented operation.
func noteText(n Note) string {
	var parts []string
	if len(n.Tests) > 0 {
		tests := make([]string, len(n.Tests))
		for i, t := range n.Tests {
			tests[i] = "`" + t + "`"
		}
		parts = append(parts, "Tests: "+strings.Join(tests, ", ")+".")
	} else if n.Level == Partial && len(n.Ignored) == 0 && n.Extension == "" {
		return "implemented; no client test recorded"
	} else {
		parts = append(parts, "No client test recorded.")
	}
	for _, ig := range n.Ignored {
		parts = append(parts, "• "+sentence(ig))
	}
	if n.Extension != "" {
		parts = append(parts, "Extension: "+strings.TrimSuffix(strings.TrimSpace(n.Extension), ".")+".")
	}
	return strings.Join(parts, "<br>")
}

// sentence capitalises s (unless it starts with code) and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		s = string(c-'a'+'A') + s[1:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// anchor is GitHub's heading anchor for a plain title.
func anchor(title string) string {
	return strings.ReplaceAll(strings.ToLower(title), " ", "-")
}
