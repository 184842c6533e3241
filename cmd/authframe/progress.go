package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress reports long work: a bar with rate and ETA on a terminal, plain lines every few
// seconds elsewhere (a log, a CI job), so that neither floods nor stays silent.
type progress interface {
	// Add counts n more records done.
	Add(n int)
	// Done ends the report with a last line.
	Done()
}

type nopProgress struct{}

func (nopProgress) Add(int) {}
func (nopProgress) Done()   {}

// progressEvery is the interval of the plain lines.
var progressEvery = 5 * time.Second

// progress starts a report of total records (0: unknown) labelled label, on stderr.
func (a *app) progress(label string, total int64) progress {
	if a.errTerminal() {
		if total <= 0 {
			total = -1 // a spinner: the total is unknown
		}
		return &barProgress{bar: progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(a.err),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.err) }),
		)}
	}
	now := time.Now()
	return &lineProgress{w: a.err, label: label, total: total, start: now, last: now}
}

type barProgress struct{ bar *progressbar.ProgressBar }

func (b *barProgress) Add(n int) { _ = b.bar.Add(n) }
func (b *barProgress) Done()     { _ = b.bar.Finish() }

// lineProgress writes "label: done/total (pct) rate/s, eta" at most every progressEvery.
type lineProgress struct {
	mu          sync.Mutex
	w           io.Writer
	label       string
	total, done int64
	start, last time.Time
}

func (l *lineProgress) Add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += int64(n)
	if now := time.Now(); now.Sub(l.last) >= progressEvery {
		l.last = now
		l.line(now)
	}
}

func (l *lineProgress) Done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line(time.Now())
}

func (l *lineProgress) line(now time.Time) {
	elapsed := now.Sub(l.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(l.done) / elapsed.Seconds()
	}
	if l.total <= 0 {
		fmt.Fprintf(l.w, "%s: %d, %.0f/s, %s elapsed\n", l.label, l.done, rate, elapsed.Round(time.Second))
		return
	}
	pct := 100 * float64(l.done) / float64(l.total)
	eta := "unknown"
	if rate > 0 && l.done <= l.total {
		eta = time.Duration(float64(l.total-l.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(l.w, "%s: %d/%d (%.1f%%), %.0f/s, eta %s\n", l.label, l.done, l.total, pct, rate, eta)
}
