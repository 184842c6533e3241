// Package dashboards builds the Grafana dashboard of authframe's Prometheus metrics (the
// authprom package one folder up) with the Grafana Foundation SDK, and writes it to
// authframe.json beside this file (go generate).
//
// It is a module of its own so that the SDK is a dependency of this generator only, never
// of an application that imports authprom. The committed JSON is what users import into
// Grafana; the test of this package fails when it differs from what Build produces, and
// when a panel queries a metric that authprom does not export.
package dashboards

//go:generate go run ./cmd/gendashboard -o authframe.json
