// Package faultproxy is a fault-injecting reverse proxy for S3 requests. It runs on
// 127.0.0.1 inside the test process, in front of a real S3-compatible server, and spoils a
// chosen share of the requests passing through it in the ways networks and servers do:
//
//   - InternalError: answers 500 with an S3 XML error body (code InternalError);
//   - SlowDown: answers 503 with an S3 XML error body (code SlowDown);
//   - ResetBeforeBody: resets the TCP connection before reading the request body;
//   - ResetMidBody: reads part of the request body, then resets the connection;
//   - Stall: holds the response past the client's timeout (bounded by Config.StallFor), then
//     resets the connection. For UploadPart, PutObject and CompleteMultipartUpload the request
//     is first forwarded, so the server did the work and only the answer is lost;
//   - CorruptBody: flips one byte of the request body in flight (the data bytes of an
//     aws-chunked body, never its framing), so only a checksum can notice;
//   - CompleteErrorBody: answers CompleteMultipartUpload with 200 OK and an XML error body,
//     as S3 does when a Complete fails after the status line was sent.
//
// Each fault is offered only to the request kinds it makes sense for (see Eligible): body
// corruption to UploadPart and PutObject, the 200 error body to CompleteMultipartUpload, and
// no fault ever forwards a CreateMultipartUpload whose answer is then lost (that would leave an
// upload the client cannot know about).
//
// Which requests are spoiled is decided by Rules (an operation set, a rate, fault kinds and an
// optional cap per request target) and a seeded random source, so a run can be repeated
// with the same seed (the order of concurrent requests still varies). Every request and
// every injected fault is counted; Tally returns the counts.
//
// A Proxy is safe for concurrent use. Close stops its listeners and waits for every handler
// it started.
package faultproxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is a kind of fault.
type Kind int

// The fault kinds. None means the request passes untouched.
const (
	None Kind = iota
	InternalError
	SlowDown
	ResetBeforeBody
	ResetMidBody
	Stall
	CorruptBody
	CompleteErrorBody
	numKinds
)

// AllKinds lists every fault kind, in order.
var AllKinds = []Kind{InternalError, SlowDown, ResetBeforeBody, ResetMidBody, Stall, CorruptBody, CompleteErrorBody}

var kindNames = [...]string{
	None:              "none",
	InternalError:     "500-internal-error",
	SlowDown:          "503-slow-down",
	ResetBeforeBody:   "reset-before-body",
	ResetMidBody:      "reset-mid-body",
	Stall:             "stall",
	CorruptBody:       "corrupt-body",
	CompleteErrorBody: "complete-200-error",
}

// String returns the kind's name, e.g. "503-slow-down".
func (k Kind) String() string { return enumName(kindNames[:], k, "kind") }

// enumName returns names[v], or "what(v)" for a value the table does not name.
func enumName[T ~int](names []string, v T, what string) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return what + "(" + strconv.Itoa(int(v)) + ")"
}

// Op is the S3 operation a request performs, as far as the proxy can tell from its method,
// path and query.
type Op int

// The operations the proxy recognises.
const (
	Other Op = iota
	CreateMultipartUpload
	UploadPart
	UploadPartCopy
	CompleteMultipartUpload
	AbortMultipartUpload
	ListParts
	ListMultipartUploads
	PutObject
	CopyObject
	GetObject
	HeadObject
	numOps
)

var opNames = [...]string{
	Other:                   "Other",
	CreateMultipartUpload:   "CreateMultipartUpload",
	UploadPart:              "UploadPart",
	UploadPartCopy:          "UploadPartCopy",
	CompleteMultipartUpload: "CompleteMultipartUpload",
	AbortMultipartUpload:    "AbortMultipartUpload",
	ListParts:               "ListParts",
	ListMultipartUploads:    "ListMultipartUploads",
	PutObject:               "PutObject",
	CopyObject:              "CopyObject",
	GetObject:               "GetObject",
	HeadObject:              "HeadObject",
}

// String returns the operation's S3 name, e.g. "UploadPart".
func (o Op) String() string { return enumName(opNames[:], o, "op") }

