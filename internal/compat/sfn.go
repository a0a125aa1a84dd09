package compat

// sfnNotes is the Step Functions part of Notes. The tests are internal/e2e's TestSFN*:
// aws-sdk-go-v2 throughout, boto3 (TestSFNBoto3) and the AWS CLI (TestSFNAWSCLI) for a few
// calls; TestSFNWaitSurvivesKill restarts a kill -9ed server mid-execution.
var sfnNotes = map[string]Note{
	"CreateStateMachine": {Level: Tested, Tests: []string{"TestSFNStateMachineAPI", "TestSFNInvalidDefinition", "TestSFNBoto3", "TestSFNAWSCLI"}, Ignored: []string{
		"`loggingConfiguration`, `tracingConfiguration` and `encryptionConfiguration` are recorded, not used (no CloudWatch Logs delivery, X-Ray or KMS)",
		"an integration barge does not run is refused with `InvalidDefinition` naming the resource and its state (TestSFNInvalidDefinition)",
	}},
	"DescribeStateMachine":           {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
	"UpdateStateMachine":             {Level: Tested, Tests: []string{"TestSFNVersionsAndAliases"}},
	"DeleteStateMachine":             {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}, Ignored: []string{"the machine is gone at once (no DELETING status); its executions run on"}},
	"ListStateMachines":              {Level: Tested, Tests: []string{"TestSFNStateMachineAPI", "TestSFNExpressAndAccounts"}},
	"ValidateStateMachineDefinition": {Level: Tested, Tests: []string{"TestSFNInvalidDefinition"}, Ignored: []string{"`severity` WARNING diagnostics are not produced"}},
	"StartExecution":                 {Level: Tested, Tests: []string{"TestSFNPipeline", "TestSFNExpressAndAccounts", "TestSFNAWSCLI"}, Ignored: []string{"`traceHeader` is recorded, not sent anywhere"}},
	"StartSyncExecution": {Level: Tested, Tests: []string{"TestSFNExpressAndAccounts", "TestSFNBoto3"}, Ignored: []string{
		"clients send it to `sync-<endpoint host>`: turn host prefixes off (boto3 `inject_host_prefix=False`, aws-sdk-go-v2 `DisableEndpointHostPrefix`) or make that name resolve",
	}},
	"DescribeExecution":                {Level: Tested, Tests: []string{"TestSFNPipeline", "TestSFNBoto3", "TestSFNAWSCLI"}, Ignored: []string{"EXPRESS executions are described only while they run on the server asked"}},
	"StopExecution":                    {Level: Tested, Tests: []string{"TestSFNExpressAndAccounts"}},
	"ListExecutions":                   {Level: Tested, Tests: []string{"TestSFNExpressAndAccounts", "TestSFNAWSCLI"}, Ignored: []string{"`mapRunArn` is refused: distributed Map children run inside their parent execution"}},
	"GetExecutionHistory":              {Level: Tested, Tests: []string{"TestSFNPipeline", "TestSFNAWSCLI"}, Extension: "no 25,000-event limit"},
	"DescribeStateMachineForExecution": {Level: Partial, Tests: []string{}},
	"RedriveExecution":                 {Level: Tested, Tests: []string{"TestSFNRetryCatchRedrive"}, Ignored: []string{"a failed Parallel or Map state is redriven whole, not only its failed branches or iterations"}},
	"TestState":                        {Level: Tested, Tests: []string{"TestSFNInvalidDefinition"}, Ignored: []string{"`mock`, `context` and `stateConfiguration` are refused or ignored", "`revealSecrets` is ignored"}},
	"PublishStateMachineVersion":       {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
	"ListStateMachineVersions":         {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
	"DeleteStateMachineVersion":        {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
	"CreateStateMachineAlias":          {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
	"DescribeStateMachineAlias":        {Level: Partial, Tests: []string{}},
	"UpdateStateMachineAlias":          {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
	"DeleteStateMachineAlias":          {Level: Partial, Tests: []string{}},
	"ListStateMachineAliases":          {Level: Partial, Tests: []string{}},
	"CreateActivity":                   {Level: Tested, Tests: []string{"TestSFNCallbacks", "TestSFNBoto3"}},
	"DescribeActivity":                 {Level: Partial, Tests: []string{}},
	"DeleteActivity":                   {Level: Partial, Tests: []string{}},
	"ListActivities":                   {Level: Partial, Tests: []string{}},
	"GetActivityTask":                  {Level: Tested, Tests: []string{"TestSFNCallbacks", "TestSFNBoto3"}, Ignored: []string{"tasks are offered by the server running the execution: workers must poll that server"}},
	"SendTaskSuccess":                  {Level: Tested, Tests: []string{"TestSFNCallbacks", "TestSFNBoto3"}, Ignored: []string{"task tokens live in the memory of the server running the execution; a restart reissues them"}},
	"SendTaskFailure":                  {Level: Tested, Tests: []string{"TestSFNCallbacks"}},
	"SendTaskHeartbeat":                {Level: Tested, Tests: []string{"TestSFNCallbacks"}},
	"TagResource":                      {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
	"UntagResource":                    {Level: Partial, Tests: []string{}},
	"ListTagsForResource":              {Level: Tested, Tests: []string{"TestSFNStateMachineAPI"}},
}
