// Command plots draws the charts of a scale run (cmd/scale's JSON) as SVG files, or prints
// its figures as Markdown tables.
//
//	go run ./cmd/plots -in results/scale.json -out charts
//	go run ./cmd/plots -in results/scale.json -markdown
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/authframe/authframe/bench/scale"
)

func main() {
	in := flag.String("in", "results/scale.json", "the figures, as cmd/scale writes them")
	out := flag.String("out", "charts", "the folder for the SVG files")
	markdown := flag.Bool("markdown", false, "print the figures as BENCHMARKS.md's tables instead")
	flag.Parse()
	b, err := os.ReadFile(*in)
	if err != nil {
		fail(err)
	}
	var r scale.Results
	if err := json.Unmarshal(b, &r); err != nil {
		fail(fmt.Errorf("%s: %w", *in, err))
	}
	if *markdown {
		fmt.Print(scale.Markdown(&r))
		return
	}
	files, err := scale.Charts(&r, *out)
	for _, f := range files {
		fmt.Println(f)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "plots:", err)
	os.Exit(1)
}