// Classify tells which S3 operation a path-style request performs.
func Classify(r *http.Request) Op {
	q := r.URL.Query()
	q.Del("x-id") // the SDK names some operations in the query
	path := strings.TrimPrefix(r.URL.Path, "/")
	hasKey := strings.Contains(path, "/") && !strings.HasSuffix(path, "/") || strings.Count(path, "/") > 1
	_, uploads := q["uploads"]
	uploadID := q.Get("uploadId")
	copySource := r.Header.Get("X-Amz-Copy-Source") != ""
	switch r.Method {
	case http.MethodPost:
		switch {
		case uploads && hasKey:
			return CreateMultipartUpload
		case uploadID != "":
			return CompleteMultipartUpload
		}
	case http.MethodPut:
		switch {
		case uploadID != "" && q.Get("partNumber") != "":
			if copySource {
				return UploadPartCopy
			}
			return UploadPart
		case hasKey && len(q) == 0:
			if copySource {
				return CopyObject
			}
			return PutObject
		}
	case http.MethodDelete:
		if uploadID != "" {
			return AbortMultipartUpload
		}
	case http.MethodGet:
		switch {
		case uploadID != "":
			return ListParts
		case uploads && !hasKey:
			return ListMultipartUploads
		case hasKey && (len(q) == 0 || q.Has("partNumber") || q.Has("versionId")):
			return GetObject
		}
	case http.MethodHead:
		if hasKey {
			return HeadObject
		}
	}
	return Other
}

// Eligible reports whether a fault of kind k makes sense for operation op.
func Eligible(op Op, k Kind) bool {
	switch k {
	case InternalError, SlowDown, ResetBeforeBody:
		return true
	case ResetMidBody, CorruptBody:
		return op == UploadPart || op == PutObject
	case Stall:
		return op != AbortMultipartUpload
	case CompleteErrorBody:
		return op == CompleteMultipartUpload
	}
	return false
}

// forwardsOnStall reports whether a stalled request is first forwarded to the server, so that
// the work is done and only its answer is lost.
func forwardsOnStall(op Op) bool {
	return op == UploadPart || op == PutObject || op == CompleteMultipartUpload
}

// Rule says which requests may be spoiled and how. A request is matched against the rules
// in order; the first rule whose Ops contain the request's operation decides.
type Rule struct {
	// Ops are the operations the rule applies to. Empty means every operation.
	Ops []Op
	// Rate is the probability, 0..1, that a matching request is spoiled.
	Rate float64
	// Kinds are the faults to choose from, uniformly among those eligible for the request's
	// operation (and body). Empty means all kinds.
	Kinds []Kind
	// MaxPerTarget, when positive, caps the faults injected into requests aimed at the same
	// target (operation, bucket and key, upload ID, part number), so that a client that
	// retries a few times gets through. Zero means no cap.
	MaxPerTarget int
}

// DefaultStallFor is the default bound of a stalled response.
const DefaultStallFor = 5 * time.Second

// Config configures a Proxy. Zero fields mean their defaults.
type Config struct {
	// Upstream is the server's base URL, e.g. "http://127.0.0.1:9000". Required.
	Upstream string
	// Transport carries requests to the upstream server (for an https upstream it must trust
	// the server's certificate). Default: a clone of http.DefaultTransport.
	Transport *http.Transport
	// Seed seeds the random choices.
	Seed uint64
	// Rules decide which requests are spoiled. None means the proxy only forwards.
	Rules []Rule
	// StallFor bounds a stall: the proxy holds the response until the client gives up or
	// StallFor passes, whichever comes first. Default DefaultStallFor.
	StallFor time.Duration
	// Match, when set, limits faults to the requests for which it returns true (others are
	// forwarded untouched but still counted).
	Match func(*http.Request) bool
}

// Fault records one injected fault.
type Fault struct {
	Seq      int64
	Op       Op
	Kind     Kind
	Path     string
	UploadID string
	Part     string
	// Offset is the body offset (of the decoded payload) at which CorruptBody flipped a byte,
	// or at which ResetMidBody cut the body; -1 otherwise.
	Offset int64
}

// Proxy is a fault-injecting reverse proxy. Make one with New.
type Proxy struct {
	cfg       Config
	upstream  *url.URL
	transport *http.Transport

	mu      sync.Mutex
	rng     *rand.Rand
	rules   []Rule
	targets map[string]int
	faults  []Fault
	counts  [numOps][numKinds]int64
	reqs    [numOps]int64

	seq     atomic.Int64
	servers []*http.Server
	done    chan struct{}

	hmu      sync.Mutex // guards closing and every handlers.Add
	closing  bool
	handlers sync.WaitGroup
}

