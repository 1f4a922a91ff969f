package uploader

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s3mpu/s3mpu/uploader/event"
)

// Straggler hedging: on real networks a few requests run several times
// slower than their peers (a bad path, a busy front end), and the slowest
// part decides when an upload ends. A part whose request has run much
// longer than its peers took for as many bytes is sent again, on a fresh
// request, while the first one goes on; the first to be stored wins and the
// other is canceled. Both carry the same bytes with the same checksum, so
// the part S3 keeps is the same whichever lands last. AWS's guidance for
// S3 performance recommends retrying the slowest requests this way
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance-guidelines.html).

// Defaults of HedgeOptions applied to zero-valued fields (DefaultOptions
// returns them).
const (
	// defaultHedgeAfter is HedgeOptions.After when 0: a part is hedged once
	// its request has run twice as long as its peers took for as many bytes.
	defaultHedgeAfter = 2.0
	// defaultHedgeMinDelay is HedgeOptions.MinDelay when 0.
	defaultHedgeMinDelay = time.Second
	// defaultHedgeMaxInFlight is HedgeOptions.MaxInFlight when 0.
	defaultHedgeMaxInFlight = 2
	// defaultHedgeMaxFraction is HedgeOptions.MaxFraction when 0: hedging
	// sends at most 10% of the object's bytes twice.
	defaultHedgeMaxFraction = 0.10
)

// HedgeOptions configure straggler hedging of multipart uploads (Upload
// and Resume; not Copy, whose parts move no bytes over the network). It is
// on by default. A part is hedged when its request has run for
// After times the typical time of its peers for as many bytes (the median,
// per byte, of the recently stored parts, once two are stored), and at
// least MinDelay, and when the parts in flight beside it that are not
// late themselves, if any, hand their bytes to the transport at more than
// After times its pace (so
// that parts all slowed alike, by more of them sharing a link, are not
// hedged). It is hedged earlier, once it has run MinDelay, when in each
// of two windows of 0.35 s in a row it handed its bytes over at less than
// 1/(2×After) of its peers' rate (of the parts in flight beside it, or of
// the stored ones when higher) and would, at that rate, end beyond After
// times its typical time. Its bytes are sent again on a fresh request of the same
// client (its connection pool gives it an idle connection or a new one).
// The first request to succeed wins: its ETag and checksum go into
// CompleteMultipartUpload, once per part. The other is canceled, unless
// it has already handed all its bytes to the transport: a server could
// then still store it after Complete (versitygw brings a completed upload
// back that way), so it is left to finish and its answer is awaited.
//
// A part is hedged at most once, never once its first request has handed
// all its bytes over, never while MaxInFlight hedges run, and never when
// the bytes sent twice could pass MaxFraction of the object (of the bytes
// read so far for a stream of unknown size): a hedged part counts whole
// until it is settled, then for the bytes its losing request had handed
// to the transport, so a loser canceled early leaves room for more. A hedge is one attempt; when
// it fails, the first request goes on with its own retries. Hedged and
// HedgeDone events report each hedge. A hedge runs beside Concurrency's
// parts, and a hedged part of Upload gives its place among them to the
// next part while its two requests race on, when one more request fits
// within MaxInFlight: at most Concurrency + MaxInFlight requests are in
// flight, and the upload still waits for both before it completes.
type HedgeOptions struct {
	// Off turns hedging off.
	Off bool
	// After is how many times its peers' typical time a part's request
	// must have run before it is hedged (default 2; at least 1).
	After float64
	// MinDelay is the least time a part's request runs before it is hedged
	// (default 1s), so that the jitter of fast networks,
	// where parts take a fraction of a second, costs no bytes.
	MinDelay time.Duration
	// MaxInFlight bounds the requests running beside Concurrency's parts
	// (default 2): each hedge, and the first request of each hedged part
	// that gave its place to the next part.
	MaxInFlight int
	// MaxFraction bounds the bytes sent twice by hedging, as a fraction of
	// the object's size, between 0 and 1 (default 0.10).
	MaxFraction float64
}

// resolve applies the defaults and rejects values out of range.
func (h HedgeOptions) resolve() (HedgeOptions, error) {
	orDefault(&h.After, defaultHedgeAfter)
	orDefault(&h.MinDelay, defaultHedgeMinDelay)
	orDefault(&h.MaxInFlight, defaultHedgeMaxInFlight)
	orDefault(&h.MaxFraction, defaultHedgeMaxFraction)
	switch {
	case h.After < 1 || h.After != h.After:
		return h, invalidf("Hedge.After %v is less than 1", h.After)
	case h.MinDelay < 0:
		return h, invalidf("Hedge.MinDelay %v is negative", h.MinDelay)
	case h.MaxInFlight < 0:
		return h, invalidf("Hedge.MaxInFlight %d is negative", h.MaxInFlight)
	case h.MaxFraction < 0 || h.MaxFraction > 1 || h.MaxFraction != h.MaxFraction:
		return h, invalidf("Hedge.MaxFraction %v is outside 0 to 1", h.MaxFraction)
	}
	return h, nil
}

