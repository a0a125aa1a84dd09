// Command echofn is the test function for internal/fn: a Go Lambda built with aws-lambda-go.
// It echoes its event with an invocation counter, its PID and a random instance id (PIDs repeat
// across sandboxes, each its own PID namespace), and misbehaves on request:
// {"fail":true} returns an error, {"sleepMs":N} sleeps, {"crash":true} exits the process.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Fail    bool `json:"fail"`
	SleepMs int  `json:"sleepMs"`
	Crash   bool `json:"crash"`
}

type reply struct {
	Event    json.RawMessage   `json:"event"`
	Count    int64             `json:"count"`
	PID      int               `json:"pid"`
	Instance string            `json:"instance"`
	Env      map[string]string `json:"env"`
	Handler  string            `json:"handler"`
}

var count atomic.Int64

// instance tells this process apart from any other instance of the function.
var instance = func() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

func handle(ctx context.Context, raw json.RawMessage) (reply, error) {
	n := count.Add(1)
	var ev event
	json.Unmarshal(raw, &ev)
	fmt.Printf("echofn invocation %d pid %d\n", n, os.Getpid())
	if ev.Crash {
		os.Exit(3)
	}
	if ev.SleepMs > 0 {
		time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond)
	}
	if ev.Fail {
		return reply{}, errors.New("echofn: asked to fail")
	}
	env := map[string]string{}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
		"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "LAMBDA_TASK_ROOT", "TZ", "GREETING"} {
		env[k] = os.Getenv(k)
	}
	return reply{Event: raw, Count: n, PID: os.Getpid(), Instance: instance, Env: env, Handler: os.Getenv("_HANDLER")}, nil
}

func main() {
	lambda.Start(handle)
}
