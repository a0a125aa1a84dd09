#!/usr/bin/env python3
# barge's runtime interface client for Python functions: the loop AWS's Python runtime runs,
# speaking the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API and calling the handler named by
# $_HANDLER ("module.function", the module found in $LAMBDA_TASK_ROOT). It behaves as Lambda's
# runtime does where a function can tell: the root logger's handler and format, context.log,
# Decimal results, and the error types of import, handler and marshalling failures.
import decimal
import importlib
import json
import logging
import os
import sys
import time
import traceback
import urllib.request

BASE = "http://%s/2018-06-01/runtime" % os.environ["AWS_LAMBDA_RUNTIME_API"]
JSON_LOGS = os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"

# The invocation in progress, for the request id in log lines.
current_request_id = None


def post(path, body, error_type=None):
    headers = {"Content-Type": "application/json"}
    if error_type:
        headers["Lambda-Runtime-Function-Error-Type"] = error_type
    req = urllib.request.Request(BASE + path, data=body, method="POST", headers=headers)
    urllib.request.urlopen(req).read()


def error_doc(error_type, message, stack=None, request_id=None):
    doc = {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}
    if request_id:
        doc["requestId"] = request_id
    return json.dumps(doc).encode()


def stack_of(exc):
    return traceback.format_list(traceback.extract_tb(exc.__traceback__))


def iso_time(created):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + ".%03dZ" % (int(created * 1000) % 1000)


class LambdaFormatter(logging.Formatter):
    """Lambda's log line: "[LEVEL]\\t<time>\\t<request id>\\t<message>", or a JSON object."""

    def format(self, record):
        message = record.getMessage()
        if JSON_LOGS:
            doc = {"timestamp": iso_time(record.created), "level": record.levelname, "message": message,
                   "logger": record.name, "requestId": current_request_id or ""}
            if record.exc_info:
                exc = record.exc_info[1]
                doc.update(errorType=type(exc).__name__, errorMessage=str(exc), stackTrace=stack_of(exc))
            return json.dumps(doc, default=str)
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        # One record is one log event: barge, like Lambda, ends an event at "\n".
        return "[%s]\t%s\t%s\t%s" % (record.levelname, iso_time(record.created), current_request_id or "", message.replace("\n", "\r"))


def install_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LambdaFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}.get(level, level)
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        root.setLevel(level)
    elif JSON_LOGS:
        root.setLevel(logging.INFO)


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
        self.client_context = json_header(headers, "Lambda-Runtime-Client-Context")
        self.identity = json_header(headers, "Lambda-Runtime-Cognito-Identity")

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg):
        sys.stdout.write(str(msg))
        sys.stdout.flush()


def json_header(headers, name):
    value = headers.get(name)
    try:
        return json.loads(value) if value else None
    except ValueError:
        return None


class ResultEncoder(json.JSONEncoder):
    """Lambda writes a Decimal as a JSON number."""

    def default(self, o):
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


class InitError(Exception):
    def __init__(self, error_type, message, stack=None):
        super().__init__(message)
        self.error_type, self.stack = error_type, stack or []


def load_handler():
    spec = os.environ.get("_HANDLER", "")
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise InitError("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (spec, exc))
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, exc))
    except SyntaxError as exc:
        raise InitError("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, exc))
    except Exception as exc:
        raise InitError(type(exc).__name__, str(exc), stack_of(exc))
    handler = getattr(module, function_name, None)
    if handler is None:
        raise InitError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (function_name, module_name))
    return handler


def patch_botocore(session_module):
    """botocore before 1.31 ignores AWS_ENDPOINT_URL: give its clients barge's endpoint."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    version = tuple(int(p) for p in sys.modules["botocore"].__version__.split(".")[:2] if p.isdigit())
    if not endpoint or version >= (1, 31):
        return
    create = session_module.Session.create_client

    def create_client(self, *args, **kwargs):
        if len(args) < 5 and kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = endpoint
        return create(self, *args, **kwargs)

    session_module.Session.create_client = create_client


class BotocoreHook:
    """Patches botocore.session as it is imported, whenever the function imports it."""

    def find_spec(self, name, path, target=None):
        if name != "botocore.session":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                run = spec.loader.exec_module

                def exec_module(module):
                    run(module)
                    patch_botocore(module)

                spec.loader.exec_module = exec_module
                return spec
        return None


def log_error(error_type, message, stack, request_id):
    """Logs a failure as Lambda does: one event, text or JSON."""
    if JSON_LOGS:
        print(json.dumps({"timestamp": iso_time(time.time()), "level": "ERROR", "message": message, "errorType": error_type,
                          "errorMessage": message, "stackTrace": stack, "requestId": request_id or ""}))
        return
    text = "[ERROR] %s: %s" % (error_type, message)
    if stack:
        text += "\nTraceback (most recent call last):\n" + "".join(stack)
    print(text.rstrip("\n").replace("\n", "\r"))


def report_error(request_id, exc):
    error_type, stack = type(exc).__name__, stack_of(exc)
    log_error(error_type, str(exc), stack, request_id)
    post("/invocation/%s/error" % request_id, error_doc(error_type, str(exc), stack, request_id), "Runtime.UnhandledException")


def main():
    global current_request_id
    # Output is a pipe to the log stream: flush every line, as Lambda's runtime does.
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "."))
    # Layers, where Lambda's runtime looks for them: after the function's own code.
    opt = os.environ.get("BARGE_OPT_DIR", "/opt")
    version = "python%d.%d" % sys.version_info[:2]
    sys.path[1:1] = [os.path.join(opt, "python", "lib", version, "site-packages"), os.path.join(opt, "python")]
    # boto3 as Lambda's runtime has it: barge's copy (barge runtime install python-boto3), after
    # the function's own code and before the host's packages.
    sdk = os.path.join(os.environ.get("BARGE_PYTHON_SDK", "/usr/local/lib/barge/python"), "usr/lib/python3/dist-packages")
    if os.path.isdir(sdk):
        sys.path.insert(3, sdk)
    install_logging()
    if os.environ.get("AWS_ENDPOINT_URL"):
        sys.meta_path.insert(0, BotocoreHook())
    try:
        handler = load_handler()
    except InitError as exc:
        log_error(exc.error_type, str(exc), exc.stack, None)
        post("/init/error", error_doc(exc.error_type, str(exc), exc.stack), exc.error_type)
        sys.exit(1)
    while True:
        with urllib.request.urlopen(BASE + "/invocation/next") as resp:
            headers = dict(resp.headers)
            event = json.loads(resp.read() or b"null")
        request_id = current_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        if headers.get("Lambda-Runtime-Trace-Id"):
            os.environ["_X_AMZN_TRACE_ID"] = headers["Lambda-Runtime-Trace-Id"]
        try:
            result = handler(event, Context(headers))
        except Exception as exc:
            report_error(request_id, exc)
            continue
        try:
            body = json.dumps(result, cls=ResultEncoder, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            message = "Unable to marshal response: %s" % exc
            log_error("Runtime.MarshalError", message, [], request_id)
            post("/invocation/%s/error" % request_id, error_doc("Runtime.MarshalError", message, [], request_id), "Runtime.MarshalError")
            continue
        post("/invocation/%s/response" % request_id, body)


if __name__ == "__main__":
    main()