// hedgeSamples is how many recently stored parts the typical time per byte
// is taken from; hedgeMinSamples how many must be stored before any part
// is hedged; hedgeCheckEvery how often a part in flight is looked at once
// it has run for MinDelay (before, only when its rate window closes).
// hedgeRateWindow is how long the rate at which a part in flight hands its
// bytes over is measured (the last two complete windows count).
const (
	hedgeSamples    = 16
	hedgeMinSamples = 2
	hedgeCheckEvery = 50 * time.Millisecond
	hedgeRateWindow = 350 * time.Millisecond
)

// flight is a part in flight, as its hedger sees it.
type flight struct {
	start   time.Time // when its first request started
	winT    time.Time // start of the rate window being measured
	winSent int64     // the part's bytes handed over at winT
	rate    float64   // bytes per second in the last complete window; < 0 before one
	prev    float64   // bytes per second in the window before; < 0 before one
	windows int       // complete windows
}

// hedger is the hedging state of one upload.
type hedger struct {
	up *upload
	o  HedgeOptions

	mu       sync.Mutex
	perByte  []float64 // nanoseconds per byte of recently stored parts (a ring)
	next     int
	inFlight int   // requests outside the parts' slots: hedges, and the first requests of hedged parts that gave their slot back
	reserved int64 // bytes of the hedged parts not settled yet, each counted whole
	spent    int64 // bytes sent twice by the hedged parts settled: each loser's bytes
	seen     int64 // bytes of the parts started, the base of a stream of unknown size
	flights  map[*partRecord]*flight
	wakes    atomic.Int64 // looks at a part in flight, for tests
}

// hedges returns the upload's hedger, nil when hedging is off.
func (up *upload) hedges() *hedger {
	up.hedgeOnce.Do(func() {
		if !up.o.Hedge.Off {
			up.hedge = &hedger{up: up, o: up.o.Hedge}
		}
	})
	return up.hedge
}

// sendGate settles the race between canceling a request and its body
// handing its last bytes to the transport: a request canceled before that
// cannot be stored (the server gets a short body); one that handed all
// its bytes over may still be, so it is not canceled.
type sendGate struct {
	mu        sync.Mutex
	canceled  bool
	handedOff bool
	sent      int64 // the most bytes of the part a body of the request handed over
}

// advance records that a body of the request handed over the part's bytes
// up to pos.
func (g *sendGate) advance(pos int64) {
	g.mu.Lock()
	g.sent = max(g.sent, pos)
	g.mu.Unlock()
}

// handed returns the most bytes of the part a body of the request handed
// over; 0 for a nil gate.
func (g *sendGate) handed() int64 {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent
}

type gateKey struct{}

func withGate(ctx context.Context, g *sendGate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

func gateFrom(ctx context.Context) *sendGate {
	g, _ := ctx.Value(gateKey{}).(*sendGate)
	return g
}

// errHedgeLost ends the body of a request canceled because the other
// request of its part won.
var errHedgeLost = errors.New("the part was stored by its other request")

// handOff is called before the body hands its last bytes over; false means
// the request was canceled and must not send them.
func (g *sendGate) handOff() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.canceled {
		g.handedOff = true
	}
	return !g.canceled
}

// stopped reports whether the request was canceled.
func (g *sendGate) stopped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.canceled
}

// sentAll reports whether the body handed all its bytes over.
func (g *sendGate) sentAll() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.handedOff
}

// cancel cancels the request (calling cancel with the gate held, so the
// body sees a canceled context) unless its body handed all its bytes over.
func (g *sendGate) cancel(cancel context.CancelFunc) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.handedOff {
		return false
	}
	g.canceled = true
	cancel()
	return true
}

// storedPart is what a successful UploadPart of a part returned.
type storedPart struct {
	sum      partSum
	etag     string
	attempts int
}

// contender is the outcome of one of a part's requests (with its retries).
type contender struct {
	res   storedPart
	err   error
	hedge bool
	took  time.Duration
}

