#!/bin/bash
# short-jobs.sh BIN PORT: one barge binary's short-job measurements (issue 18), one line each:
# 2-slot and 32-slot efficiency of 50 ms jobs (sandboxed and --isolation none, with the attempt
# phases from /metrics), trivial jobs end to end, and the executor-alone floors. Run it for each
# binary in turn (A B A B) on a quiet machine; docs/benchmarks.md "Short jobs at the floor".
# Each line also gives this machine's CPU per job (every process, the kernel included): on 2
# busy cores throughput is that budget, so it compares runs even as the machine's speed drifts.
BIN=$1; PORT=$2; T=$(basename $BIN)
srv() { # ISO -> starts server, sets SP D
  D=$(mktemp -d ${TMPDIR:-/tmp}/barge-bench.XXXX)
  $BIN server --data-dir $D --addr 127.0.0.1:$PORT --isolation $1 --log-level warn >$D.log 2>&1 &
  SP=$!
  for i in $(seq 200); do [ -s $D/credentials.json ] && curl -s -o /dev/null http://127.0.0.1:$PORT/metrics && break; sleep 0.1; done
}
stop() { kill -TERM $SP; wait $SP 2>/dev/null; rm -rf $D $D.log; }
phases() { curl -s http://127.0.0.1:$PORT/metrics | awk '/^barge_attempt_phase_seconds_(sum|count)/ {match($0,/phase="[a-z]+"/); p=substr($0,RSTART+7,RLENGTH-8); if ($0 ~ /_sum/) s[p]=$NF; else c[p]=$NF} END {for (p in s) if (c[p]>0) printf "%s=%.2f ", p, 1000*s[p]/c[p]}'; }
eff() { $BIN bench --only efficiency --endpoint http://127.0.0.1:$PORT --data-dir $D --array-slots $1 --array-size $2 2>&1 | grep -oE 'efficiency [0-9.]* %|CPU per child: [0-9.]* ms' | tr '\n' ' '; }
echo "$T load=$(cut -d' ' -f1 /proc/loadavg) $(date -u +%T)"
srv auto
echo "$T sandbox eff2: $(eff 2 100) | $(phases)"
echo "$T sandbox eff32: $(eff 32 1000)"
echo "$T sandbox e2e: $($BIN bench --only e2e --jobs 600 --endpoint http://127.0.0.1:$PORT --data-dir $D 2>&1 | grep -iE 'jobs/s|end|CPU' | head -3 | tr '\n' ' ')"
stop
srv none
echo "$T none eff2: $(eff 2 100) | $(phases)"
stop
echo "$T floor2: $($BIN bench --only floor --array-slots 2 --array-size 100 --jobs 600 2>&1 | grep -E '^  ' | tr -s ' ' | tr '\n' ';')"
echo "$T floor32: $($BIN bench --only floor --array-slots 32 --array-size 1000 --jobs 600 2>&1 | grep -E 'sleep' | tr -s ' ' | tr '\n' ';')"
