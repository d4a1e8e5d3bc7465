// Command vm is the benchmark harness of the VictoriaMetrics peer: it
// parses an exposition with VictoriaMetrics' lib/protoparser/prometheus
// Rows.UnmarshalWithErrLogger, the single-threaded core of its scrape
// and import parser, and prints its best throughput.
//
//	vm [-n ITERATIONS] [-name NAME] FILE
//
// One iteration parses the whole file (held in memory as one string, as
// VictoriaMetrics holds a scraped body) into Rows: for each line, the
// metric name, the label pairs (values unescaped only when the body has a
// backslash), the value and the timestamp. Comment lines, HELP, TYPE,
// UNIT and "# EOF" are skipped unread, and everything after a '#' that
// follows the label set (an OpenMetrics exemplar) is cut off. It checks no
// name's characters, no UTF-8, no type, no family grouping, no histogram
// or summary rule and no duplicate. A line it cannot split is skipped and
// counted here as an error (the harness fails when there is one). See
// docs/performance.md.
//
// The Rows are reused from one iteration to the next, as
// VictoriaMetrics' pooled parsers reuse them. The heap is collected
// before each iteration (outside the timing). The figure is the fastest
// iteration (min of N) on the wall clock. The output is one line of
// key=value pairs.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/protoparser/prometheus"
)

func main() {
	iterations := flag.Int("n", 5, "iterations; the fastest one is reported")
	name := flag.String("name", "", "input name to print (default: the file name without extension)")
	flag.Parse()
	if flag.NArg() != 1 || *iterations < 1 {
		fmt.Fprintln(os.Stderr, "usage: vm [-n ITERATIONS] [-name NAME] FILE")
		os.Exit(2)
	}
	path := flag.Arg(0)
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vm:", err)
		os.Exit(2)
	}
	body := string(data)

	errors := 0
	firstError := ""
	logError := func(s string) {
		if errors == 0 {
			firstError = s
		}
		errors++
	}

	var rows prometheus.Rows
	best := time.Duration(1<<63 - 1)
	samples := -1
	var sum float64
	for i := 0; i < *iterations; i++ {
		runtime.GC()
		start := time.Now()
		rows.UnmarshalWithErrLogger(body, logError)
		elapsed := time.Since(start)
		if errors > 0 {
			fmt.Fprintf(os.Stderr, "vm: %s: %d lines not parsed, the first: %s\n", path, errors, firstError)
			os.Exit(1)
		}
		n := len(rows.Rows)
		if samples >= 0 && n != samples {
			fmt.Fprintf(os.Stderr, "vm: %s: %d samples, then %d\n", path, samples, n)
			os.Exit(1)
		}
		samples = n
		for j := range rows.Rows {
			sum += rows.Rows[j].Value
		}
		if elapsed < best {
			best = elapsed
		}
	}

	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	secs := best.Seconds()
	fmt.Printf("peer=vm input=%s bytes=%d samples=%d iterations=%d gomaxprocs=%d best_ns=%d mb_per_s=%.2f samples_per_s=%.0f max_rss_kib=%d value_sum=%g\n",
		*name, len(data), samples, *iterations, runtime.GOMAXPROCS(0), best.Nanoseconds(),
		float64(len(data))/secs/1e6, float64(samples)/secs, ru.Maxrss, sum)
}
