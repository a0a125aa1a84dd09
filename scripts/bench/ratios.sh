#!/bin/bash
# ratios.sh BIN PORT [PAIRS]: issue 18's three short-job targets as ratios, each measured in PAIRS
# pairs that alternate barge and its executor alone (A B A B), so that the machine's drift
# between minutes falls on both sides of each ratio; prints every pair and the medians.
#   eff2:  200-child array of `sleep 0.05` on 2 slots, efficiency (target >= 90 %, absolute)
#   eff32: 1000-child array of `sleep 0.05` on 32 slots, barge / floor (target >= 0.95)
#   true:  600 trivial jobs end to end, jobs/s, barge / floor (target >= 0.8)
# Each barge measurement runs on a fresh server (sandboxed, the default isolation).
BIN=$1; PORT=$2; PAIRS=${3:-3}
srv() {
	D=$(mktemp -d ${TMPDIR:-/tmp}/barge-ratios.XXXX)
	$BIN server --data-dir $D --addr 127.0.0.1:$PORT --log-level warn >$D.log 2>&1 &
	SP=$!
	for i in $(seq 200); do [ -s $D/credentials.json ] && curl -s -o /dev/null http://127.0.0.1:$PORT/metrics && break; sleep 0.1; done
}
stop() { kill -TERM $SP; wait $SP 2>/dev/null; rm -rf $D $D.log; }
ep() { echo "--endpoint http://127.0.0.1:$PORT --data-dir $D"; }
eff() { # SLOTS SIZE -> efficiency % through barge
	srv
	$BIN bench --only efficiency $(ep) --array-slots $1 --array-size 10 >/dev/null 2>&1
	$BIN bench --only efficiency $(ep) --array-slots $1 --array-size $2 2>&1 | grep -oE 'efficiency [0-9.]+' | grep -oE '[0-9.]+$'
	stop
}
floor_sleep() { # SLOTS SIZE -> the sandboxed executor's efficiency %
	$BIN bench --only floor --array-slots $1 --array-size $2 --jobs 10 2>&1 | grep -E '^ *sandbox +sleep' | grep -oE 'efficiency [0-9.]+' | grep -oE '[0-9.]+$'
}
e2e() { # -> trivial jobs/s through barge
	srv
	$BIN bench --only e2e --jobs 600 $(ep) 2>&1 | awk '/^end-to-end/ && $6 ~ /^[0-9]+$/ {print $6; exit}'
	stop
}
floor_true() { # -> sandboxed `true` per second, 2 at a time
	$BIN bench --only floor --array-slots 2 --array-size 2 --jobs 600 2>&1 | grep -E '^ *sandbox +true' | grep -oE '[0-9]+/s' | tr -d '/s'
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
r2=(); r32=(); rt=()
echo "$(basename $BIN) load=$(cut -d' ' -f1 /proc/loadavg) $(date -u +%T), $PAIRS pairs"
for p in $(seq $PAIRS); do
	a=$(eff 2 200); b=$(floor_sleep 2 200)
	c=$(eff 32 1000); d=$(floor_sleep 32 1000)
	e=$(e2e); f=$(floor_true)
	x32=$(echo "scale=3; $c/$d" | bc); xt=$(echo "scale=3; $e/$f" | bc)
	r2+=($a); r32+=($x32); rt+=($xt)
	echo "pair $p $(date -u +%T): 2 slots $a % (floor $b %) | 32 slots $c % / $d % = $x32 | trivial $e / $f jobs/s = $xt"
done
echo "medians: 2 slots $(printf '%s\n' "${r2[@]}" | median) % | 32 slots $(printf '%s\n' "${r32[@]}" | median) of the floor | trivial $(printf '%s\n' "${rt[@]}" | median) of the floor"