// send uploads one part as sendPart does, hedging it when it falls behind.
// Once hedged, the part gives its slot back with free (when not nil), as
// soon as the bound on requests outside the slots allows, so that the
// next part starts while its two requests race on; send still returns
// only once both have ended, so the upload waits for them, their error
// fails it, and its body (a stream's buffer) is not reused before.
func (h *hedger) send(ctx context.Context, rec *partRecord, open func() io.ReadSeeker, free func()) error {
	up := h.up
	start := time.Now()
	defer h.track(rec, start)()

	done := make(chan contender, 2)
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	r := &race{pgate: &sendGate{}, pcancel: pcancel, hcancel: func() {}, running: 1}
	go func() {
		res, err := up.storePart(withGate(pctx, r.pgate), rec, open, up.o.MaxAttempts)
		done <- contender{res: res, err: err, took: time.Since(start)}
	}()
	defer func() { r.hcancel() }()
	// No part is due before MinDelay: until then the part is looked at
	// only to close its rate windows, so that parts that end sooner (all
	// of them on a fast network) cost few wake-ups or none.
	timer := time.NewTimer(min(h.o.MinDelay, hedgeRateWindow))
	defer timer.Stop()
	for r.running > 0 {
		select {
		case c := <-done:
			if c.hedge || r.freed {
				h.hedgeEnded()
			}
			r.end(c)
		case <-timer.C:
			if r.hgate != nil && !r.freed && r.running == 2 && r.win == nil {
				// Hedged, the slot not given back yet: look again.
				h.free(r, free)
				if !r.freed {
					timer.Reset(hedgeCheckEvery)
				}
				continue
			}
			if r.hgate != nil || r.win != nil || r.firstErr != nil || r.pgate.sentAll() {
				continue // hedged already, settled, or past hedging: no more checks
			}
			elapsed := time.Since(start)
			if elapsed < h.o.MinDelay {
				timer.Reset(h.beforeDue(rec, elapsed))
				continue
			}
			due, typical, wait := h.due(rec, elapsed)
			if !due || !h.admit(rec.Size) {
				timer.Reset(wait)
				continue
			}
			_ = up.em.emit(event.Hedged{PartNumber: rec.Number, Size: rec.Size, Elapsed: elapsed, Typical: typical})
			r.hedged = true
			// hcancel is called by the deferred function, or when the first request wins.
			r.hgate, r.hcancel = h.startHedge(ctx, rec, open, done)
			r.running++
			h.free(r, free)
			if !r.freed && free != nil {
				timer.Reset(hedgeCheckEvery)
			}
		}
	}
	return h.finish(rec, r)
}

// free gives the slot of r's hedged part back, with free, when one more
// request outside the slots fits within MaxInFlight: the first request
// then runs outside them too, so at most Concurrency + MaxInFlight
// requests are in flight.
func (h *hedger) free(r *race, free func()) {
	if free == nil || r.freed {
		return
	}
	h.mu.Lock()
	ok := h.inFlight < h.o.MaxInFlight
	if ok {
		h.inFlight++
	}
	h.mu.Unlock()
	if ok {
		r.freed = true
		free()
	}
}

// track records rec as in flight from start, for the peers' rates; the
// function it returns forgets it.
func (h *hedger) track(rec *partRecord, start time.Time) func() {
	h.mu.Lock()
	h.seen += rec.Size
	if h.flights == nil {
		h.flights = map[*partRecord]*flight{}
	}
	h.flights[rec] = &flight{start: start, winT: start, rate: -1, prev: -1}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.flights, rec)
		h.mu.Unlock()
	}
}

// race is the state of a part's first request and of its hedge, if any.
type race struct {
	pgate, hgate       *sendGate
	pcancel, hcancel   context.CancelFunc
	running            int // requests not ended
	win                *contender
	firstErr, hedgeErr error
	canceled, hedged   bool
	freed              bool // the part gave its slot back: both requests count outside the slots
}

// end takes the end of one request: the first to store the part wins and
// the other, still running, is canceled unless it has handed all its bytes
// over.
func (r *race) end(c contender) {
	r.running--
	switch {
	case r.win != nil:
		// The loser's end.
	case c.err == nil:
		r.win = &c
		if r.running > 0 {
			if c.hedge {
				r.canceled = r.pgate.cancel(r.pcancel)
			} else {
				r.canceled = r.hgate.cancel(r.hcancel)
			}
		}
	case c.hedge:
		r.hedgeErr = c.err
	default:
		r.firstErr = c.err
	}
}

