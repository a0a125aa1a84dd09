"""pytest plugin for running moto's SQS tests in server mode against barge or moto_server.

Loaded by scripts/moto-sqs/run.sh with `-p barge_moto_plugin`. It stands in for moto's
tests/conftest.py (which run.sh does not extract) and gives barge what moto_server's
`/moto-api/reset` gives moto: a fresh server for every test.

Environment:
  MOTO_SQS_TARGET   "moto" or "barge"
  BARGE_BIN         the barge binary (barge target)
  BARGE_ADDR        host:port barge listens on (barge target)
  BARGE_WORK        a directory for barge's data directories and logs (barge target)
  BARGE_ACCOUNT     the account of the test credentials (default 123456789012, moto's)
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

TARGET = os.environ.get("MOTO_SQS_TARGET", "moto")
ACCOUNT = os.environ.get("BARGE_ACCOUNT", "123456789012")

# moto's mock_aws sets these credentials while a test runs; barge is given the same key for
# moto's default account, so every signed request lands in ACCOUNT.
FAKE_KEY = "FOOBARKEY"
FAKE_SECRET = "FOOBARSECRET"


@pytest.fixture(scope="function")
def account_id():
    """The account of the test credentials (moto's conftest asks STS; barge serves no STS)."""
    if TARGET == "barge":
        yield ACCOUNT
        return
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("sts", "us-east-1").get_caller_identity()["Account"]


class _Barge:
    def __init__(self):
        self.bin = os.environ["BARGE_BIN"]
        self.addr = os.environ["BARGE_ADDR"]
        self.work = os.environ["BARGE_WORK"]
        self.proc = None
        self.n = 0

    def _up(self):
        host, port = self.addr.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=0.2):
                return True
        except OSError:
            return False

    def start(self, name):
        self.n += 1
        data = os.path.join(self.work, "data")
        shutil.rmtree(data, ignore_errors=True)
        os.makedirs(data)
        with open(os.path.join(data, "credentials.json"), "w") as f:
            json.dump(
                {
                    "credentials": [
                        {
                            "accessKeyId": FAKE_KEY,
                            "secretAccessKey": FAKE_SECRET,
                            "accountId": ACCOUNT,
                        }
                    ]
                },
                f,
            )
        os.chmod(os.path.join(data, "credentials.json"), 0o600)
        log = open(os.path.join(self.work, "barge.log"), "a")
        log.write(f"\n===== {name}\n")
        log.flush()
        self.proc = subprocess.Popen(
            [
                self.bin,
                "server",
                "--addr",
                self.addr,
                "--data-dir",
                data,
                "--region",
                "us-east-1",
                "--isolation",
                "none",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while not self._up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"barge exited ({self.proc.returncode}); see {self.work}/barge.log")
            if time.monotonic() > deadline:
                raise RuntimeError("barge did not start within 30s")
            time.sleep(0.02)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        # The port must be free before the next test's server binds it.
        deadline = time.monotonic() + 10
        while self._up() and time.monotonic() < deadline:
            time.sleep(0.02)


_barge = _Barge() if TARGET == "barge" else None


@pytest.fixture(autouse=True)
def _fresh_server(request):
    """barge: a new server on an empty data directory for each test (moto_server is reset by
    moto's own mock_aws through /moto-api/reset)."""
    if _barge is None:
        yield
        return
    _barge.start(request.node.nodeid)
    try:
        yield
    finally:
        _barge.stop()


def pytest_unconfigure(config):
    if _barge is not None:
        _barge.stop()
