// expfmt_check.go - the reference side of the differential check: runs
// each input through expfmt.TextParser (github.com/prometheus/common) and
// prints its verdict.
//
// Usage: expfmt_check FILE|DIR...
//
// Prints one line per input, in the order given (a directory's regular
// files sorted by name):
//
//	<path>\tvalid
//	<path>\tinvalid\t<expfmt's error message>
//
// A panic inside the parser is reported as "invalid\tpanic: ...". Control
// bytes in messages are written as Go escapes so that every verdict stays
// on one line. Exit status: 0, or 2 when a path cannot be read.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/prometheus/common/expfmt"
)

// verdict parses one input and returns "valid" or "invalid\t<message>".
func verdict(data []byte) (v string) {
	defer func() {
		if r := recover(); r != nil {
			v = "invalid\tpanic: " + oneLine(fmt.Sprint(r))
		}
	}()
	var p expfmt.TextParser
	if _, err := p.TextToMetricFamilies(bytes.NewReader(data)); err != nil {
		return "invalid\t" + oneLine(err.Error())
	}
	return "valid"
}

// oneLine quotes a message and strips the quotes again, so that newlines,
// tabs and other control bytes become visible escapes.
func oneLine(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// files expands a path: a directory gives its regular files, sorted.
func files(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: expfmt_check FILE|DIR...")
		os.Exit(2)
	}
	status := 0
	for _, arg := range os.Args[1:] {
		list, err := files(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			status = 2
			continue
		}
		for _, f := range list {
			data, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				status = 2
				continue
			}
			fmt.Printf("%s\t%s\n", f, verdict(data))
		}
	}
	os.Exit(status)
}