// finish settles a part whose requests have all ended: the hedge budget,
// the HedgeDone event, the sample of the winner's time and the part's
// result.
func (h *hedger) finish(rec *partRecord, r *race) error {
	up := h.up
	if r.hedged {
		// The bytes sent twice are the loser's: the first request's when
		// the hedge won (read before sentAll counts the rest), else the
		// hedge's.
		cost := r.hgate.handed()
		if r.win != nil && r.win.hedge {
			cost = rec.sent.Load()
		}
		h.settle(rec.Size, cost)
		h.reportHedge(rec, r.win, r.canceled, r.hedgeErr)
	}
	if r.win == nil {
		if r.firstErr == nil {
			return r.hedgeErr
		}
		return r.firstErr
	}
	h.sample(rec.Size, r.win.took)
	res := r.win.res
	if r.hedged {
		res.attempts++
		if r.win.hedge {
			up.sentAll(rec)
		}
	}
	return up.partStored(rec, res)
}

// reportHedge sends the HedgeDone event of a hedged part: which request
// won (win is nil when neither stored it), whether the loser was canceled,
// and the hedge's error when the hedge did not win.
func (h *hedger) reportHedge(rec *partRecord, win *contender, canceled bool, hedgeErr error) {
	ev := event.HedgeDone{PartNumber: rec.Number, HedgeWon: win != nil && win.hedge, LoserCanceled: canceled}
	if hedgeErr != nil && (win == nil || !win.hedge) {
		ev.Err = hedgeErr
	}
	_ = h.up.em.emit(ev)
}

// startHedge sends rec again on a request of its own, which reports to
// done; it returns the hedge's gate and the function that cancels it.
func (h *hedger) startHedge(ctx context.Context, rec *partRecord, open func() io.ReadSeeker, done chan<- contender) (*sendGate, context.CancelFunc) {
	gate := &sendGate{}
	hctx, cancel := context.WithCancel(ctx)
	// The hedge's bytes are not the upload's progress: its record's
	// high-water mark starts full, so it reports no BytesSent.
	shadow := &partRecord{Number: rec.Number, Offset: rec.Offset, Size: rec.Size, sum: rec.sum}
	shadow.sent.Store(rec.Size)
	start := time.Now()
	go func() {
		res, err := h.up.storePart(withGate(hctx, gate), shadow, open, 1)
		done <- contender{res: res, err: err, hedge: true, took: time.Since(start)}
	}()
	return gate, cancel
}

// sentAll counts the bytes of a part that its hedge sent and its first
// request had not, so that BytesSent adds up to the object's size.
func (up *upload) sentAll(rec *partRecord) {
	if n := up.raiseSent(rec, rec.Size); n > 0 && up.em.listening() {
		up.reportSent(rec.Number, n)
	}
}

// raiseSent raises rec's high-water mark of bytes handed to the transport
// to pos and adds what is new to the upload's progress; it returns the
// new bytes (0 when pos is not beyond the mark). A body's Read and the
// hedge's sentAll may raise the same mark at once: each new byte is
// counted once, and the mark never goes back.
func (up *upload) raiseSent(rec *partRecord, pos int64) int64 {
	for {
		hw := rec.sent.Load()
		if pos <= hw {
			return 0
		}
		if rec.sent.CompareAndSwap(hw, pos) {
			up.progress.Add(pos - hw)
			return pos - hw
		}
	}
}

