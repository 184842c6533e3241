package scale

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"

	authframe "github.com/authframe/authframe/core"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// passwordHash is one argon2id hash made by a Guard with its default parameters, for every
// seeded user.
func passwordHash(secret []byte) (string, error) {
	st := NewMemoryStore(nil)
	defer st.Close()
	g, err := NewGuard(st, secret, 0, nil)
	if err != nil {
		return "", err
	}
	defer g.Close()
	u, err := g.Register(context.Background(), authframe.ClientInfo{}, "seed-user", "correct horse battery staple")
	if err != nil {
		return "", err
	}
	return u.PasswordHash, nil
}

// machine describes where the run happens: the CPUs, the load when it started, Go.
func machine() string {
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs, %s, load average %s at the start", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), load)
}

// serverVersions names the Redis and PostgreSQL servers.
func serverVersions(ctx context.Context, rc redis.UniversalClient, pool *pgxpool.Pool) string {
	rv := "?"
	if info, err := rc.Info(ctx, "server").Result(); err == nil {
		for _, l := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
				rv = v
			}
		}
	}
	pv := "?"
	_ = pool.QueryRow(ctx, "SHOW server_version").Scan(&pv)
	return "Redis " + rv + ", PostgreSQL " + pv
}
