package scale

import (
	"fmt"
	"strings"
	"time"
)

// Bar is one of issue 17's bars on the session lookup at 64 callers: a floor in ops/s,
// and for the server stores a floor of the ratio to the raw driver.
type Bar struct {
	Store    string
	MinOps   float64
	MinRatio float64
}

// Bars are the bars.
var Bars = []Bar{
	{Store: Memory, MinOps: 1_000_000},
	{Store: Redis, MinOps: 50_000, MinRatio: 0.8},
	{Store: Postgres, MinOps: 10_000, MinRatio: 0.8},
}

// BarCallers is the concurrency the bars are set at.
const BarCallers = 64

// Summary is the run's verdicts and figures, one line each, after the cells.
func Summary(r *Results) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, "summary: "+fmt.Sprintf(format, args...)) }
	find := func(st, op string, c int) (Cell, bool) {
		for _, x := range r.Cells {
			if x.Store == st && x.Op == op && x.Callers == c && !x.Diagnostic {
				return x, true
			}
		}
		return Cell{}, false
	}
	for _, b := range Bars {
		c, ok := find(b.Store, OpSessionLookup, BarCallers)
		if !ok {
			add("bar %s %s c=%d: not measured", b.Store, OpSessionLookup, BarCallers)
			continue
		}
		var parts []string
		if b.MinRatio > 0 {
			parts = append(parts, fmt.Sprintf("ratio %.2f to raw %s (bar %.1f): %s", c.Ratio(), c.RawOp, b.MinRatio, verdict(c.Ratio() >= b.MinRatio)))
		}
		p := fmt.Sprintf("%.0f ops/s (bar %.0f): %s", c.Ours, b.MinOps, verdict(c.Ours >= b.MinOps))
		if c.Ours < b.MinOps && c.Raw < b.MinOps {
			p += fmt.Sprintf(", and the raw driver reaches %.0f ops/s on this machine", c.Raw)
		}
		parts = append(parts, p)
		add("bar %s %s c=%d: %s", b.Store, OpSessionLookup, BarCallers, strings.Join(parts, "; "))
	}
	var low, failed []string
	for _, c := range r.Cells {
		if c.Diagnostic {
			continue
		}
		if c.Ratio() < 0.8 {
			low = append(low, fmt.Sprintf("%s %s c=%d (%.2f)", c.Store, c.Op, c.Callers, c.Ratio()))
		}
		if c.OursFailed > 0 || c.RawFailed > 0 {
			failed = append(failed, fmt.Sprintf("%s %s c=%d (%d ours, %d raw)", c.Store, c.Op, c.Callers, c.OursFailed, c.RawFailed))
		}
	}
	add("cells below ratio 0.8: %s", orNone(low))
	add("cells with failed calls: %s", orNone(failed))
	for _, name := range []string{Memory, Redis, Postgres} {
		if c, ok := find(name, OpAPIKeyLookup, BarCallers); ok {
			add("%s %s c=%d: %.0f ops/s, ratio %.2f to raw %s", name, OpAPIKeyLookup, BarCallers, c.Ours, c.Ratio(), c.RawOp)
		}
	}
	add("rediscache: a shared cache holds verified tokens only; sessions, refresh families, revocations and login counters are the stores'")
	for _, s := range r.Sizes {
		add("n=%d verification (first sight p50/p99, cached p50/p99, hit ratio): %s", s.N, verifications(s))
		add("n=%d bytes: cached principal %.0f (heap profile; live heap %.0f, %d entries); memory store %.0f per user with session; Redis %.0f per session (hash %.0f, user index %.0f, global indexes %.0f), %.0f per user; PostgreSQL %.0f per session (table %.0f, indexes %.0f, refresh family %.0f), %.0f per user",
			s.N, s.Principal.Profile, s.Principal.Heap, s.Principal.Entries, s.MemoryPerUser,
			s.Redis.PerSession, s.Redis.Session, s.Redis.UserSessions, s.Redis.Indexes, s.Redis.PerUser,
			s.Postgres.PerSession, s.Postgres.SessionTable, s.Postgres.SessionIndexes, s.Postgres.Refresh, s.Postgres.PerUser)
		var cl []string
		for _, name := range []string{Memory, Redis, Postgres} {
			c, ok := s.Cleanup[name]
			if !ok {
				continue
			}
			p := fmt.Sprintf("%s %v in %d calls (%v a session, slowest lookup meanwhile %v", name,
				c.Time.Round(time.Millisecond), c.Calls, c.PerRow(), c.ProbeMax.Round(time.Microsecond))
			if c.ProbeFailed > 0 {
				p += fmt.Sprintf(", %d of %d lookups failed", c.ProbeFailed, c.ProbeCalls)
			}
			cl = append(cl, p+")")
		}
		add("n=%d cleanup of %d expired sessions: %s", s.N, s.N, strings.Join(cl, "; "))
	}
	add("wall time %v", r.Wall.Round(time.Second))
	return out
}

