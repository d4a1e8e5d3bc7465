#!/usr/bin/env bash
# tests/install-test.sh - installs prex into a temporary staging root and
# builds docs/example.c against the installed files, as a user of the
# library would: through pkg-config, linked statically and dynamically.
#
# Checks that `ninja install` lays out every file, that prex.pc names the
# real PREFIX, that both links work, and that the example accepts a valid
# input and rejects an invalid one with a FILE:LINE:COLUMN diagnostic.
# Prints "install-test: ok", or "install-test: FAIL: ..." and exits 1.
set -euo pipefail

cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "install-test: FAIL: $*" >&2
    exit 1
}

# The prefix the files are configured for, and the staging root they are
# copied under; pkg-config finds them through PKG_CONFIG_SYSROOT_DIR.
prefix=/opt/prex-install-test
stage=$tmp/stage
root=$stage$prefix

DESTDIR=$stage PREFIX=$prefix ninja install || fail "ninja install failed"

for f in include/prex/prex.h include/prex/buf.h include/prex/write.h lib/libprex.a lib/libprex.so.0 lib/pkgconfig/prex.pc \
    bin/prex-relay share/man/man1/prex-relay.1; do
    [ -f "$root/$f" ] || fail "$f was not installed"
done
[ -L "$root/lib/libprex.so" ] || fail "lib/libprex.so is not a symbolic link"
[ "$(readlink "$root/lib/libprex.so")" = libprex.so.0 ] ||
    fail "lib/libprex.so does not point at libprex.so.0"
[ -x "$root/bin/prex-relay" ] || fail "bin/prex-relay is not executable"
grep -qx "prefix=$prefix" "$root/lib/pkgconfig/prex.pc" ||
    fail "prex.pc does not name prefix=$prefix"
soname=$(readelf -d "$root/lib/libprex.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = libprex.so.0 ] || fail "libprex.so.0 has SONAME '$soname'"

export PKG_CONFIG_PATH=$root/lib/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_LIBDIR=
pkg-config --exists prex || fail "pkg-config does not find prex"
version=$(sed -n 's/^#define PREX_VERSION "\([^"]*\)".*/\1/p' parser/prex.h)
[ "$(pkg-config --modversion prex)" = "$version" ] ||
    fail "pkg-config reports version $(pkg-config --modversion prex), prex.h says $version"

read -r -a cflags <<<"$(pkg-config --cflags prex)"
read -r -a libs_shared <<<"$(pkg-config --libs prex)"
read -r -a libs_static <<<"$(pkg-config --static --libs prex)"
warnings=(-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror)

gcc "${warnings[@]}" "${cflags[@]}" -o "$tmp/example-shared" docs/example.c "${libs_shared[@]}" ||
    fail "docs/example.c does not build against the shared library"
gcc -static "${warnings[@]}" "${cflags[@]}" -o "$tmp/example-static" docs/example.c "${libs_static[@]}" ||
    fail "docs/example.c does not build against the static library"

readelf -d "$tmp/example-shared" | grep -q 'NEEDED.*\[libprex\.so\.0\]' ||
    fail "example-shared is not linked with libprex.so.0"
if readelf -d "$tmp/example-static" 2>/dev/null | grep -q NEEDED; then
    fail "example-static needs shared libraries"
fi

printf '%s\n' \
    '# HELP http_requests_total Requests served.' \
    '# TYPE http_requests_total counter' \
    'http_requests_total{code="200",method="get"} 1027 1395066363000' \
    'http_requests_total{code="400",method="post"} 3 1395066363000' \
    '# TYPE temperature_celsius gauge' \
    'temperature_celsius{room="a b \"c\""} -3.5' \
    >"$tmp/valid.prom"
printf '%s\n' \
    '# TYPE build_info gauge' \
    'build_info{version="1.0"} 1' \
    'broken_metric{a="1",a="2"} 1' \
    >"$tmp/invalid.prom"
printf '%s\n' \
    '# TYPE jobs counter' \
    '# HELP jobs Jobs done.' \
    'jobs_total 7' \
    '# EOF' \
    >"$tmp/valid.om"

# run_example BINARY: runs BINARY on every input and checks the outcome.
run_example() {
    local bin=$1 name out err rc
    name=$(basename "$bin")
    out=$tmp/$name.out
    err=$tmp/$name.err

    "$bin" "$tmp/valid.prom" >"$out" 2>"$err" ||
        fail "$name rejected a valid input: $(cat "$err")"
    [ ! -s "$err" ] || fail "$name printed diagnostics for a valid input: $(cat "$err")"
    grep -qx "$tmp/valid.prom: valid, 2 families, 3 samples, 0 errors" "$out" ||
        fail "$name summary for the valid input is wrong: $(cat "$out")"

    "$bin" <"$tmp/valid.prom" >"$out" 2>"$err" ||
        fail "$name rejected a valid input on stdin: $(cat "$err")"
    grep -qx "stdin: valid, 2 families, 3 samples, 0 errors" "$out" ||
        fail "$name summary for stdin is wrong: $(cat "$out")"

    "$bin" --openmetrics "$tmp/valid.om" >"$out" 2>"$err" ||
        fail "$name rejected a valid OpenMetrics input: $(cat "$err")"
    grep -qx "$tmp/valid.om: valid, 1 families, 1 samples, 0 errors" "$out" ||
        fail "$name summary for the OpenMetrics input is wrong: $(cat "$out")"

    rc=0
    "$bin" "$tmp/invalid.prom" >"$out" 2>"$err" || rc=$?
    [ "$rc" -eq 1 ] || fail "$name exited $rc on an invalid input, expected 1"
    grep -Eq "^$tmp/invalid\.prom:3:[0-9]+: error: .+" "$err" ||
        fail "$name diagnostic does not read FILE:3:COLUMN: error: MESSAGE: $(cat "$err")"

    rc=0
    "$bin" "$tmp/no-such-file" >"$out" 2>"$err" || rc=$?
    [ "$rc" -eq 2 ] || fail "$name exited $rc on a missing file, expected 2"
}

export LD_LIBRARY_PATH=$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
run_example "$tmp/example-shared"
run_example "$tmp/example-static"

"$root/bin/prex-relay" --version >/dev/null 2>&1 ||
    fail "the installed prex-relay does not run (--version)"

echo "install-test: ok"
