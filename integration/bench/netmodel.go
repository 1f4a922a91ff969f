package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// The network model puts a toxiproxy proxy, run in this (the driver's) process, between each
// client and the server's plain-HTTP port. Its toxics, from the client to the server:
//
//	request   (ours)       a fraction of data requests runs SlowFactor times slower than the
//	                       connection's rate (wan-slow only); drawn per request, not per connection
//	bandwidth (toxiproxy)  the ceiling of each connection
//	link      (ours)       one token bucket shared by every connection: the link's ceiling
//	latency   (toxiproxy)  one-way latency with jitter, in both directions
//
// The proxy forwards bytes; it does not terminate TLS, so the wan scenarios run over plain HTTP,
// where the request toxic can see where each request starts and how long its body is. TLS costs
// (CPU) are what the lan scenarios measure.

// netParams are the model's parameters (flags of the driver, printed with the results).
type netParams struct {
	Latency      time.Duration `json:"latency_one_way"`
	Jitter       time.Duration `json:"jitter"`
	ConnRate     int64         `json:"conn_rate_bytes_per_s"`
	LinkRate     int64         `json:"link_rate_bytes_per_s"`
	SlowFraction float64       `json:"slow_fraction"`
	SlowFactor   float64       `json:"slow_factor"`
	SlowMinBody  int64         `json:"slow_min_body"`
	Seed         uint64        `json:"seed"`
}

func (p netParams) String() string {
	return fmt.Sprintf("latency %v±%v each way, %.0f MB/s per connection, link %.0f MB/s shared, slow requests (wan-slow) %.0f%% of bodies ≥ %s at 1/%.0f of the connection's rate, seed %d",
		p.Latency, p.Jitter, float64(p.ConnRate)/1e6, float64(p.LinkRate)/1e6, p.SlowFraction*100, formatSize(p.SlowMinBody), p.SlowFactor, p.Seed)
}

// netFlags defines the flags of the parameters every network model has: latency, jitter, the
// ceiling of each connection and the link's (linkRate is its default, linkUsage its text).
func netFlags(fs *flag.FlagSet, p *netParams, linkRate, linkUsage string) {
	fs.DurationVar(&p.Latency, "latency", 15*time.Millisecond, "network model: one-way latency, each direction")
	fs.DurationVar(&p.Jitter, "jitter", 5*time.Millisecond, "network model: jitter of the latency (±)")
	sizeVar(fs, &p.ConnRate, "conn-rate", "6MB", "network model: bandwidth ceiling of each connection, bytes per second")
	sizeVar(fs, &p.LinkRate, "link-rate", linkRate, linkUsage)
}

// check rejects parameters the model cannot apply.
func (p netParams) check() error {
	if p.ConnRate < 1000 || p.LinkRate < 1000 || p.SlowFactor < 1 || p.SlowFraction < 0 || p.SlowFraction > 1 || p.Latency < 0 || p.Jitter < 0 || p.Jitter > p.Latency {
		return errors.New("bad network model parameters")
	}
	return nil
}

// workerString describes a model without slow requests whose link is one worker's own.
func (p netParams) workerString() string {
	return fmt.Sprintf("latency %v±%v each way, %.0f MB/s per connection, link %.0f MB/s per worker (each worker has its own proxy and link)",
		p.Latency, p.Jitter, float64(p.ConnRate)/1e6, float64(p.LinkRate)/1e6)
}

// nets are the network scenarios: lan is the direct connection to the server.
var nets = []string{"lan", "wan", "wan-slow"}

// netProxy is one running proxy for one network scenario.
type netProxy struct {
	name     string
	proxy    *toxiproxy.Proxy
	endpoint string // http://127.0.0.1:port
	draws    *drawSeq
}

// registry of the shared state that the custom toxics look up by key (toxiproxy builds
// toxics from JSON, so they cannot be handed pointers).
var (
	modelMu    sync.Mutex
	linkShared = map[string]*rate.Limiter{}
	drawShared = map[string]*drawSeq{}
)