// New makes a proxy in front of cfg.Upstream. It does not listen until ListenHTTP or
// ListenTLS is called.
func New(cfg Config) (*Proxy, error) {
	u, err := url.Parse(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: upstream %q: %w", cfg.Upstream, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q: want http(s)://host:port", cfg.Upstream)
	}
	for i, r := range cfg.Rules {
		if r.Rate < 0 || r.Rate > 1 {
			return nil, fmt.Errorf("faultproxy: rule %d: rate %v outside 0..1", i, r.Rate)
		}
		for _, k := range r.Kinds {
			if k <= None || k >= numKinds {
				return nil, fmt.Errorf("faultproxy: rule %d: unknown fault kind %d", i, int(k))
			}
		}
	}
	if cfg.StallFor <= 0 {
		cfg.StallFor = DefaultStallFor
	}
	tr := cfg.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Proxy{
		cfg:       cfg,
		upstream:  u,
		transport: tr,
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		rules:     slices.Clone(cfg.Rules),
		targets:   map[string]int{},
		done:      make(chan struct{}),
	}, nil
}

// SetRules replaces the rules for the requests that arrive from now on.
func (p *Proxy) SetRules(rules ...Rule) {
	p.mu.Lock()
	p.rules = slices.Clone(rules)
	p.mu.Unlock()
}

// ListenHTTP serves the proxy over plain HTTP on a free port of 127.0.0.1 and returns its
// base URL.
func (p *Proxy) ListenHTTP() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("faultproxy: listen: %w", err)
	}
	p.serve(ln, nil)
	return "http://" + ln.Addr().String(), nil
}

// ListenTLS serves the proxy over HTTPS (HTTP/1.1 only) with the certificate on a free port of
// 127.0.0.1 and returns its base URL. The certificate must cover 127.0.0.1.
func (p *Proxy) ListenTLS(cert tls.Certificate) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("faultproxy: listen: %w", err)
	}
	tcfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}
	p.serve(tls.NewListener(ln, tcfg), tcfg)
	return "https://" + ln.Addr().String(), nil
}

func (p *Proxy) serve(ln net.Listener, tcfg *tls.Config) {
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig:         tcfg,
		// An empty, non-nil map keeps HTTP/2 off, so connections can be hijacked and reset.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     nil,
	}
	p.mu.Lock()
	p.servers = append(p.servers, srv)
	p.mu.Unlock()
	if !p.enter() {
		_ = ln.Close()
		return
	}
	go func() {
		defer p.handlers.Done()
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
}

// Close stops the listeners, ends stalls, closes every connection and waits for the
// handlers to return.
func (p *Proxy) Close() error {
	p.hmu.Lock()
	if p.closing {
		p.hmu.Unlock()
		return nil
	}
	p.closing = true
	p.hmu.Unlock()
	close(p.done)
	p.mu.Lock()
	servers := p.servers
	p.mu.Unlock()
	var errs []error
	for _, s := range servers {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.handlers.Wait()
	p.transport.CloseIdleConnections()
	return errors.Join(errs...)
}

// enter counts a handler in, unless the proxy is closing.
func (p *Proxy) enter() bool {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	if p.closing {
		return false
	}
	p.handlers.Add(1)
	return true
}

// decide picks the fault for a request, or None.
func (p *Proxy) decide(r *http.Request, op Op, bodyLen int64) (Kind, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs[op]++
	if p.cfg.Match != nil && !p.cfg.Match(r) {
		return None, -1
	}
	var rule *Rule
	for i := range p.rules {
		if len(p.rules[i].Ops) == 0 || slices.Contains(p.rules[i].Ops, op) {
			rule = &p.rules[i]
			break
		}
	}
	if rule == nil || rule.Rate <= 0 {
		return None, -1
	}
	kinds := rule.Kinds
	if len(kinds) == 0 {
		kinds = AllKinds
	}
	var eligible []Kind
	for _, k := range kinds {
		if !Eligible(op, k) {
			continue
		}
		if (k == CorruptBody || k == ResetMidBody) && bodyLen < 2 {
			continue
		}
		eligible = append(eligible, k)
	}
	// Roll even when nothing is eligible, so the random sequence depends only on the
	// requests' order.
	roll := p.rng.Float64()
	pick := p.rng.IntN(1 << 30)
	off := int64(-1)
	if bodyLen > 1 {
		off = p.rng.Int64N(bodyLen)
	}
	if len(eligible) == 0 || roll >= rule.Rate {
		return None, -1
	}
	if rule.MaxPerTarget > 0 {
		t := target(r, op)
		if p.targets[t] >= rule.MaxPerTarget {
			return None, -1
		}
		p.targets[t]++
	}
	k := eligible[pick%len(eligible)]
	if k == ResetMidBody && off <= 0 {
		off = 1
	}
	p.counts[op][k]++
	q := r.URL.Query()
	f := Fault{Seq: p.seq.Add(1), Op: op, Kind: k, Path: r.URL.Path, UploadID: q.Get("uploadId"), Part: q.Get("partNumber"), Offset: -1}
	if k == CorruptBody || k == ResetMidBody {
		f.Offset = off
	}
	p.faults = append(p.faults, f)
	return k, off
}

func target(r *http.Request, op Op) string {
	q := r.URL.Query()
	return op.String() + " " + r.URL.Path + "?" + q.Get("uploadId") + "#" + q.Get("partNumber")
}

// payloadLen returns the length of the request's payload: X-Amz-Decoded-Content-Length for an
// aws-chunked body, else Content-Length (-1 when unknown).
func payloadLen(r *http.Request) int64 {
	if isAWSChunked(r) {
		if n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64); err == nil {
			return n
		}
		return -1
	}
	return r.ContentLength
}