func verifications(s SizeResult) string {
	var parts []string
	for _, name := range []string{Memory, Redis, Postgres} {
		v, ok := s.Verify[name]
		if !ok {
			continue
		}
		p := fmt.Sprintf("%s %v/%v, %v/%v, %.3f", name, us(v.FirstP50), us(v.FirstP99), us(v.CachedP50), us(v.CachedP99), v.HitRatio)
		if v.Failed > 0 {
			p += fmt.Sprintf(" (%d calls refused)", v.Failed)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// us rounds a latency for reading: to 0.1 µs below 10 µs, to 1 µs above.
func us(d time.Duration) time.Duration {
	if d < 10*time.Microsecond {
		return d.Round(100 * time.Nanosecond)
	}
	return d.Round(time.Microsecond)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "not met"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// Markdown is the run's figures as the tables of BENCHMARKS.md's "Scale" section.
func Markdown(r *Results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var callers []int
	seen := map[int]bool{}
	type row struct{ store, op, raw string }
	var rows []row
	seenRow := map[row]bool{}
	cell := map[row]map[int]Cell{}
	for _, c := range r.Cells {
		if !seen[c.Callers] {
			seen[c.Callers] = true
			callers = append(callers, c.Callers)
		}
		k := row{c.Store, c.Op, c.RawOp}
		if c.Diagnostic {
			k.op += " (diagnostic)"
		}
		if !seenRow[k] {
			seenRow[k] = true
			rows = append(rows, k)
			cell[k] = map[int]Cell{}
		}
		cell[k][c.Callers] = c
	}
	if len(rows) > 0 {
		w("| store | operation | raw driver |")
		for _, c := range callers {
			w(" c=%d |", c)
		}
		w("\n|---|---|---|")
		for range callers {
			w("---|")
		}
		w("\n")
		for _, k := range rows {
			w("| %s | %s | %s |", k.store, k.op, k.raw)
			for _, c := range callers {
				x, ok := cell[k][c]
				if !ok {
					w(" |")
					continue
				}
				w(" %s / %s (**%.2f**) |", kilo(x.Ours), kilo(x.Raw), x.Ratio())
			}
			w("\n")
		}
		w("\n")
	}
	if len(r.Sizes) == 0 {
		return b.String()
	}
	w("| users |")
	for _, s := range r.Sizes {
		w(" %s |", shortCount(s.N))
	}
	w("\n|---|")
	for range r.Sizes {
		w("---|")
	}
	w("\n")
	line := func(label string, f func(SizeResult) string) {
		w("| %s |", label)
		for _, s := range r.Sizes {
			w(" %s |", f(s))
		}
		w("\n")
	}
	for _, st := range []string{Memory, Redis, Postgres} {
		line(st+": first sight p50 / p99", func(s SizeResult) string {
			v := s.Verify[st]
			return fmt.Sprintf("%v / %v", us(v.FirstP50), us(v.FirstP99))
		})
	}
	line("cache hit p50 / p99 (memory store)", func(s SizeResult) string {
		v := s.Verify[Memory]
		return fmt.Sprintf("%v / %v", us(v.CachedP50), us(v.CachedP99))
	})
	line("hit ratio", func(s SizeResult) string { return fmt.Sprintf("%.3f", s.Verify[Memory].HitRatio) })
	line("bytes per cached principal (heap profile / live heap)", func(s SizeResult) string {
		return fmt.Sprintf("%.0f / %.0f", s.Principal.Profile, s.Principal.Heap)
	})
	line("memory store: bytes per user with session", func(s SizeResult) string { return fmt.Sprintf("%.0f", s.MemoryPerUser) })
	line("Redis: bytes per session (hash + user index + global indexes)", func(s SizeResult) string {
		return fmt.Sprintf("%.0f (%.0f + %.0f + %.0f)", s.Redis.PerSession, s.Redis.Session, s.Redis.UserSessions, s.Redis.Indexes)
	})
	line("Redis: bytes per user", func(s SizeResult) string { return fmt.Sprintf("%.0f", s.Redis.PerUser) })
	line("PostgreSQL: bytes per session (table + indexes + refresh family)", func(s SizeResult) string {
		return fmt.Sprintf("%.0f (%.0f + %.0f + %.0f)", s.Postgres.PerSession, s.Postgres.SessionTable, s.Postgres.SessionIndexes, s.Postgres.Refresh)
	})
	line("PostgreSQL: bytes per user", func(s SizeResult) string { return fmt.Sprintf("%.0f", s.Postgres.PerUser) })
	for _, st := range []string{Memory, Redis, Postgres} {
		line(st+": cleanup of as many expired sessions (calls; per session; slowest lookup meanwhile)", func(s SizeResult) string {
			c := s.Cleanup[st]
			f := fmt.Sprintf("%v (%d; %v; %v", c.Time.Round(time.Millisecond), c.Calls, c.PerRow().Round(100*time.Nanosecond), c.ProbeMax.Round(time.Millisecond))
			if c.ProbeFailed > 0 {
				f += fmt.Sprintf(", %d lookups failed", c.ProbeFailed)
			}
			return f + ")"
		})
	}
	line("seeding the users added: memory, Redis, PostgreSQL", func(s SizeResult) string {
		return fmt.Sprintf("%v, %v, %v", s.Seed[Memory].Round(10*time.Millisecond), s.Seed[Redis].Round(10*time.Millisecond), s.Seed[Postgres].Round(10*time.Millisecond))
	})
	return b.String()
}

// kilo writes ops/s as 1.2M, 45.1k or 950.
func kilo(f float64) string {
	switch {
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprintf("%.0f", f)
}