func init() {
	toxics.Register("s3mpu_link", new(linkToxic))
	toxics.Register("s3mpu_request", new(requestToxic))
	zerolog.SetGlobalLevel(zerolog.Disabled) // toxiproxy's logging: nothing worth printing here
}

// startNet starts the proxy of a wan scenario in front of the server's HTTP endpoint.
func startNet(name, upstreamEndpoint string, p netParams) (*netProxy, error) {
	u, err := url.Parse(upstreamEndpoint)
	if err != nil {
		return nil, err
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	px := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", u.Host)
	if err := px.Start(); err != nil {
		return nil, fmt.Errorf("start proxy %s: %w", name, err)
	}
	np := &netProxy{name: name, proxy: px, endpoint: "http://" + px.Listen, draws: &drawSeq{}}
	key := fmt.Sprintf("%s-%p", name, np)
	modelMu.Lock()
	burst := min(max(p.LinkRate/100, 64<<10), 1<<20)
	linkShared[key] = rate.NewLimiter(rate.Limit(p.LinkRate), int(burst))
	drawShared[key] = np.draws
	modelMu.Unlock()

	type toxic struct {
		Name       string  `json:"name"`
		Type       string  `json:"type"`
		Stream     string  `json:"stream"`
		Toxicity   float32 `json:"toxicity"`
		Attributes any     `json:"attributes"`
	}
	// The request toxic finds the data requests on every network (counting their body bytes);
	// only on wan-slow does it draw slow ones.
	fraction := 0.0
	if name == "wan-slow" {
		fraction = p.SlowFraction
	}
	add := []toxic{{Name: "request", Type: "s3mpu_request", Stream: "upstream", Attributes: requestToxic{
		Key: key, Rate: p.ConnRate, Fraction: fraction, Factor: p.SlowFactor, MinBody: p.SlowMinBody}}}
	add = append(add,
		toxic{Name: "bandwidth", Type: "bandwidth", Stream: "upstream", Attributes: toxics.BandwidthToxic{Rate: p.ConnRate / 1000}},
		toxic{Name: "link", Type: "s3mpu_link", Stream: "upstream", Attributes: linkToxic{Key: key}},
		toxic{Name: "latency_up", Type: "latency", Stream: "upstream", Attributes: toxics.LatencyToxic{Latency: p.Latency.Milliseconds(), Jitter: p.Jitter.Milliseconds()}},
		toxic{Name: "latency_down", Type: "latency", Stream: "downstream", Attributes: toxics.LatencyToxic{Latency: p.Latency.Milliseconds(), Jitter: p.Jitter.Milliseconds()}},
	)
	for _, t := range add {
		t.Toxicity = 1
		b, err := json.Marshal(t)
		if err != nil {
			np.stop()
			return nil, err
		}
		if _, err := px.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
			np.stop()
			return nil, fmt.Errorf("proxy %s: toxic %s: %w", name, t.Name, err)
		}
	}
	return np, nil
}

func (np *netProxy) stop() { np.proxy.Stop() }

// drawSeq is the sequence of per-request draws of a round: the k-th data request of a run gets
// the k-th draw of the round's seed, whichever client makes it (common random numbers), so
// every client of a round meets the same slow requests in the same places of its upload.
type drawSeq struct {
	seed atomic.Uint64
	n    atomic.Uint64
	slow atomic.Int64 // slow requests drawn in this run
	all  atomic.Int64 // data requests seen in this run
	run  atomic.Pointer[runBytes]
}

// runBytes counts the body bytes of the data requests of the connections opened during one
// run. A connection counts for the run it was opened in, also for the bytes it still passes
// after the run (a canceled request's bytes left in the socket buffers, passing a slow path
// after the client is gone), so the driver waits for them (see settle).
type runBytes struct {
	body  atomic.Int64 // bytes of the data requests' bodies that entered the model
	conns atomic.Int64 // connections still passing bytes
}