func isAWSChunked(r *http.Request) bool {
	for _, v := range r.Header.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			if strings.TrimSpace(e) == "aws-chunked" {
				return true
			}
		}
	}
	return false
}

// ServeHTTP handles one request: it decides on a fault, injects it, or forwards the request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		reset(w)
		return
	}
	defer p.handlers.Done()
	op := Classify(r)
	kind, off := p.decide(r, op, payloadLen(r))
	switch kind {
	case None:
		p.forward(w, r, r.Body, false)
	case InternalError:
		_, _ = io.Copy(io.Discard, r.Body)
		writeError(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case SlowDown:
		_, _ = io.Copy(io.Discard, r.Body)
		writeError(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case ResetBeforeBody:
		reset(w)
	case ResetMidBody:
		_, _ = io.CopyN(io.Discard, r.Body, off)
		reset(w)
	case Stall:
		if forwardsOnStall(op) {
			p.forward(w, r, r.Body, true)
		} else {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		p.stall(r.Context())
		reset(w)
	case CorruptBody:
		p.forward(w, r, newCorrupter(r.Body, off, isAWSChunked(r)), false)
	case CompleteErrorBody:
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		// S3 keeps a slow Complete alive with whitespace before its (error) body.
		_, _ = io.WriteString(w, "\n  ")
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		_, _ = w.Write(errorBody(r, "InternalError", "We encountered an internal error. Please try again."))
	}
}

func (p *Proxy) stall(ctx context.Context) {
	t := time.NewTimer(p.cfg.StallFor)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-p.done:
	}
}

// reset hijacks the connection and closes it with SO_LINGER 0, so the client sees a TCP reset.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server closes the connection
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = raw.Close()
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// forward sends the request upstream with body and copies the answer back, unless
// dropAnswer is set (a stall that loses the answer).
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, body io.Reader, dropAnswer bool) {
	ctx := r.Context()
	if dropAnswer {
		// The server finishes the work even when the client has given up.
		ctx = context.WithoutCancel(ctx)
	}
	out := r.Clone(ctx)
	out.RequestURI = ""
	out.URL.Scheme = p.upstream.Scheme
	out.URL.Host = p.upstream.Host
	out.Host = r.Host // the client signed this Host header
	out.Close = false
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	} else {
		out.Body = io.NopCloser(body)
	}
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		if dropAnswer {
			return
		}
		if r.Context().Err() != nil {
			return
		}
		writeError(w, r, http.StatusBadGateway, "BadGateway", "faultproxy: upstream: "+err.Error())
		return
	}
	defer resp.Body.Close()
	if dropAnswer {
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	for k, vs := range resp.Header {
		if slices.Contains(hopHeaders, k) {
			continue
		}
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

var requestIDs atomic.Int64

func errorBody(r *http.Request, code, msg string) []byte {
	b, _ := xml.Marshal(s3Error{Code: code, Message: msg, Resource: r.URL.Path, RequestID: "faultproxy-" + strconv.FormatInt(requestIDs.Add(1), 10)})
	return append([]byte(xml.Header), b...)
}

// writeError answers with an S3 XML error (no body for HEAD).
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	body := errorBody(r, code, msg)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", "faultproxy")
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// corrupter passes a body through, flipping the payload byte at offset target. For an
// aws-chunked body the offset counts payload bytes only; chunk headers and trailers pass
// untouched.
type corrupter struct {
	r       *bufio.Reader
	target  int64
	chunked bool

	pos       int64 // payload bytes passed so far
	state     int   // chunked: 0 header line, 1 data, 2 CRLF after data, 3 trailer
	remaining int64 // chunked: data bytes left in the current chunk
	crlfLeft  int
	line      []byte
}

func newCorrupter(r io.Reader, target int64, chunked bool) *corrupter {
	return &corrupter{r: bufio.NewReaderSize(r, 64<<10), target: target, chunked: chunked}
}

func (c *corrupter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if !c.chunked {
		if c.target >= c.pos && c.target < c.pos+int64(n) {
			b[c.target-c.pos] ^= 0xff
		}
		c.pos += int64(n)
		return n, err
	}
	for i := 0; i < n; {
		switch c.state {
		case 0: // chunk header: hex size[;ext]\r\n
			ch := b[i]
			i++
			if ch != '\n' {
				c.line = append(c.line, ch)
				continue
			}
			line := strings.TrimRight(string(c.line), "\r")
			c.line = c.line[:0]
			if j := strings.IndexByte(line, ';'); j >= 0 {
				line = line[:j]
			}
			size, perr := strconv.ParseInt(strings.TrimSpace(line), 16, 64)
			switch {
			case perr != nil:
				c.state = 3 // unknown framing: pass the rest untouched
			case size == 0:
				c.state = 3
			default:
				c.remaining = size
				c.state = 1
			}
		case 1:
			m := min(int64(n-i), c.remaining)
			if c.target >= c.pos && c.target < c.pos+m {
				b[i+int(c.target-c.pos)] ^= 0xff
			}
			c.pos += m
			c.remaining -= m
			i += int(m)
			if c.remaining == 0 {
				c.state = 2
				c.crlfLeft = 2
			}
		case 2:
			i++
			c.crlfLeft--
			if c.crlfLeft == 0 {
				c.state = 0
			}
		case 3:
			i = n
		}
	}
	return n, err
}

// Tally counts requests and injected faults.
type Tally struct {
	// Requests counts the requests seen, by operation.
	Requests map[Op]int64
	// Faults counts the injected faults, by operation and kind.
	Faults map[Op]map[Kind]int64
}

// Tally returns the counts so far.
func (p *Proxy) Tally() Tally {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := Tally{Requests: map[Op]int64{}, Faults: map[Op]map[Kind]int64{}}
	for op := range numOps {
		if p.reqs[op] > 0 {
			t.Requests[op] = p.reqs[op]
		}
		for k := range numKinds {
			if n := p.counts[op][k]; n > 0 {
				if t.Faults[op] == nil {
					t.Faults[op] = map[Kind]int64{}
				}
				t.Faults[op][k] = n
			}
		}
	}
	return t
}

// Faults returns the injected faults in the order they were decided.
func (p *Proxy) Faults() []Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.faults)
}

