#!/usr/bin/env bash
# Runs moto's own SQS test suite (tests/test_sqs of getmoto/moto) in moto's server mode, once
# against moto_server and once against barge, and compares the results (docs/sqs.md, "moto's
# SQS suite"). moto's tests are not part of barge: they are read at run time from a git
# checkout or bare clone of getmoto/moto, at the tag of the installed moto.
#
#   scripts/moto-sqs/run.sh [pytest args, e.g. -k fifo]
#
# Environment:
#   MOTO_GIT_DIR  git dir of getmoto/moto (default /work/.mirror/getmoto+moto/repo, else
#                 ./.moto-git if present). Without one the script says so and exits 2.
#   MOTO_REF      the commit or tag to read the tests from (default: the installed moto's version)
#   PYTHON        a python with moto (server extras: flask), boto3 (default python3); pytest and
#                 freezegun come from it or, if it lacks them, from Debian's python3-pytest and
#                 python3-freezegun (/usr/lib/python3/dist-packages)
#   BARGE_BIN     a built barge (default: go build ./cmd/barge into the work dir)
#   PORT          the port both servers take in turn (default 5000 if free: moto's tests expect
#                 queue URLs at http://localhost:5000 in server mode; else a free one)
#   WORK          work directory (default a new temporary one; kept, its path is printed)
#   TARGETS       "moto barge" (default), or one of them
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
PYTHON=${PYTHON:-python3}
TARGETS=${TARGETS:-moto barge}
WORK=${WORK:-$(mktemp -d /tmp/moto-sqs.XXXXXX)}
mkdir -p "$WORK"
echo "work dir: $WORK"

# --- moto's tests, at the installed moto's version -------------------------------------------
if [[ -z "${MOTO_GIT_DIR:-}" ]]; then
	for d in /work/.mirror/getmoto+moto/repo "$repo/.moto-git"; do
		if [[ -d "$d" ]]; then MOTO_GIT_DIR=$d; break; fi
	done
fi
if [[ -z "${MOTO_GIT_DIR:-}" ]] || ! git --git-dir="$MOTO_GIT_DIR" rev-parse -q --verify HEAD >/dev/null; then
	echo "no git dir of getmoto/moto: set MOTO_GIT_DIR to a clone of https://github.com/getmoto/moto" >&2
	exit 2
fi
moto_version=$("$PYTHON" -c 'import moto; print(moto.__version__)')
MOTO_REF=${MOTO_REF:-$moto_version}
if ! commit=$(git --git-dir="$MOTO_GIT_DIR" rev-parse -q --verify "$MOTO_REF^{commit}"); then
	echo "moto $moto_version is installed but $MOTO_GIT_DIR has no ref $MOTO_REF; set MOTO_REF" >&2
	exit 2
fi
echo "moto $moto_version installed; tests from $MOTO_REF ($commit)"
tests=$WORK/moto-tests
rm -rf "$tests"
mkdir -p "$tests/tests/test_sqs"
for f in tests/__init__.py tests/markers.py; do
	git --git-dir="$MOTO_GIT_DIR" show "$commit:$f" >"$tests/$f"
done
for f in $(git --git-dir="$MOTO_GIT_DIR" ls-tree --name-only "$commit" tests/test_sqs/); do
	git --git-dir="$MOTO_GIT_DIR" show "$commit:$f" >"$tests/$f"
done
# Not run: test_server.py drives moto's Flask app in-process (it never reaches the endpoint, so it
# would pass for barge without testing it); test_sqs_integration.py runs Lambda functions in
# Docker through moto's Lambda and needs moto's Lambda test helpers.
ignore=(--ignore=tests/test_sqs/test_server.py --ignore=tests/test_sqs/test_sqs_integration.py)

# --- pytest and freezegun for $PYTHON ---------------------------------------------------------
pydeps=$WORK/pydeps
mkdir -p "$pydeps"
for m in pytest _pytest pluggy iniconfig packaging py freezegun; do
	if ! "$PYTHON" -c "import $m" 2>/dev/null; then
		for p in /usr/lib/python3/dist-packages/$m /usr/lib/python3/dist-packages/$m.py; do
			[[ -e "$p" ]] && ln -sfn "$p" "$pydeps/"
		done
	fi
