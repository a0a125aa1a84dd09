// Package api is barge's HTTP edge: one handler serving the AWS Batch (restJson1) and CloudWatch
// Logs (awsJson1_1) wire protocols, later Lambda, on one listener. It verifies SigV4 signatures,
// maps the signing credential to an account, decodes requests into the generated shapes, calls
// the domain services and renders results and AWS-style errors. It holds no domain logic.
package api
