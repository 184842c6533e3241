module github.com/authframe/authframe/bench

go 1.26.0

require (
	github.com/authframe/authframe/adapters/nethttp v0.0.0
	github.com/authframe/authframe/core v0.0.0
)

replace (
	github.com/authframe/authframe/adapters/echo => ../adapters/echo
	github.com/authframe/authframe/adapters/fiber => ../adapters/fiber
	github.com/authframe/authframe/adapters/gin => ../adapters/gin
	github.com/authframe/authframe/adapters/nethttp => ../adapters/nethttp
	github.com/authframe/authframe/cache/redis => ../cache/redis
	github.com/authframe/authframe/core => ../core
	github.com/authframe/authframe/observability/prometheus => ../observability/prometheus
	github.com/authframe/authframe/stores/postgres => ../stores/postgres
	github.com/authframe/authframe/stores/redis => ../stores/redis
)
