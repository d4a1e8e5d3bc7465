// Command expfmt is the benchmark harness of the expfmt peer: it parses a
// text-format exposition with github.com/prometheus/common/expfmt's
// TextParser.TextToMetricFamilies, the parser the Prometheus client
// libraries and the Pushgateway use, and prints its best throughput.
//
//	expfmt [-n ITERATIONS] [-name NAME] FILE
//
// One iteration parses the whole file (held in memory) into
// dto.MetricFamily messages: every line tokenised, names and label names
// checked against the legacy character sets, label values checked for
// valid UTF-8, values and timestamps converted, HELP and TYPE applied,
// summaries and histograms grouped by label set. The result is kept until
// the iteration ends and then dropped. See docs/performance.md for what
// it does not check.
//
// The heap is collected before each iteration (outside the timing), so an
// iteration pays for the garbage it makes itself. The figure is the
// fastest iteration (min of N), as prex-bench reports it, on the wall
// clock. The output is one line of key=value pairs.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// countSamples returns the number of sample lines the parsed families
// stand for: one per counter, gauge or untyped metric; one per quantile or
// bucket plus the _sum and _count lines of a summary or histogram.
func countSamples(families map[string]*dto.MetricFamily) int {
	n := 0
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Summary != nil:
				n += len(m.Summary.GetQuantile())
				if m.Summary.SampleCount != nil {
					n++
				}
				if m.Summary.SampleSum != nil {
					n++
				}
			case m.Histogram != nil:
				n += len(m.Histogram.GetBucket())
				if m.Histogram.SampleCount != nil {
					n++
				}
				if m.Histogram.SampleSum != nil {
					n++
				}
			default:
				n++
			}
		}
	}
	return n
}

func main() {
	iterations := flag.Int("n", 5, "iterations; the fastest one is reported")
	name := flag.String("name", "", "input name to print (default: the file name without extension)")
	flag.Parse()
	if flag.NArg() != 1 || *iterations < 1 {
		fmt.Fprintln(os.Stderr, "usage: expfmt [-n ITERATIONS] [-name NAME] FILE")
		os.Exit(2)
	}
	path := flag.Arg(0)
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "expfmt:", err)
		os.Exit(2)
	}

	var parser expfmt.TextParser
	best := time.Duration(1<<63 - 1)
	samples := -1
	for i := 0; i < *iterations; i++ {
		runtime.GC()
		start := time.Now()
		families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
		elapsed := time.Since(start)
		if err != nil {
			fmt.Fprintf(os.Stderr, "expfmt: %s: %v\n", path, err)
			os.Exit(1)
		}
		n := countSamples(families)
		if samples >= 0 && n != samples {
			fmt.Fprintf(os.Stderr, "expfmt: %s: %d samples, then %d\n", path, samples, n)
			os.Exit(1)
		}
		samples = n
		if elapsed < best {
			best = elapsed
		}
	}

	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	secs := best.Seconds()
	fmt.Printf("peer=expfmt input=%s bytes=%d samples=%d iterations=%d gomaxprocs=%d best_ns=%d mb_per_s=%.2f samples_per_s=%.0f max_rss_kib=%d\n",
		*name, len(data), samples, *iterations, runtime.GOMAXPROCS(0), best.Nanoseconds(),
		float64(len(data))/secs/1e6, float64(samples)/secs, ru.Maxrss)
}