// settle waits, up to limit, until every connection opened in the run has passed its last
// byte, and returns the run's body bytes and whether they are all counted.
func (d *drawSeq) settle(limit time.Duration) (int64, bool) {
	rb := d.run.Load()
	if rb == nil {
		return 0, true
	}
	for deadline := time.Now().Add(limit); rb.conns.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	return rb.body.Load(), rb.conns.Load() == 0
}

// reset starts the sequence of a round.
func (d *drawSeq) reset(seed uint64) {
	d.seed.Store(seed)
	d.n.Store(0)
	d.slow.Store(0)
	d.all.Store(0)
	d.run.Store(&runBytes{})
}

// next returns the next uniform draw in [0, 1).
func (d *drawSeq) next() float64 {
	k := d.n.Add(1)
	return float64(splitmix64(d.seed.Load()*0x9e3779b97f4a7c15+k)>>11) / (1 << 53)
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// nextChunk waits for the next chunk of a toxic's input. It returns false when the toxic is
// to return: stop was closed, or the input ended (then the stub is closed as well).
func nextChunk(stub *toxics.ToxicStub, stop <-chan struct{}) (*stream.StreamChunk, bool) {
	select {
	case <-stop:
		return nil, false
	case c := <-stub.Input:
		if c == nil {
			stub.Close()
			return nil, false
		}
		return c, true
	}
}

// linkToxic passes the bytes of every connection through one shared token bucket.
type linkToxic struct {
	Key string `json:"key"`
}

func (t *linkToxic) Pipe(stub *toxics.ToxicStub) {
	modelMu.Lock()
	lim := linkShared[t.Key]
	modelMu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stub.Interrupt:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		c, ok := nextChunk(stub, ctx.Done())
		if !ok {
			return
		}
		for data := c.Data; len(data) > 0; {
			n := min(len(data), lim.Burst())
			if lim.WaitN(ctx, n) != nil {
				stub.Output <- &stream.StreamChunk{Data: data, Timestamp: c.Timestamp} // interrupted: drop nothing
				return
			}
			stub.Output <- &stream.StreamChunk{Data: data[:n], Timestamp: c.Timestamp}
			data = data[n:]
		}
	}
}

// requestToxic finds the HTTP/1.1 requests on a connection's client-to-server stream and, for
// each one whose body is at least MinBody bytes, draws whether it is slow: a slow request's
// body passes at Rate/Factor (the bandwidth toxic after it keeps the others at Rate). The draws come from the round's sequence (see drawSeq).
type requestToxic struct {
	Key      string  `json:"key"`
	Rate     int64   `json:"rate"` // the connection's rate, bytes per second
	Fraction float64 `json:"fraction"`
	Factor   float64 `json:"factor"`
	MinBody  int64   `json:"min_body"`
}

func (t *requestToxic) Pipe(stub *toxics.ToxicStub) {
	modelMu.Lock()
	draws := drawShared[t.Key]
	modelMu.Unlock()
	p := &reqParser{}
	rb := draws.run.Load()
	if rb == nil {
		rb = &runBytes{} // before the first run: counted nowhere
	}
	rb.conns.Add(1)
	defer rb.conns.Add(-1)
	slowRate := float64(t.Rate) / t.Factor
	var debt time.Duration // pacing owed by the slow bytes passed so far
	start := time.Now()
	dataReq := false // the request being read is a data request (a body of MinBody or more)
	for {
		c, ok := nextChunk(stub, stub.Interrupt)
		if !ok {
			return
		}
		for data := c.Data; len(data) > 0; {
			inBody := p.inBody
			n, slow := p.feed(data, func(body int64) bool {
				dataReq = body >= t.MinBody
				if !dataReq {
					return false
				}
				draws.all.Add(1)
				if draws.next() < t.Fraction {
					draws.slow.Add(1)
					return true
				}
				return false
			})
			if slow && n > 0 {
				if debt == 0 || time.Since(start) > debt+time.Second {
					start, debt = time.Now(), 0 // a new slow stretch: do not pay for idle time
				}
				debt += time.Duration(float64(n) / slowRate * float64(time.Second))
				if wait := debt - time.Since(start); wait > 0 {
					select {
					case <-time.After(wait):
					case <-stub.Interrupt:
						stub.Output <- &stream.StreamChunk{Data: data, Timestamp: c.Timestamp}
						return
					}
				}
			} else if !slow {
				debt = 0
			}
			if inBody && dataReq {
				rb.body.Add(int64(n))
			}
			stub.Output <- &stream.StreamChunk{Data: data[:n], Timestamp: c.Timestamp}
			data = data[n:]
		}
	}
}

