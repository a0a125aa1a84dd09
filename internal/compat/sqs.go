package compat

// sqsNotes is the SQS part of Notes. TestSQSGoSDK drives every operation through aws-sdk-go-v2
// (which checks the MD5 digests); TestSQSCLI through AWS CLI v1 (JSON) and v2 (query protocol);
// TestSQSBoto3 through boto3; TestSQSCrashKeepsAcknowledged across a kill -9.
var sqsNotes = map[string]Note{
	"CreateQueue": {Level: Tested, Tests: sqsAll, Ignored: []string{
		"`KmsMasterKeyId`, `KmsDataKeyReusePeriodSeconds` and `SqsManagedSseEnabled` are stored, not used (messages are not encrypted at rest)",
		"`FifoThroughputLimit`/`DeduplicationScope` are accepted; high-throughput FIFO is not a separate mode",
	}},
	"GetQueueUrl":        {Level: Tested, Tests: sqsAll},
	"ListQueues":         {Level: Tested, Tests: []string{"TestSQSGoSDK", "TestSQSCLI"}},
	"DeleteQueue":        {Level: Tested, Tests: []string{"TestSQSGoSDK", "TestSQSCLI"}, Ignored: []string{"`QueueDeletedRecently` (60 s) is remembered by the server that deleted the queue only"}},
	"PurgeQueue":         {Level: Tested, Tests: []string{"TestSQSGoSDK", "TestSQSCLI"}},
	"SendMessage":        {Level: Tested, Tests: sqsAll, Ignored: []string{"`MessageSystemAttributes` (AWSTraceHeader) is accepted and not kept"}},
	"ReceiveMessage":     {Level: Tested, Tests: sqsAll, Ignored: []string{"`ReceiveRequestAttemptId` is ignored", "the `ApproximateNumberOf*` counts are exact"}},
	"DeleteMessage":      {Level: Tested, Tests: []string{"TestSQSGoSDK", "TestSQSBoto3"}},
	"SendMessageBatch":   {Level: Tested, Tests: sqsAll},
	"DeleteMessageBatch": {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"ChangeMessageVisibility": {Level: Tested, Tests: []string{"TestSQSGoSDK"},
		Ignored: []string{"the 12-hour cap on a message's total visibility extensions is not enforced"}},
	"ChangeMessageVisibilityBatch": {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"GetQueueAttributes":           {Level: Tested, Tests: sqsAll},
	"SetQueueAttributes":           {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"TagQueue":                     {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"UntagQueue":                   {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"ListQueueTags":                {Level: Tested, Tests: []string{"TestSQSGoSDK", "TestSQSCLI"}},
	"ListDeadLetterSourceQueues":   {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"StartMessageMoveTask": {Level: Tested, Tests: []string{"TestSQSGoSDK"}, Ignored: []string{
		"`MaxNumberOfMessagesPerSecond` is accepted, not enforced", "a task finishes once the dead-letter queue is empty, waiting for messages in flight",
	}},
	"ListMessageMoveTasks":  {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"CancelMessageMoveTask": {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
	"AddPermission": {Level: Partial, Tests: []string{"TestSQSGoSDK"},
		Ignored: []string{"the statement is stored in the queue's `Policy`; other accounts are not let in (a queue is its account's alone)"}},
	"RemovePermission": {Level: Tested, Tests: []string{"TestSQSGoSDK"}},
}

var sqsAll = []string{"TestSQSGoSDK", "TestSQSCLI", "TestSQSBoto3"}
