module github.com/authframe/authframe/cmd/authframe

go 1.26.0

require (
	github.com/authframe/authframe/core v0.0.0
	github.com/authframe/authframe/stores/postgres v0.0.0-00010101000000-000000000000
	github.com/authframe/authframe/stores/redis v0.0.0-00010101000000-000000000000
	github.com/jackc/pgx/v5 v5.12.0
	github.com/redis/go-redis/v9 v9.23.0
	github.com/schollz/progressbar/v3 v3.19.1
	github.com/spf13/cobra v1.10.2
	golang.org/x/term v0.48.0
)

require (
	github.com/MicahParks/jwkset v0.11.4 // indirect
	github.com/MicahParks/keyfunc/v3 v3.9.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace (
	github.com/authframe/authframe/adapters/echo => ../../adapters/echo
	github.com/authframe/authframe/adapters/fiber => ../../adapters/fiber
	github.com/authframe/authframe/adapters/gin => ../../adapters/gin
	github.com/authframe/authframe/adapters/nethttp => ../../adapters/nethttp
	github.com/authframe/authframe/cache/redis => ../../cache/redis
	github.com/authframe/authframe/core => ../../core
	github.com/authframe/authframe/observability/prometheus => ../../observability/prometheus
	github.com/authframe/authframe/stores/postgres => ../../stores/postgres
	github.com/authframe/authframe/stores/redis => ../../stores/redis
)
