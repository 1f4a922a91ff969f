package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// progress receives an upload's progress. Calls come from the uploader's goroutines, so
// implementations are safe for concurrent use and fast.
type progress interface {
	// start announces the upload: total bytes (-1 unknown) and parts (0 unknown).
	start(total int64, parts int)
	// sent counts n body bytes sent.
	sent(n int64)
	// skip counts bytes and parts a resumed upload found already stored: done, not sent.
	skip(bytes int64, parts int)
	// partDone counts one part completed.
	partDone()
	// retry counts one part attempt that will be retried.
	retry()
	// finish ends the display; ok says whether the upload completed.
	finish(ok bool)
}

// progressMode chooses how progress is shown.
type progressMode string

const (
	progressAuto  progressMode = "auto"  // a bar on a terminal, lines otherwise
	progressBar   progressMode = "bar"   // always the bar (for terminals the CLI cannot detect)
	progressLines progressMode = "lines" // one line at most every few seconds and at each end
	progressNone  progressMode = "none"  // nothing
)

func parseProgressMode(s string) (progressMode, error) {
	switch m := progressMode(s); m {
	case progressAuto, progressBar, progressLines, progressNone:
		return m, nil
	}
	return "", fmt.Errorf("--progress %q: want auto, bar, lines or none", s)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return cupwriter.New(f, false).IsTerminal()
}

// newProgress returns the display for mode on w (stderr). label names the upload.
func newProgress(mode progressMode, w io.Writer, label string, now func() time.Time) progress {
	if mode == progressAuto {
		mode = progressLines
		if isTerminal(w) {
			mode = progressBar
		}
	}
	switch mode {
	case progressBar:
		return &barProgress{w: w, label: label, now: now}
	case progressLines:
		return &lineProgress{w: w, label: label, now: now, every: 2 * time.Second}
	}
	return nopProgress{}
}

type nopProgress struct{}

func (nopProgress) start(int64, int) {}
func (nopProgress) sent(int64)       {}
func (nopProgress) skip(int64, int)  {}
func (nopProgress) partDone()        {}
func (nopProgress) retry()           {}
func (nopProgress) finish(bool)      {}

// counters are what both displays show.
type counters struct {
	total   atomic.Int64
	parts   atomic.Int64
	bytes   atomic.Int64
	done    atomic.Int64
	retries atomic.Int64
	skipped atomic.Int64 // bytes already stored when a resumed upload started
}

// complete marks everything done, for a display whose events did not count it all (a single
// CopyObject sends no byte or part events).
func (c *counters) complete() {
	if t := c.total.Load(); t > c.bytes.Load() {
		c.bytes.Store(t)
	}
	if p := c.parts.Load(); p > c.done.Load() {
		c.done.Store(p)
	}
}

func (c *counters) partsText() string {
	p := c.parts.Load()
	d := c.done.Load()
	if p > 0 {
		return fmt.Sprintf("parts %d/%d", d, p)
	}
	return fmt.Sprintf("parts %d", d)
}

// barProgress draws an mpb progress bar: bytes, rate, ETA, parts done and retries.
type barProgress struct {
	w     io.Writer
	label string
	now   func() time.Time

	counters
	mu  sync.Mutex
	p   *mpb.Progress
	bar *mpb.Bar
}

func (b *barProgress) start(total int64, parts int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.p != nil {
		return
	}
	b.total.Store(total)
	b.parts.Store(int64(parts))
	t := total
	if t < 0 {
		t = 0 // unknown: mpb grows the total as bytes come
	}
	b.p = mpb.New(mpb.WithOutput(b.w), mpb.WithWidth(96), mpb.WithRefreshRate(150*time.Millisecond), mpb.ForceTTY(), mpb.WithAutoRefresh())
	b.bar = b.p.New(t, mpb.BarStyle().Lbound("[").Rbound("]").Filler("=").Tip(">").Padding(" "),
		mpb.PrependDecorators(
			decor.Name(b.label, decor.WCSyncSpaceR),
			decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace),
		),
		mpb.AppendDecorators(
			decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), "done"),
			decor.Any(func(decor.Statistics) string {
				return fmt.Sprintf("%s  retries %d", b.partsText(), b.retries.Load())
			}, decor.WCSyncSpace),
		),
	)
	if total < 0 {
		b.bar.SetTotal(-1, false)
	}
}

