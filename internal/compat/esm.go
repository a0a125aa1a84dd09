package compat

import "maps"

// esmNotes are the event source mapping operations of the Lambda part of Notes (package esm).
// TestESM drives them through aws-sdk-go-v2 against Python functions, TestESMBoto3 through
// boto3 (a FIFO queue in group order), TestESMCLI through the AWS CLI.
var esmNotes = map[string]Note{
	"CreateEventSourceMapping": {Level: Tested, Tests: esmAll, Ignored: []string{
		"sources are barge's SQS queues only (standard and FIFO); `StartingPosition` is refused; the stream, Kafka, MQ and DocumentDB members (`ParallelizationFactor`, `BisectBatchOnFunctionError`, `MaximumRetryAttempts`, `MaximumRecordAgeInSeconds`, `TumblingWindowInSeconds`, `DestinationConfig`, `Topics`, `Queues`, `SourceAccessConfigurations`, `SelfManagedEventSource`, `*KafkaEventSourceConfig`, `DocumentDBEventSourceConfig`) are ignored",
		"`KMSKeyArn`, `MetricsConfig`, `LoggingConfig`, `ProvisionedPollerConfig` and `Tags` are accepted and not used",
		"without `ScalingConfig` a mapping runs at most 10 pollers (Lambda scales SQS pollers much further)",
		"filter patterns may use every EventBridge operator (Lambda accepts fewer) and may name record keys other than `body`",
	}},
	"GetEventSourceMapping":    {Level: Tested, Tests: esmAll},
	"UpdateEventSourceMapping": {Level: Tested, Tests: esmAll, Ignored: []string{"refused with `ResourceInUseException` while the mapping is in a transitional state"}},
	"DeleteEventSourceMapping": {Level: Tested, Tests: esmAll},
	"ListEventSourceMappings":  {Level: Tested, Tests: esmAll},
}

var esmAll = []string{"TestESM", "TestESMBoto3", "TestESMCLI"}

func init() { maps.Copy(Notes["lambda"], esmNotes) }
