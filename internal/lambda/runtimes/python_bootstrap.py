#!/usr/bin/env python3
# barge's runtime interface client for Python functions: the loop AWS's Python runtime runs,
# speaking the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API and calling the handler named by
# $_HANDLER ("module.function", the module found in $LAMBDA_TASK_ROOT).
import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

BASE = "http://%s/2018-06-01/runtime" % os.environ["AWS_LAMBDA_RUNTIME_API"]


def post(path, body, error_type=None):
    headers = {"Content-Type": "application/json"}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    req = urllib.request.Request(BASE + path, data=body, method="POST", headers=headers)
    urllib.request.urlopen(req).read()


def error_doc(exc, request_id=None):
    doc = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }
    if request_id:
        doc["requestId"] = request_id
    return json.dumps(doc).encode()


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = None
        self.identity = None

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def main():
    # Output is a pipe to the log stream: flush every line, as Lambda's runtime does.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "."))
    try:
        module_name, function_name = os.environ["_HANDLER"].rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    except Exception as exc:  # import errors are the function's init error
        post("/init/error", error_doc(exc), "Runtime.ImportModuleError")
        sys.exit(1)
    while True:
        with urllib.request.urlopen(BASE + "/invocation/next") as resp:
            headers = dict(resp.headers)
            event = json.loads(resp.read() or b"null")
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        try:
            result = handler(event, Context(headers))
            body = json.dumps(result).encode()
        except Exception as exc:
            traceback.print_exc()
            post("/invocation/%s/error" % request_id, error_doc(exc, request_id), "Runtime.UnhandledException")
            continue
        post("/invocation/%s/response" % request_id, body)


if __name__ == "__main__":
    main()