// reqParser follows HTTP/1.1 request framing on one connection: headers, then a body of
// Content-Length bytes or in chunked transfer coding.
type reqParser struct {
	head    []byte // header bytes of the request being read
	inBody  bool
	chunked bool
	left    int64 // body bytes left (Content-Length), or of the current chunk
	slow    bool
	// chunked coding state: reading a size line (or the CRLF after a chunk's data, or trailers)
	line     []byte
	afterCRL bool // the CRLF after a chunk's data is still to come
	trailers bool
}

// feed consumes a prefix of data that belongs to one request (never crossing into the next)
// and returns its length and whether it is a slow request's body. draw is called once per
// request, when its headers are complete, with the body's declared length (-1 for chunked).
func (p *reqParser) feed(data []byte, draw func(body int64) bool) (int, bool) {
	if !p.inBody {
		for i, b := range data {
			p.head = append(p.head, b)
			if b == '\n' && bytes.HasSuffix(p.head, []byte("\r\n\r\n")) {
				p.startBody(draw)
				return i + 1, false
			}
			if len(p.head) > 1<<20 {
				p.head = p.head[:0] // not HTTP: pass it through
			}
		}
		return len(data), false
	}
	if !p.chunked {
		n := int(min(int64(len(data)), p.left))
		p.left -= int64(n)
		slow := p.slow
		if p.left == 0 {
			p.inBody = false
		}
		return n, slow
	}
	// Chunked: pass data in full, tracking sizes to find the end.
	for i := 0; i < len(data); {
		if p.left > 0 {
			n := int(min(int64(len(data)-i), p.left))
			p.left -= int64(n)
			i += n
			if p.left == 0 {
				p.afterCRL = true
			}
			continue
		}
		b := data[i]
		i++
		p.line = append(p.line, b)
		if b != '\n' {
			continue
		}
		line := strings.TrimSpace(string(p.line))
		p.line = p.line[:0]
		switch {
		case p.afterCRL:
			p.afterCRL = false
		case p.trailers:
			if line == "" {
				p.inBody, p.chunked, p.trailers = false, false, false
				return i, p.slow
			}
		default:
			sz, _, _ := strings.Cut(line, ";")
			n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
			if err != nil || n == 0 {
				p.trailers = true
			} else {
				p.left = n
			}
		}
	}
	return len(data), p.slow
}

func (p *reqParser) startBody(draw func(body int64) bool) {
	head := strings.ToLower(string(p.head))
	p.head = p.head[:0]
	p.inBody, p.chunked, p.left, p.slow = false, false, 0, false
	var length int64 = -1
	for _, l := range strings.Split(head, "\r\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "content-length":
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				length = n
			}
		case "transfer-encoding":
			if strings.Contains(v, "chunked") {
				p.chunked = true
			}
		}
	}
	switch {
	case p.chunked:
		p.inBody = true
		p.slow = draw(math.MaxInt64)
	case length > 0:
		p.inBody, p.left = true, length
		p.slow = draw(length)
	}
}