done
export PYTHONDONTWRITEBYTECODE=1 # nothing written beside the plugin in the checkout
export PYTHONPATH=$here:$tests:$pydeps${PYTHONPATH:+:$PYTHONPATH}
if ! "$PYTHON" -c 'import pytest, freezegun' 2>/dev/null; then
	echo "$PYTHON has no pytest/freezegun: apt-get install python3-pytest python3-freezegun" >&2
	exit 2
fi

# --- barge ------------------------------------------------------------------------------------
if [[ " $TARGETS " == *" barge "* && -z "${BARGE_BIN:-}" ]]; then
	echo "building barge"
	(cd "$repo" && nice -n 10 go build -o "$WORK/barge" ./cmd/barge)
	BARGE_BIN=$WORK/barge
fi

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_busy() { "$PYTHON" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$1))!=0)"; }
if [[ -z "${PORT:-}" ]]; then
	if port_busy 5000; then PORT=$(free_port); echo "port 5000 is taken: the tests that expect http://localhost:5000 URLs fail on both"; else PORT=5000; fi
fi
endpoint=http://localhost:$PORT

export TEST_SERVER_MODE=true TEST_SERVER_MODE_ENDPOINT=$endpoint
export AWS_ACCESS_KEY_ID=FOOBARKEY AWS_SECRET_ACCESS_KEY=FOOBARSECRET AWS_DEFAULT_REGION=us-east-1
unset AWS_ENDPOINT_URL AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION || true

run_pytest() { # target
	(cd "$tests" && MOTO_SQS_TARGET=$1 "$PYTHON" -m pytest -p barge_moto_plugin -p no:cacheprovider \
		-q -rN --tb=short "${ignore[@]}" --junitxml="$WORK/$1.xml" tests/test_sqs "${@:2}" \
		>"$WORK/$1.out" 2>&1) || true
	tail -n 1 "$WORK/$1.out"
}

moto_pid=
cleanup() { [[ -n "$moto_pid" ]] && kill "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT

for target in $TARGETS; do
	case $target in
	moto)
		echo "== moto_server on $endpoint"
		"$PYTHON" -m moto.server -H 127.0.0.1 -p "$PORT" >"$WORK/moto_server.log" 2>&1 &
		moto_pid=$!
		for _ in $(seq 200); do port_busy "$PORT" && break; sleep 0.1; done
		run_pytest moto "$@"
		kill "$moto_pid"; wait "$moto_pid" 2>/dev/null || true; moto_pid=
		;;
	barge)
		echo "== barge on $endpoint (a fresh server and data directory for each test)"
		MOTO_CALL_RESET_API=false BARGE_BIN=$BARGE_BIN BARGE_ADDR=127.0.0.1:$PORT BARGE_WORK=$WORK/barge-run \
			run_pytest barge "$@"
		;;
	esac
done

# --- comparison -------------------------------------------------------------------------------
"$PYTHON" - "$WORK" $TARGETS <<'EOF'
import os, sys, xml.etree.ElementTree as ET
work, targets = sys.argv[1], sys.argv[2:]
res = {}
for t in targets:
    path = os.path.join(work, t + ".xml")
    r = {}
    if os.path.exists(path):
        for tc in ET.parse(path).iter("testcase"):
            name = tc.get("classname", "") + "::" + tc.get("name", "")
            kinds = {c.tag for c in tc}
            r[name] = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
    res[t] = r
print()
for t in targets:
    r = res[t]
    c = {k: sum(1 for v in r.values() if v == k) for k in ("passed", "failed", "skipped")}
    label = "moto_server" if t == "moto" else t
    print(f"{label}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
if "moto" in res and "barge" in res:
    only = sorted(n for n, v in res["barge"].items() if v == "failed" and res["moto"].get(n) == "passed")
    print(f"\nfailing on barge, passing on moto_server ({len(only)}):")
    for n in only:
        print("  " + n)
    rev = sorted(n for n, v in res["moto"].items() if v == "failed" and res["barge"].get(n) == "passed")
    print(f"\npassing on barge, failing on moto_server ({len(rev)}):")
    for n in rev:
        print("  " + n)
EOF
echo "details: $WORK/{moto,barge}.out"
