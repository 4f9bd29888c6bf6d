package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

var procs = regexp.MustCompile(`-\d+$`)

// run reads benchmark lines and writes one table row per custom metric
// (ns/op, B/op and allocs/op are left out unless a benchmark has no other).
func run(r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	pkg := ""
	fmt.Fprintln(w, "| package | benchmark | figure | value |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/bgkit/bgkit/")
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		name := procs.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		var rows [][2]string
		var std [][2]string
		for i := 2; i+1 < len(f); i += 2 {
			if _, err := strconv.ParseFloat(f[i], 64); err != nil {
				break
			}
			switch f[i+1] {
			case "ns/op", "B/op", "allocs/op", "MB/s":
				std = append(std, [2]string{f[i+1], f[i]})
			default:
				rows = append(rows, [2]string{f[i+1], f[i]})
			}
		}
		if len(rows) == 0 {
			rows = std
		}
		for _, r := range rows {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", pkg, name, r[0], r[1])
		}
	}
	return sc.Err()
}
