// Package scale measures authframe at deployment scale (issue 17): the throughput of each
// store's request-path operations at 1 to 256 concurrent callers beside the raw driver
// doing the equivalent single operation in the same run, and, on datasets of up to a
// million users seeded straight into the stores, verification latency under a Zipf
// workload, the cache's hit ratio, bytes per cached principal and per stored session, and
// the cleanup job's time. cmd/scale runs it (make bench-scale); cmd/plots draws the
// charts (make bench-plots). See README.md.
package scale