func (b *barProgress) sent(n int64) {
	b.bytes.Add(n)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar == nil {
		return
	}
	// The bar completes (and stops redrawing) only in finish: until then its current value
	// stays below its total, so the last parts' completions are still drawn.
	cur := max(b.bytes.Load(), 0)
	if t := b.total.Load(); t < 0 {
		b.bar.SetTotal(cur+1, false)
	} else if cur >= t {
		cur = max(t-1, 0)
	}
	b.bar.SetCurrent(cur)
}

func (b *barProgress) skip(n int64, parts int) {
	b.skipped.Add(n)
	b.done.Add(int64(parts))
	b.sent(n)
}

func (b *barProgress) partDone() { b.done.Add(1) }
func (b *barProgress) retry()    { b.retries.Add(1) }

func (b *barProgress) finish(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar == nil {
		return
	}
	if ok {
		b.complete()
		b.bar.SetCurrent(b.bytes.Load())
		b.bar.SetTotal(b.bytes.Load(), true)
	} else {
		b.bar.Abort(false)
	}
	b.p.Wait()
	b.bar, b.p = nil, nil
}

// lineProgress prints one plain line at most every `every` and a last line at the end, for
// logs and pipes where a redrawn bar would be noise.
type lineProgress struct {
	w     io.Writer
	label string
	now   func() time.Time
	every time.Duration

	counters
	mu      sync.Mutex
	started time.Time
	last    time.Time
}

func (l *lineProgress) start(total int64, parts int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total.Store(total)
	l.parts.Store(int64(parts))
	l.started = l.now()
	l.last = l.started
}

func (l *lineProgress) sent(n int64) { l.bytes.Add(n) }

func (l *lineProgress) skip(n int64, parts int) {
	l.bytes.Add(n)
	l.skipped.Add(n)
	l.done.Add(int64(parts))
}
func (l *lineProgress) retry() { l.retries.Add(1) }

func (l *lineProgress) partDone() {
	l.done.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.last) < l.every {
		return
	}
	l.last = now
	l.printLocked(now, "")
}

func (l *lineProgress) finish(ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started.IsZero() {
		return
	}
	if ok {
		l.complete()
		l.printLocked(l.now(), "done")
	} else {
		l.printLocked(l.now(), "failed")
	}
}

func (l *lineProgress) printLocked(now time.Time, state string) {
	fmt.Fprintln(l.w, l.line(now, state))
}

// line renders the progress as of now, e.g.
// "upload s3://b/k: 48.0 MiB / 256.0 MiB (18%), parts 3/16, 85.2 MiB/s, ETA 2s, retries 0".
func (l *lineProgress) line(now time.Time, state string) string {
	sent, total := l.bytes.Load(), l.total.Load()
	elapsed := now.Sub(l.started)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(sent-l.skipped.Load()) / elapsed.Seconds() // what this run sent
	}
	s := fmt.Sprintf("%s: %s", l.label, cmdkit.FormatBytes(sent))
	if total >= 0 {
		pct := 100.0
		if total > 0 {
			pct = math.Floor(float64(sent) * 100 / float64(total))
		}
		s += fmt.Sprintf(" / %s (%.0f%%)", cmdkit.FormatBytes(total), pct)
	}
	s += fmt.Sprintf(", %s, %s/s", l.partsText(), cmdkit.FormatBytes(int64(rate)))
	switch {
	case state != "":
		s += fmt.Sprintf(", %s in %s", state, elapsed.Round(10*time.Millisecond))
	case total > 0 && rate > 0:
		eta := time.Duration(float64(total-sent) / rate * float64(time.Second))
		s += fmt.Sprintf(", ETA %s", eta.Round(time.Second))
	}
	return s + fmt.Sprintf(", retries %d", l.retries.Load())
}