// Add adds the counts of o to t (t's maps must be non-nil, as Tally makes them).
func (t *Tally) Add(o Tally) {
	if t.Requests == nil {
		t.Requests = map[Op]int64{}
	}
	if t.Faults == nil {
		t.Faults = map[Op]map[Kind]int64{}
	}
	for op, n := range o.Requests {
		t.Requests[op] += n
	}
	for op, m := range o.Faults {
		if t.Faults[op] == nil {
			t.Faults[op] = map[Kind]int64{}
		}
		for k, n := range m {
			t.Faults[op][k] += n
		}
	}
}

// ByKind returns the injected faults counted by kind over all operations.
func (t Tally) ByKind() map[Kind]int64 {
	m := map[Kind]int64{}
	for _, ks := range t.Faults {
		for k, n := range ks {
			m[k] += n
		}
	}
	return m
}

// Total returns the number of injected faults.
func (t Tally) Total() int64 {
	var n int64
	for _, v := range t.ByKind() {
		n += v
	}
	return n
}

// TotalRequests returns the number of requests seen.
func (t Tally) TotalRequests() int64 {
	var n int64
	for _, v := range t.Requests {
		n += v
	}
	return n
}

// String formats the tally: total requests and faults, faults by kind, then requests and
// faults by operation, in a stable order.
func (t Tally) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "requests %d, faults injected %d", t.TotalRequests(), t.Total())
	bk := t.ByKind()
	var parts []string
	for _, k := range AllKinds {
		if n := bk[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, n))
		}
	}
	if len(parts) > 0 {
		sb.WriteString(" (" + strings.Join(parts, " ") + ")")
	}
	ops := make([]Op, 0, len(t.Requests))
	for op := range t.Requests {
		ops = append(ops, op)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
	for _, op := range ops {
		fmt.Fprintf(&sb, "\n  %-24s requests %6d", op, t.Requests[op])
		var fs []string
		for _, k := range AllKinds {
			if n := t.Faults[op][k]; n > 0 {
				fs = append(fs, fmt.Sprintf("%s=%d", k, n))
			}
		}
		if len(fs) > 0 {
			sb.WriteString("  faults " + strings.Join(fs, " "))
		}
	}
	return sb.String()
}
