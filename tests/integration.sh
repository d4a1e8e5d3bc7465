#!/usr/bin/env bash
# tests/integration.sh - prex-relay against the real servers Debian ships:
# prometheus-pushgateway, prometheus-node-exporter (live source and textfile
# collector) and promtool, all on 127.0.0.1 ports chosen at start.
#
# The script starts the servers itself (the Pushgateway in memory only,
# --persistence.file= empty; a second one behind TLS and basic
# authentication), waits for them with bounded timeouts, and
# stops them by PID on exit (trap). A tiny Perl listener that accepts
# connections and never answers stands in for an exporter that hangs.
# Every check prints one line ("ok   NAME" or "FAIL NAME: why"); the last
# line is "N passed, N failed"; the exit status is non-zero when a check
# failed (2 when the servers cannot be started).
#
#   tests/integration.sh            run every check
#   PREX_RELAY=path tests/integration.sh   test another relay binary
#   KEEP_TMP=1 tests/integration.sh leave the work directory for a look
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2

relay=${PREX_RELAY:-./out/prex-relay}
if [ ! -x "$relay" ]; then
    ninja out/prex-relay >/dev/null || exit 2
fi
for cmd in prometheus-pushgateway prometheus-node-exporter promtool perl curl openssl; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "integration: $cmd is missing (scripts/deps --all installs it)" >&2
        exit 2
    fi
done

tmp=$(mktemp -d)
pids=()

# cleanup: stops every server this script started (by PID, TERM then KILL
# after 3 s) and removes the work directory.
cleanup() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        for i in $(seq 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ -n "${KEEP_TMP:-}" ]; then
        echo "integration: work directory kept: $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0

# ok NAME [DETAIL] / fail NAME WHY: one line per check.
ok() {
    passed=$((passed + 1))
    echo "ok   $1${2:+ ($2)}"
}
fail() {
    failed=$((failed + 1))
    echo "FAIL $1: $2"
}

# free_port: a TCP port nothing listens on now (bound to 0, then closed).
free_port() {
    perl -MIO::Socket::INET -e \
        'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                       Listen => 1) or die "$!\n";
         print $s->sockport, "\n";'
}

# wait_http URL SECONDS [CURL-OPTION]...: polls URL until it answers 200,
# at most SECONDS.
wait_http() {
    local url=$1 deadline=$((SECONDS + $2))
    shift 2
    while [ $SECONDS -lt "$deadline" ]; do
        if curl -fsS -o /dev/null --max-time 1 "$@" "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# now_ms: milliseconds since the epoch.
now_ms() {
    date +%s%3N
}

# MARK: the servers

pgw_port=$(free_port)
ne_port=$(free_port)
hang_port=$(free_port)
closed_port=$(free_port)
pgw=http://127.0.0.1:$pgw_port
ne=http://127.0.0.1:$ne_port/metrics
textdir=$tmp/textfile
mkdir -p "$textdir"

prometheus-pushgateway --web.listen-address="127.0.0.1:$pgw_port" --persistence.file= \
    >"$tmp/pushgateway.log" 2>&1 &
pids+=($!)
prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" \
    --collector.textfile.directory="$textdir" >"$tmp/node_exporter.log" 2>&1 &
pids+=($!)
# An exporter that accepts connections and never answers.
perl -MIO::Socket::INET -e \
    'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0],
                                   Listen => 16, ReuseAddr => 1) or die "$!\n";
     my @held; while (my $c = $s->accept) { push @held, $c }' "$hang_port" &
pids+=($!)

# An exporter that serves OpenMetrics (none of the Debian servers does by
# default): answers every request with this file and its content type.
om_port=$(free_port)
cat >"$tmp/exporter.om" <<'OM'
# HELP om_requests Requests handled.
# TYPE om_requests counter
om_requests_total{path="/a"} 1027 # {trace_id="abc"} 1 1700000000.5
om_requests_created{path="/a"} 1700000000
# TYPE om_build info
om_build_info{version="1.2.3"} 1
# TYPE om_temperature_celsius gauge
# UNIT om_temperature_celsius celsius
om_temperature_celsius 21.5
# TYPE om_latency_seconds histogram
om_latency_seconds_bucket{le="0.1"} 3
om_latency_seconds_bucket{le="1"} 5
om_latency_seconds_bucket{le="+Inf"} 6
om_latency_seconds_sum 4.25
om_latency_seconds_count 6
# EOF
OM
perl -MIO::Socket::INET -e \
    'my ($port, $file) = @ARGV;
     open my $f, "<", $file or die "$!\n"; my $body = do { local $/; <$f> }; close $f;
     my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $port,
                                   Listen => 16, ReuseAddr => 1) or die "$!\n";
     while (my $c = $s->accept) {
         while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
         print $c "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; " .
                  "version=1.0.0; charset=utf-8\r\nContent-Length: " . length($body) .
                  "\r\nConnection: close\r\n\r\n" . $body;
         close $c;
     }' "$om_port" "$tmp/exporter.om" &
