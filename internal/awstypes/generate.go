package awstypes

// The models live outside the module in the shared checkout; paths are relative to this
// directory, where go generate runs these commands.

//go:generate go run ./gen -model ../../../shared/aws-models/batch.service-2.json -pkg batch -out batch/zz_generated.go
//go:generate go run ./gen -model ../../../shared/aws-models/logs.service-2.json -pkg logs -out logs/zz_generated.go
//go:generate go run ./gen -model ../../../shared/aws-models/lambda.service-2.json -pkg lambda -out lambda/zz_generated.go
//go:generate go run ./gen -model ../../../shared/aws-models/sqs.service-2.json -pkg sqs -out sqs/zz_generated.go
//go:generate go run ./gen -model ../../../shared/aws-models/scheduler.service-2.json -pkg scheduler -out scheduler/zz_generated.go
//go:generate go run ./gen -model ../../../shared/aws-models/events.service-2.json -pkg events -out events/zz_generated.go
//go:generate go run ./gen -model ../../../shared/aws-models/stepfunctions.service-2.json -pkg sfn -out sfn/zz_generated.go