// due reports whether part rec, whose request has run for elapsed, is due
// for a hedge, its peers' typical time for it, and, when not due, how long
// to wait before asking again. Two kinds of evidence make it due, either
// after MinDelay at least:
//
//   - it is late: it has run After times as long as the stored parts took
//     for as many bytes (the median), and, when other parts that are not
//     late themselves are in flight beside it, its bytes handed to the
//     transport so far come at less than 1/After of their median pace:
//     parts that are all slow (more of them sharing the link, say) are
//     not stragglers;
//   - it is slow: in each of the last two rate windows (0.7 s) it handed
//     its bytes over at less than 1/(2×After) of the rate of its peers
//     (the median of the parts in flight beside it, past their first
//     window, which holds the burst that fills a connection's buffers;
//     or the stored parts' when higher), and at that rate it would end
//     beyond After times its typical time. This catches a straggler long
//     before it is late, and in the first round too, before any part is
//     stored; the factor 2 and the two windows keep the rates of parts of
//     normal speed, which vary from window to window (a new connection
//     beside them, a link shared unevenly, a busy CPU), from passing for
//     evidence.
func (h *hedger) due(rec *partRecord, elapsed time.Duration) (bool, time.Duration, time.Duration) {
	h.wakes.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	h.measureRates(now)
	samples := len(h.perByte) >= hedgeMinSamples
	var perByte float64 // nanoseconds per byte of the stored parts; 0 before enough are
	if samples {
		perByte = median(h.perByte)
	}
	late := func(size int64) time.Duration {
		if !samples {
			return time.Duration(math.MaxInt64)
		}
		return max(h.o.MinDelay, time.Duration(h.o.After*perByte*float64(size)))
	}
	// The pace and the rate of the parts in flight that are not late themselves.
	var paces, rates []float64
	for r, f := range h.flights {
		if d := now.Sub(f.start); r != rec && d >= hedgeCheckEvery && d < late(r.Size) {
			paces = append(paces, float64(r.sent.Load())/d.Seconds())
			if f.windows >= 2 {
				// Not its first window, which holds the burst of bytes
				// that fill the connection's buffers.
				rates = append(rates, f.rate)
			}
		}
	}
	// The peers' rate, bytes per second (0 when unknown): the higher of
	// the parts' in flight (a window may hold a part's wait for its
	// answer, and hold it low) and the stored parts'.
	var ref float64
	if len(rates) >= 2 {
		ref = median(rates)
	}
	if samples {
		ref = max(ref, 1e9/perByte)
	}
	typical := time.Duration(perByte * float64(rec.Size))
	if typical == 0 && ref > 0 {
		typical = time.Duration(float64(rec.Size) / ref * 1e9)
	}
	at := late(rec.Size)
	if elapsed >= at {
		if len(paces) > 0 {
			if pace := float64(rec.sent.Load()) / elapsed.Seconds(); pace*h.o.After > median(paces) {
				return false, typical, hedgeCheckEvery
			}
		}
		return true, typical, hedgeCheckEvery
	}
	wait := min(at-elapsed, hedgeCheckEvery)
	f := h.flights[rec]
	if elapsed < h.o.MinDelay || f == nil || f.prev < 0 || ref <= 0 || max(f.rate, f.prev)*2*h.o.After > ref {
		return false, typical, wait
	}
	left := rec.Size - rec.sent.Load()
	if f.rate > 0 && elapsed.Seconds()+float64(left)/f.rate < h.o.After*typical.Seconds() {
		return false, typical, wait
	}
	return true, typical, hedgeCheckEvery
}

// beforeDue looks at part rec, whose request has run for elapsed, less
// than MinDelay: it closes the rate windows of the parts in flight (see
// measureRates) and returns how long to wait before the next look, until
// rec's window closes or MinDelay passes, whichever comes first.
func (h *hedger) beforeDue(rec *partRecord, elapsed time.Duration) time.Duration {
	h.wakes.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	h.measureRates(now)
	wait := h.o.MinDelay - elapsed
	if f := h.flights[rec]; f != nil {
		wait = min(wait, f.winT.Add(hedgeRateWindow).Sub(now))
	}
	return max(wait, time.Millisecond)
}

// measureRates closes the rate windows of the parts in flight that have
// run their length. h.mu is held.
func (h *hedger) measureRates(now time.Time) {
	for r, f := range h.flights {
		if d := now.Sub(f.winT); d >= hedgeRateWindow {
			sent := r.sent.Load()
			f.prev, f.rate = f.rate, float64(sent-f.winSent)/d.Seconds()
			f.winT, f.winSent = now, sent
			f.windows++
		}
	}
}

// median returns the median of v (not empty), leaving v as it is.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + m) / 2
	}
	return m
}

// admit takes a hedge of size bytes within the bounds, or reports false.
// The fraction bounds the bytes sent twice: those of the hedged parts
// settled (each loser's bytes, see settle) and, for the parts not settled
// yet, their whole size, as much as the loser may still send.
func (h *hedger) admit(size int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	base := h.up.size
	if base < 0 {
		base = h.seen
	}
	if h.inFlight >= h.o.MaxInFlight || float64(h.spent+h.reserved+size) > h.o.MaxFraction*float64(base) {
		return false
	}
	h.inFlight++
	h.reserved += size
	return true
}

// settle replaces the reservation of a hedged part of size bytes, once
// both its requests ended, by what it cost: the bytes its losing request
// had handed over (a loser canceled early costs little; one left to finish
// costs the part).
func (h *hedger) settle(size, cost int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserved -= size
	h.spent += min(max(cost, 0), size)
}

func (h *hedger) hedgeEnded() {
	h.mu.Lock()
	h.inFlight--
	h.mu.Unlock()
}

// sample records the time a stored part of size bytes took.
func (h *hedger) sample(size int64, took time.Duration) {
	if size <= 0 {
		return
	}
	v := float64(took) / float64(size)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.perByte) < hedgeSamples {
		h.perByte = append(h.perByte, v)
		return
	}
	h.perByte[h.next] = v
	h.next = (h.next + 1) % hedgeSamples
}