pids+=($!)

if ! wait_http "$pgw/-/ready" 15; then
    echo "integration: the Pushgateway did not start; its log:" >&2
    cat "$tmp/pushgateway.log" >&2
    exit 2
fi
if ! wait_http "$ne" 15; then
    echo "integration: node_exporter did not start; its log:" >&2
    cat "$tmp/node_exporter.log" >&2
    exit 2
fi
echo "integration: Pushgateway $pgw, node_exporter $ne, silent listener 127.0.0.1:$hang_port"

# MARK: helpers for the checks

# The series comparator: every series of EXPECTED (a text exposition),
# with the --set labels set and empty labels dropped, must be in ACTUAL
# with the same value (numerically; NaN equals NaN). le and quantile
# values are compared as numbers. Families named with --ignore are
# skipped. Prints a summary and the first problems.
cat >"$tmp/cmp.pl" <<'PERL'
use strict;
use warnings;

my (%set, %ignore, @files);
while (@ARGV) {
    my $a = shift @ARGV;
    if ($a eq '--set') { my ($k, $v) = split /=/, shift(@ARGV), 2; $set{$k} = $v; }
    elsif ($a eq '--ignore') { $ignore{shift @ARGV} = 1; }
    else { push @files, $a; }
}
die "usage: cmp.pl [--set N=V]... [--ignore NAME]... EXPECTED ACTUAL\n" unless @files == 2;

sub num_label {
    my $v = shift;
    return $v if $v =~ /^[+-]?inf$/i || $v !~ /^[-+0-9.eE]+$/;
    return sprintf('%.17g', $v);
}

