package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// progress counts the work of a command; the counters are updated by the workers and read
// by the display.
type progress struct {
	filesTotal atomic.Int64
	filesDone  atomic.Int64
	failed     atomic.Int64
	bytesTotal atomic.Int64
	bytesDone  atomic.Int64 // bytes of completed files plus bytes sent of files in flight
}

// display redraws one status line on a terminal every interval until stop is called:
// files done, bytes, rate. It writes nothing when w is not a terminal.
type display struct {
	w     io.Writer
	p     *progress
	verb  string
	start time.Time
	done  chan struct{}
	wg    sync.WaitGroup
}

func startDisplay(w io.Writer, enabled bool, p *progress, verb string, interval time.Duration) *display {
	d := &display{w: w, p: p, verb: verb, start: time.Now(), done: make(chan struct{})}
	if !enabled {
		return d
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-d.done:
				d.draw(true)
				return
			case <-t.C:
				d.draw(false)
			}
		}
	}()
	return d
}

func (d *display) line() string {
	el := time.Since(d.start)
	done := d.p.bytesDone.Load()
	s := fmt.Sprintf("%s %d/%d files, %s/%s, %s", d.verb, d.p.filesDone.Load(), d.p.filesTotal.Load(),
		cmdkit.FormatBytes(done), cmdkit.FormatBytes(d.p.bytesTotal.Load()), cmdkit.FormatRate(done, el))
	if f := d.p.failed.Load(); f > 0 {
		s += fmt.Sprintf(", %d failed", f)
	}
	return s
}

func (d *display) draw(final bool) {
	end := ""
	if final {
		end = "\n"
	}
	// \r returns to the line's start, ESC[K clears what the previous line left.
	fmt.Fprintf(d.w, "\r\x1b[K%s%s", d.line(), end)
}

// stop ends the display, leaving the last line on the terminal.
func (d *display) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	close(d.done)
	d.wg.Wait()
}
