// Command gendashboard writes the authframe Grafana dashboard (package dashboards) as
// JSON, to the file of -o or to standard output.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/authframe/authframe/observability/prometheus/dashboards"
)

func main() {
	out := flag.String("o", "", "write the dashboard to this file (default: standard output)")
	flag.Parse()
	b, err := dashboards.JSON()
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(b)
		} else {
			err = os.WriteFile(*out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendashboard:", err)
		os.Exit(1)
	}
}