sub parse {
    my ($path, $apply) = @_;
    my %h;
    open my $f, '<', $path or die "$path: $!\n";
    while (my $l = <$f>) {
        chomp $l;
        next if $l =~ /^\s*(#|$)/;
        $l =~ /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/gc or die "$path: bad line: $l\n";
        my $name = $1;
        my %lab;
        if ($l =~ /\G\{/gc) {
            while ($l =~ /\G\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gc) {
                $lab{$1} = $2;
            }
            $l =~ /\G\s*\}/gc or die "$path: bad labels: $l\n";
        }
        $l =~ /\G\s+(\S+)/gc or die "$path: no value: $l\n";
        my $value = $1;
        next if $ignore{$name};
        if ($apply) { $lab{$_} = $set{$_} for keys %set; }
        for my $k (keys %lab) { delete $lab{$k} if $lab{$k} eq ''; }
        $lab{le} = num_label($lab{le}) if exists $lab{le};
        $lab{quantile} = num_label($lab{quantile}) if exists $lab{quantile};
        my $key = $name . '{' . join(',', map { "$_=\"$lab{$_}\"" } sort keys %lab) . '}';
        $h{$key} = $value;
    }
    return \%h;
}

sub same {
    my ($a, $b) = @_;
    return 1 if lc($a) eq 'nan' && lc($b) eq 'nan';
    return 0 if lc($a) eq 'nan' || lc($b) eq 'nan';
    no warnings 'numeric';
    return $a + 0 == $b + 0;
}

my $want = parse($files[0], 1);
my $got = parse($files[1], 0);
my (@missing, @differ);
for my $k (sort keys %$want) {
    if (!exists $got->{$k}) { push @missing, $k; }
    elsif (!same($want->{$k}, $got->{$k})) { push @differ, "$k: $want->{$k} != $got->{$k}"; }
}
my $n = scalar keys %$want;
print "$n series, ", scalar(@missing), " missing, ", scalar(@differ), " with another value\n";
print "  missing: $_\n" for @missing[0 .. ($#missing < 4 ? $#missing : 4)];
print "  differ: $_\n" for @differ[0 .. ($#differ < 4 ? $#differ : 4)];
exit(@missing || @differ || $n == 0 ? 1 : 0);
PERL

# compare NAME EXPECTED ACTUAL [cmp.pl options]: runs the comparator;
# ok with its summary, or fail with its report.
compare() {
    local name=$1 want=$2 got=$3 out
    shift 3
    if out=$(perl "$tmp/cmp.pl" "$@" "$want" "$got" 2>&1); then
        ok "$name" "$(head -n 1 <<<"$out")"
    else
        fail "$name" "$(tr '\n' ' ' <<<"$out")"
    fi
}

# pgw_metrics FILE: the Pushgateway's /metrics into FILE.
pgw_metrics() {
    curl -fsS --max-time 5 "$pgw/metrics" >"$1"
}

# group_lines JOB: the lines of the Pushgateway's /metrics that belong to
# the group whose job is JOB (push_time_seconds and friends included).
group_lines() {
    curl -fsS --max-time 5 "$pgw/metrics" | grep -E "[{,]job=\"$1\"[,}]" || true
}

# run_relay OUT ERR ARGS...: runs the relay with a bounded time, stdout to
# OUT and stderr to ERR; sets $rc and $elapsed_ms.
run_relay() {
    local out=$1 err=$2 t0
    shift 2
    t0=$(now_ms)
    timeout 60 "$relay" "$@" >"$out" 2>"$err"
    rc=$?
    elapsed_ms=$(($(now_ms) - t0))
}

# MARK: checks

caps=(corpus/y_capture_prometheus.prom corpus/y_capture_pushgateway.prom)
for f in "${caps[@]}"; do
    [ -f "$f" ] || { echo "integration: $f is missing" >&2; exit 2; }
done

# 1. The relay's stdout passes promtool (exit 3 is promtool's "lint
# warnings only": node_exporter's own names carry some).
"$relay" "$ne" >"$tmp/ne.prom" 2>"$tmp/ne.err"
rc=$?
promtool check metrics <"$tmp/ne.prom" >"$tmp/promtool.out" 2>&1
prc=$?
if [ $rc -eq 0 ] && { [ $prc -eq 0 ] || [ $prc -eq 3 ]; } &&
    ! grep -q "error while linting" "$tmp/promtool.out" && [ -s "$tmp/ne.prom" ]; then
    ok promtool-accepts-stdout "$(grep -vc '^#' "$tmp/ne.prom") samples, promtool exit $prc"
else
    fail promtool-accepts-stdout "relay exit $rc, promtool exit $prc: $(head -c 300 "$tmp/promtool.out")"
fi

# 2. The seed scenario: three exporters (live node_exporter, the
# Prometheus and Pushgateway captures) merged into one push, with the
# source label. The captured Pushgateway holds groups with their own job
# label, which the grouping key would overwrite (duplicates): the rules
# move it to exported_job. The same body also goes to a textfile, which
# is then compared with what the Pushgateway serves.
cat >"$tmp/rules.yml" <<'YAML'
- source_labels: [job]
  target_label: exported_job
- action: labeldrop
  regex: job
YAML
run_relay "$tmp/seed.out" "$tmp/seed.err" --log-level info -s source -r "$tmp/rules.yml" \
    --push "$pgw" --job seed --group host=relay-1 --textfile "$tmp/seed.prom" \
    node="$ne" prometheus="${caps[0]}" pushgateway="${caps[1]}"
if [ $rc -eq 0 ]; then
    ok seed-push "3 sources, one push in ${elapsed_ms} ms"
    pgw_metrics "$tmp/pgw-seed.txt"
    compare seed-all-series-on-pushgateway "$tmp/seed.prom" "$tmp/pgw-seed.txt" \
        --set job=seed --set host=relay-1 --ignore push_time_seconds \
        --ignore push_failure_time_seconds
    # the captures' own values reached the Pushgateway unchanged
    for f in "${caps[@]}"; do
        name=$(basename "$f" .prom)
        name=${name#y_capture_}
        # the job -> exported_job rule, as the relay applied it
        sed -E 's/([{,])job="/\1exported_job="/' "$f" >"$tmp/cap-$name.prom"
        compare "seed-capture-$name-values-intact" "$tmp/cap-$name.prom" "$tmp/pgw-seed.txt" \
            --set job=seed --set host=relay-1 --set source="$name" \
            --ignore push_time_seconds --ignore push_failure_time_seconds
    done
    # the relay's own families: every source up, with its sample count
    ups=$(grep -cE '^prex_source_up\{.*source="(node|prometheus|pushgateway)".*\} 1$' \
        "$tmp/pgw-seed.txt")
    if [ "$ups" -eq 3 ] && grep -q '^prex_last_success_timestamp_seconds{' "$tmp/pgw-seed.txt"; then
        ok seed-relay-own-families "prex_source_up 1 for the 3 sources"
    else
        fail seed-relay-own-families "$ups of 3 prex_source_up series"
    fi
else
    fail seed-push "exit $rc: $(head -c 600 "$tmp/seed.err")"
fi

# 2b. An OpenMetrics scrape (chosen by its Content-Type) is converted to
# text 0.0.4 for the Pushgateway: the counter named after its _total
# sample, _created and the exemplar dropped, info as a gauge.
run_relay /dev/null "$tmp/om.err" --push "$pgw" --job om "http://127.0.0.1:$om_port/metrics"
lines=$(group_lines om)
pgw_metrics "$tmp/pgw-om.txt"
if [ $rc -eq 0 ] &&
    grep -q '^om_requests_total{instance="",job="om",path="/a"} 1027$' <<<"$lines" &&
    ! grep -q 'om_requests_created' <<<"$lines" &&
    grep -q '^om_build_info{instance="",job="om",version="1.2.3"} 1$' <<<"$lines" &&
    grep -q '^om_temperature_celsius{instance="",job="om"} 21.5$' <<<"$lines" &&
    grep -q '^om_latency_seconds_bucket{instance="",job="om",le="1"} 5$' <<<"$lines" &&
    grep -qx '# TYPE om_requests_total counter' "$tmp/pgw-om.txt"; then
    ok openmetrics-scrape-converted
else
    fail openmetrics-scrape-converted "exit $rc; $(head -c 300 "$tmp/om.err"); $(tr '\n' ' ' <<<"$lines" | head -c 400)"
fi

# 2b. A body larger than the relay's render chunk (256 KiB), checked
# and then pushed from memory. The Pushgateway must hold exactly what the
# textfile holds, and the bytes the push sent must equal the textfile's
# size.
gen=./out/prex-gen
[ -x "$gen" ] || ninja out/prex-gen >/dev/null
"$gen" --size 3M --seed 7 >"$tmp/big.prom"
run_relay "$tmp/big.out" "$tmp/big.err" --log-level debug --push "$pgw" --job big \
    --textfile "$tmp/big-out.prom" "$tmp/big.prom"
sent=$(sed -n 's/.*msg=pushed .* bytes=\([0-9]*\).*/\1/p' "$tmp/big.err")
size=$(wc -c <"$tmp/big-out.prom" 2>/dev/null || echo 0)
if [ $rc -eq 0 ] && [ -n "$sent" ] && [ "$sent" -eq "$size" ] && [ "$size" -gt 1000000 ] &&
    ! grep -q "body not held" "$tmp/big.err"; then
    pgw_metrics "$tmp/pgw-big.txt"
    compare large-body-held "$tmp/big-out.prom" "$tmp/pgw-big.txt" --set job=big \
        --ignore push_time_seconds --ignore push_failure_time_seconds
else
    fail large-body-held "exit $rc, sent ${sent:-?} bytes, textfile $size bytes: $(head -c 400 "$tmp/big.err")"
fi
curl -fsS --max-time 5 -X DELETE "$pgw/metrics/job/big" >/dev/null || true

# 2c. A body more than twice as large as its input (a long constant label
# on 60 000 short series) is not held: it is rendered once to be checked
# and again, the same bytes, to be sent, to stdout as to the Pushgateway.
long=$(printf 'v%.0s' $(seq 1 120))
awk 'BEGIN { print "# TYPE wide gauge"; for (i = 0; i < 60000; i++) printf "wide{i=\"%d\"} %d\n", i, i }' \
    >"$tmp/wide.prom"
run_relay "$tmp/wide.out" "$tmp/wide.err" --log-level debug -l "pad=$long" "$tmp/wide.prom"
rc1=$rc
grep -q "body not held" "$tmp/wide.err" && notheld1=1 || notheld1=0
run_relay "$tmp/wide-push.out" "$tmp/wide-push.err" --log-level debug -l "pad=$long" \
    --push "$pgw" --job wide --textfile "$tmp/wide-file.prom" "$tmp/wide.prom"
sent=$(sed -n 's/.*msg=pushed .* bytes=\([0-9]*\).*/\1/p' "$tmp/wide-push.err")
size=$(wc -c <"$tmp/wide-file.prom" 2>/dev/null || echo 0)
if [ $rc1 -eq 0 ] && [ $rc -eq 0 ] && [ $notheld1 -eq 1 ] && grep -q "body not held" "$tmp/wide-push.err" &&
    [ "$(grep -c '^wide{' "$tmp/wide.out")" -eq 60000 ] && [ "$size" -gt 5000000 ] &&
    [ "${sent:-0}" -eq "$size" ]; then
    pgw_metrics "$tmp/pgw-wide.txt"
    compare large-body-rendered-again "$tmp/wide-file.prom" "$tmp/pgw-wide.txt" --set job=wide \
        --ignore push_time_seconds --ignore push_failure_time_seconds
else
    fail large-body-rendered-again "exits $rc1/$rc, not held: $notheld1, sent ${sent:-?} of $size bytes: $(head -c 400 "$tmp/wide-push.err")"
fi
curl -fsS --max-time 5 -X DELETE "$pgw/metrics/job/wide" >/dev/null || true

# 2d. A body the output format cannot express (OpenMetrics: a family
# named like an earlier counter's samples) is refused by the check,
# whether the body is held or, too large to hold, checked in pieces:
# exit 1, the line named, nothing written.
printf '# TYPE zz counter\nzz 1\n# TYPE zz_total gauge\nzz_total 2\n' >"$tmp/clash.prom"
run_relay "$tmp/clash.out" "$tmp/clash.err" -o openmetrics "$tmp/clash.prom"
rc1=$rc
cat "$tmp/wide.prom" "$tmp/clash.prom" >"$tmp/wide-clash.prom"
run_relay "$tmp/wc.out" "$tmp/wc.err" --log-level debug -o openmetrics -l "pad=$long" \
    "$tmp/wide-clash.prom"
if [ $rc1 -eq 1 ] && [ ! -s "$tmp/clash.out" ] && grep -q '^output:3:8: error: sample name clashes' "$tmp/clash.err" &&
    [ $rc -eq 1 ] && [ ! -s "$tmp/wc.out" ] && grep -q "body not held" "$tmp/wc.err" &&
    grep -q '^output:60004:8: error: sample name clashes' "$tmp/wc.err"; then
    ok unexpressible-body-refused "held, and checked in pieces: nothing written"
else
    fail unexpressible-body-refused "exits $rc1/$rc: $(head -c 300 "$tmp/clash.err") $(grep -v level=debug "$tmp/wc.err" | head -c 300)"
fi

# 3. PUT replaces the whole group.
printf '# TYPE put_a gauge\nput_a 1\n' >"$tmp/put_a.prom"
printf '# TYPE put_b gauge\nput_b 2\n' >"$tmp/put_b.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job put "$tmp/put_a.prom"
rc1=$rc
run_relay /dev/null "$tmp/err" --push "$pgw" --job put "$tmp/put_b.prom"
lines=$(group_lines put)
if [ $rc1 -eq 0 ] && [ $rc -eq 0 ] && ! grep -q '^put_a' <<<"$lines" &&
    grep -q '^put_b{instance="",job="put"} 2$' <<<"$lines"; then
    ok put-replaces-group
else
    fail put-replaces-group "exits $rc1/$rc; group: $(tr '\n' ' ' <<<"$lines")"
fi

# 4. POST replaces only the families the body names.
printf '# TYPE fa gauge\nfa{x="1"} 1\nfa{x="2"} 2\n# TYPE fb gauge\nfb 3\n' >"$tmp/post1.prom"
printf '# TYPE fa gauge\nfa{x="3"} 4\n' >"$tmp/post2.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job post "$tmp/post1.prom"
rc1=$rc
run_relay /dev/null "$tmp/err" --push "$pgw" --job post --method post "$tmp/post2.prom"
lines=$(group_lines post)
if [ $rc1 -eq 0 ] && [ $rc -eq 0 ] && grep -q '^fa{instance="",job="post",x="3"} 4$' <<<"$lines" &&
    grep -q '^fb{instance="",job="post"} 3$' <<<"$lines" && ! grep -q 'x="1"' <<<"$lines"; then
    ok post-replaces-families
else
    fail post-replaces-families "exits $rc1/$rc; group: $(tr '\n' ' ' <<<"$lines")"
fi

# 5. DELETE removes the group.
run_relay /dev/null "$tmp/err" --push "$pgw" --job post --delete
lines=$(group_lines post)
if [ $rc -eq 0 ] && [ -z "$lines" ]; then
    ok delete-removes-group
else
    fail delete-removes-group "exit $rc; left: $(tr '\n' ' ' <<<"$lines")"
fi

# 6. Grouping values that need @base64: a '/', an empty value, a blank,
# a '+', a non-ASCII character; sent gzip-compressed.
printf '# TYPE b64 gauge\nb64 7\n' >"$tmp/b64.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job "batch/nightly" --gzip \
    --group path=/var/tmp --group empty= --group blank="a b" --group plus=1+1 \
    --group euro=€ "$tmp/b64.prom"
want='b64{blank="a b",empty="",euro="€",instance="",job="batch/nightly",path="/var/tmp",plus="1+1"} 7'
pgw_metrics "$tmp/pgw-b64.txt"
if [ $rc -eq 0 ] && grep -qxF "$want" "$tmp/pgw-b64.txt"; then
    ok grouping-key-base64-gzip
else
    fail grouping-key-base64-gzip "exit $rc: $(head -c 300 "$tmp/err")"
fi
run_relay /dev/null "$tmp/err" --push "$pgw" --job "batch/nightly" --group path=/var/tmp \
    --group empty= --group blank="a b" --group plus=1+1 --group euro=€ --delete

# 6b. UTF-8 names reach a Pushgateway that takes only legacy names
# escaped: underscores by default, U__ value encoding on request.
printf '# TYPE "app.requests" counter\n{"app.requests","http.method"="GET"} 5\n' >"$tmp/utf8.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job utf8 "$tmp/utf8.prom"
rc1=$rc
run_relay /dev/null "$tmp/err2" --push "$pgw" --job utf8v --name-escaping values "$tmp/utf8.prom"
pgw_metrics "$tmp/pgw-utf8.txt"
if [ $rc1 -eq 0 ] && [ $rc -eq 0 ] &&
    grep -qxF 'app_requests{http_method="GET",instance="",job="utf8"} 5' "$tmp/pgw-utf8.txt" &&
    grep -qxF 'U__app_2e_requests{U__http_2e_method="GET",instance="",job="utf8v"} 5' "$tmp/pgw-utf8.txt"; then
    ok utf8-names-escaped "underscores and values, accepted by the Pushgateway"
else
    fail utf8-names-escaped "exits $rc1/$rc: $(head -c 300 "$tmp/err") $(grep -i app "$tmp/pgw-utf8.txt" | head -3 | tr '\n' ' ')"
fi

# 7. Invalid input: exit 1, nothing sent, the group keeps its content.
printf '# TYPE keep gauge\nkeep 1\n' >"$tmp/keep.prom"
printf '# TYPE bad gauge\nbad{a="x\\t"} 1\n' >"$tmp/bad.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job untouched "$tmp/keep.prom"
before=$(group_lines untouched)
run_relay /dev/null "$tmp/err" --push "$pgw" --job untouched "$tmp/keep.prom" "$tmp/bad.prom"
after=$(group_lines untouched)
if [ $rc -eq 1 ] && [ -n "$before" ] && [ "$before" = "$after" ] &&
    grep -q "bad.prom:2:" "$tmp/err"; then
    ok invalid-input-group-untouched "exit 1, $(grep -c . <<<"$after") lines unchanged"
else
    fail invalid-input-group-untouched "exit $rc; $(head -c 300 "$tmp/err")"
fi

# 7b. A live exporter larger than --max-source-size: the scrape is cut
# short, the source is invalid (exit 1, not 3: it answered), the error
# names the position of the limit, and the group keeps its content.
run_relay /dev/null "$tmp/err" --push "$pgw" --job untouched --max-source-size 4K \
    "$tmp/keep.prom" node="$ne"
after=$(group_lines untouched)
if [ $rc -eq 1 ] && [ "$before" = "$after" ] &&
    grep -qE "^$ne:[0-9]+:[0-9]+: error: input larger than the limit" "$tmp/err" &&
    ! grep -q "scrape failed" "$tmp/err"; then
    ok max-source-size-scrape-cut "exit 1, $(head -n 1 "$tmp/err" | cut -c 1-120)"
else
    fail max-source-size-scrape-cut "exit $rc; $(head -c 300 "$tmp/err")"
fi

# 8. A conflict between two sources (one family, two types): exit 1,
# both sources named, the group untouched.
printf '# TYPE clash counter\nclash 1\n' >"$tmp/c1.prom"
printf '# TYPE clash gauge\nclash 2\n' >"$tmp/c2.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job untouched "$tmp/c1.prom" "$tmp/c2.prom"
after=$(group_lines untouched)
if [ $rc -eq 1 ] && [ "$before" = "$after" ] && grep -q "c1" "$tmp/err" && grep -q "c2" "$tmp/err"; then
    ok conflict-nothing-pushed
else
    fail conflict-nothing-pushed "exit $rc; $(head -c 300 "$tmp/err")"
fi

# 9. A source that never answers: exit 3 within the scrape timeout,
# nothing pushed; with --partial the other sources are pushed.
run_relay /dev/null "$tmp/err" --push "$pgw" --job untouched --timeout 1s \
    "$tmp/keep.prom" "http://127.0.0.1:$hang_port/metrics"
after=$(group_lines untouched)
if [ $rc -eq 3 ] && [ $elapsed_ms -lt 3000 ] && [ "$before" = "$after" ] &&
    grep -q "timed out" "$tmp/err"; then
    ok source-timeout-nothing-pushed "exit 3 after ${elapsed_ms} ms"
else
    fail source-timeout-nothing-pushed "exit $rc after ${elapsed_ms} ms; $(head -c 300 "$tmp/err")"
fi
printf '# TYPE partial_ok gauge\npartial_ok 5\n' >"$tmp/partial.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job partial --timeout 1s --partial \
    "$tmp/partial.prom" "http://127.0.0.1:$hang_port/metrics"
if [ $rc -eq 3 ] && group_lines partial | grep -q '^partial_ok{instance="",job="partial"} 5$'; then
    ok partial-pushes-the-rest "exit 3, readable source pushed"
else
    fail partial-pushes-the-rest "exit $rc; $(head -c 300 "$tmp/err")"
fi

# 10. The Pushgateway down: exit 4 within the --timeout budget (retries
# included).
run_relay /dev/null "$tmp/err" --push "http://127.0.0.1:$closed_port" --job down --timeout 2s \
    --retries 5 "$tmp/keep.prom"
if [ $rc -eq 4 ] && [ $elapsed_ms -lt 3000 ]; then
    ok pushgateway-down-exit-4 "after ${elapsed_ms} ms, budget 2000 ms"
else
    fail pushgateway-down-exit-4 "exit $rc after ${elapsed_ms} ms"
fi

# 11. A 400 from the server is shown verbatim (an untyped go_goroutines
# clashes with the Pushgateway's own gauge).
printf '# TYPE go_goroutines counter\ngo_goroutines 1\n' >"$tmp/rejected.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job rejected --retries 3 "$tmp/rejected.prom"
if [ $rc -eq 4 ] &&
    grep -q '^pushed metrics are invalid or inconsistent with existing metrics: .*go_goroutines' \
        "$tmp/err" && grep -q "answered 400" "$tmp/err"; then
    ok server-400-verbatim
else
    fail server-400-verbatim "exit $rc; $(head -c 400 "$tmp/err")"
fi

# 12. Timestamps are stripped (the Pushgateway rejects them) with one
# warning.
printf '# TYPE stamped gauge\nstamped{a="1"} 1 1700000000000\nstamped{a="2"} 2 1700000000000\n' \
    >"$tmp/stamped.prom"
run_relay /dev/null "$tmp/err" --push "$pgw" --job stamped "$tmp/stamped.prom"
if [ $rc -eq 0 ] && [ "$(grep -c 'timestamps stripped' "$tmp/err")" -eq 1 ] &&
    group_lines stamped | grep -q '^stamped{a="2",instance="",job="stamped"} 2$'; then
    ok timestamps-stripped-one-warning
else
    fail timestamps-stripped-one-warning "exit $rc; $(head -c 300 "$tmp/err")"
fi

# 13. Agent mode: pushes every interval, stops on SIGTERM, deletes its
# group with --delete-on-exit.
"$relay" --interval 300ms --delete-on-exit --push "$pgw" --job agent --log-level info \
    node="$ne" "$tmp/keep.prom" down="http://127.0.0.1:$closed_port/metrics" \
    >"$tmp/agent.out" 2>"$tmp/agent.err" &
agent=$!
pids+=($agent)
seen=0
for i in $(seq 50); do
    if [ "$(grep -c 'msg=pushed' "$tmp/agent.err")" -ge 2 ]; then
        seen=1
        break
    fi
    sleep 0.1
done
agent_lines=$(group_lines agent)
on_pgw=$(grep -c '^keep{' <<<"$agent_lines")
down_up=$(grep -cE '^prex_source_up\{.*source="down".*\} 0$' <<<"$agent_lines")
kill -TERM "$agent"
t0=$(now_ms)
stopped=0
for i in $(seq 50); do
    if ! kill -0 "$agent" 2>/dev/null; then
        stopped=1
        break
    fi
    sleep 0.1
done
wait "$agent" 2>/dev/null
arc=$?
left=$(group_lines agent)
if [ $seen -eq 1 ] && [ "$on_pgw" -eq 1 ] && [ "$down_up" -eq 1 ] && [ $stopped -eq 1 ] &&
    [ $arc -eq 0 ] &&
    [ -z "$left" ] && grep -q 'msg="source down" source=down' "$tmp/agent.err"; then
    ok agent-interval-sigterm-delete "down source pushed as prex_source_up 0; stopped in $(($(now_ms) - t0)) ms, group deleted"
else
    fail agent-interval-sigterm-delete "pushed=$seen on_pgw=$on_pgw down_up=$down_up stopped=$stopped exit=$arc left=$(tr '\n' ' ' <<<"$left") $(tail -n 3 "$tmp/agent.err" | tr '\n' ' ')"
fi

# 14. --textfile is picked up by node_exporter's textfile collector. (Last:
# from now on node_exporter serves the relay's own prex_* families too.)
# A UTF-8 name is escaped (underscores), which this collector needs.
printf '# HELP relay_textfile_check A value written through --textfile.\n# TYPE relay_textfile_check gauge\nrelay_textfile_check{k="v"} 42 1700000000000\n{"relay.utf8","k.x"="v"} 1\n' \
    >"$tmp/tf.prom"
run_relay /dev/null "$tmp/err" --textfile "$textdir/relay.prom" "$tmp/tf.prom"
curl -fsS --max-time 5 "$ne" >"$tmp/ne-tf.txt"
if [ $rc -eq 0 ] && grep -q '^relay_textfile_check{k="v"} 42$' "$tmp/ne-tf.txt" &&
    grep -q '^relay_utf8{k_x="v"} 1$' "$tmp/ne-tf.txt" &&
    grep -q '^node_textfile_scrape_error 0$' "$tmp/ne-tf.txt" &&
    [ "$(find "$textdir" -type f | wc -l)" -eq 1 ]; then
    ok textfile-collector-reads-it
else
    fail textfile-collector-reads-it "exit $rc; $(grep -E 'relay_textfile|textfile_scrape_error' "$tmp/ne-tf.txt" | tr '\n' ' ')"
fi

# 15. TLS and basic authentication, for pushes and scrapes: a second
# Pushgateway behind --web.config.file (a self-signed certificate for
# 127.0.0.1, a bcrypt password). Its own /metrics, scraped over https with
# the same options, is pushed to it.
tls=$tmp/tls
mkdir -p "$tls"
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tls/key.pem" -out "$tls/cert.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" >"$tls/openssl.log" 2>&1; then
    hash=$(perl -e 'my @c = ("a" .. "z", "A" .. "Z", 0 .. 9, ".", "/");
                    print crypt("s3cret", q($2b$05$) . join "", map { $c[rand @c] } 1 .. 22)')
    printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  relay: %s\n' \
        "$tls/cert.pem" "$tls/key.pem" "$hash" >"$tls/web.yml"
    printf 's3cret\n' >"$tls/password"
    tls_port=$(free_port)
    prometheus-pushgateway --web.listen-address="127.0.0.1:$tls_port" --persistence.file= \
        --web.config.file="$tls/web.yml" >"$tmp/pushgateway-tls.log" 2>&1 &
    pids+=($!)
    tls_pgw=https://127.0.0.1:$tls_port
    if wait_http "$tls_pgw/-/healthy" 15 --cacert "$tls/cert.pem" -u relay:s3cret; then
        run_relay /dev/null "$tmp/tls.err" --push "$tls_pgw" --job tls --cacert "$tls/cert.pem" \
            --basic-auth-user relay --basic-auth-password-file "$tls/password" \
            self="$tls_pgw/metrics" "$tmp/keep.prom"
        rc_ok=$rc
        run_relay /dev/null "$tmp/tls-noauth.err" --push "$tls_pgw" --job tls2 \
            --cacert "$tls/cert.pem" "$tmp/keep.prom"
        rc_noauth=$rc
        run_relay /dev/null "$tmp/tls-noca.err" --push "$tls_pgw" --job tls3 \
            --basic-auth-user relay --basic-auth-password-file "$tls/password" "$tmp/keep.prom"
        rc_noca=$rc
        curl -fsS --max-time 5 --cacert "$tls/cert.pem" -u relay:s3cret "$tls_pgw/metrics" \
            >"$tmp/pgw-tls.txt"
        if [ $rc_ok -eq 0 ] && [ $rc_noauth -eq 4 ] && [ $rc_noca -eq 4 ] &&
            grep -q '^keep{instance="",job="tls"} 1$' "$tmp/pgw-tls.txt" &&
            grep -qE '^prex_source_up\{.*source="self".*\} 1$' "$tmp/pgw-tls.txt" &&
            grep -q 'answered 401' "$tmp/tls-noauth.err" &&
            grep -qi 'certificate' "$tmp/tls-noca.err"; then
            ok tls-basic-auth "https scrape and push with --cacert and basic auth; 401 and an unknown CA refused"
        else
            fail tls-basic-auth "exits $rc_ok/$rc_noauth/$rc_noca; $(head -c 300 "$tmp/tls.err")"
        fi
    else
        fail tls-basic-auth "the TLS Pushgateway did not start: $(head -c 300 "$tmp/pushgateway-tls.log")"
    fi
else
    fail tls-basic-auth "openssl cannot make a certificate: $(head -c 300 "$tls/openssl.log")"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
