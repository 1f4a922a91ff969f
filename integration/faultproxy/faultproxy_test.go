package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// upstream is a fake S3 server that records what reaches it.
type upstream struct {
	mu    sync.Mutex
	reqs  []seen
	hook  func(r *http.Request) // called before answering
	srv   *httptest.Server
	reply func(w http.ResponseWriter, r *http.Request)
}

type seen struct {
	Method, Path, RawQuery, Host string
	Header                       http.Header
	Body                         []byte
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Clone(), b})
		hook, reply := u.hook, u.reply
		u.mu.Unlock()
		if hook != nil {
			hook(r)
		}
		if reply != nil {
			reply(w, r)
			return
		}
		w.Header().Set("ETag", `"etag"`)
		w.Header().Set("X-Upstream", "yes")
		fmt.Fprintf(w, "ok %d", len(b))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) seen() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

func startProxy(t *testing.T, up *upstream, cfg Config) (*Proxy, string) {
	t.Helper()
	cfg.Upstream = up.srv.URL
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base, err := p.ListenHTTP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p, base
}

// client returns an HTTP client with its own transport, closed at cleanup.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func do(t *testing.T, c *http.Client, method, url string, body []byte) (*http.Response, []byte, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestClassify(t *testing.T) {
	cases := []struct {
		method, target string
		copySrc        bool
		want           Op
	}{
		{"POST", "/b/k?uploads", false, CreateMultipartUpload},
		{"POST", "/b/dir/k?uploads=", false, CreateMultipartUpload},
		{"PUT", "/b/k?partNumber=3&uploadId=u&x-id=UploadPart", false, UploadPart},
		{"PUT", "/b/k?partNumber=3&uploadId=u&x-id=UploadPartCopy", true, UploadPartCopy},
		{"POST", "/b/k?uploadId=u", false, CompleteMultipartUpload},
		{"DELETE", "/b/k?uploadId=u&x-id=AbortMultipartUpload", false, AbortMultipartUpload},
		{"GET", "/b/k?uploadId=u&x-id=ListParts", false, ListParts},
		{"GET", "/b?uploads", false, ListMultipartUploads},
		{"GET", "/b/?uploads", false, ListMultipartUploads},
		{"PUT", "/b/k?x-id=PutObject", false, PutObject},
		{"PUT", "/b/k", false, PutObject},
		{"PUT", "/b/k?x-id=CopyObject", true, CopyObject},
		{"GET", "/b/k?x-id=GetObject", false, GetObject},
		{"GET", "/b/k?partNumber=1", false, GetObject},
		{"HEAD", "/b/k", false, HeadObject},
		{"PUT", "/b", false, Other},
		{"PUT", "/b/k?tagging", false, Other},
		{"GET", "/b?list-type=2", false, Other},
		{"DELETE", "/b/k?x-id=DeleteObject", false, Other},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, nil)
		if c.copySrc {
			r.Header.Set("X-Amz-Copy-Source", "/src/k")
		}
		if got := Classify(r); got != c.want {
			t.Errorf("Classify(%s %s copy=%v) = %v, want %v", c.method, c.target, c.copySrc, got, c.want)
		}
	}
}

func TestEligible(t *testing.T) {
	for op := range numOps {
		for _, k := range AllKinds {
			got := Eligible(op, k)
			var want bool
			switch k {
			case CorruptBody, ResetMidBody:
				want = op == UploadPart || op == PutObject
			case CompleteErrorBody:
				want = op == CompleteMultipartUpload
			case Stall:
				want = op != AbortMultipartUpload
			default:
				want = true
			}
			if got != want {
				t.Errorf("Eligible(%v, %v) = %v, want %v", op, k, got, want)
			}
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Upstream: "::not a url"},
		{Upstream: "ftp://127.0.0.1:1"},
		{Upstream: "http://127.0.0.1:1", Rules: []Rule{{Rate: 1.5}}},
		{Upstream: "http://127.0.0.1:1", Rules: []Rule{{Rate: 0.5, Kinds: []Kind{Kind(99)}}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func TestForwardUntouched(t *testing.T) {
	up := newUpstream(t)
	p, base := startProxy(t, up, Config{})
	body := bytes.Repeat([]byte("0123456789"), 100000)
	resp, got, err := do(t, client(t), "PUT", base+"/bkt/some/key?partNumber=2&uploadId=abc", body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || string(got) != "ok 1000000" || resp.Header.Get("X-Upstream") != "yes" || resp.Header.Get("ETag") != `"etag"` {
		t.Fatalf("got %d %q %v", resp.StatusCode, got, resp.Header)
	}
	s := up.seen()
	if len(s) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(s))
	}
	if !bytes.Equal(s[0].Body, body) || s[0].Path != "/bkt/some/key" || s[0].RawQuery != "partNumber=2&uploadId=abc" {
		t.Fatalf("upstream saw %s?%s with %d bytes", s[0].Path, s[0].RawQuery, len(s[0].Body))
	}
	if want := strings.TrimPrefix(base, "http://"); s[0].Host != want {
		t.Fatalf("upstream saw Host %q, want the proxy's %q (the client signs it)", s[0].Host, want)
	}
	tl := p.Tally()
	if tl.Requests[UploadPart] != 1 || tl.Total() != 0 {
		t.Fatalf("tally %v", tl)
	}
}

func parseS3Error(t *testing.T, b []byte) s3Error {
	t.Helper()
	var e s3Error
	if err := xml.Unmarshal(bytes.TrimSpace(b), &e); err != nil {
		t.Fatalf("error body %q is not S3 XML: %v", b, err)
	}
	return e
}

func TestErrorResponses(t *testing.T) {
	for _, c := range []struct {
		kind   Kind
		status int
		code   string
	}{
		{InternalError, 500, "InternalError"},
		{SlowDown, 503, "SlowDown"},
	} {
		t.Run(c.kind.String(), func(t *testing.T) {
			up := newUpstream(t)
			p, base := startProxy(t, up, Config{Rules: []Rule{{Rate: 1, Kinds: []Kind{c.kind}}}})
			resp, b, err := do(t, client(t), "PUT", base+"/b/k?partNumber=1&uploadId=u", make([]byte, 3<<20))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if e := parseS3Error(t, b); e.Code != c.code || e.Message == "" || e.Resource != "/b/k" || e.RequestID == "" {
				t.Fatalf("error body %+v", e)
			}
			if n := len(up.seen()); n != 0 {
				t.Fatalf("upstream saw %d requests, want 0", n)
			}
			if got := p.Tally().Faults[UploadPart][c.kind]; got != 1 {
				t.Fatalf("tally %v", p.Tally())
			}
			// HEAD gets the status without a body.
			resp, b, err = do(t, client(t), "HEAD", base+"/b/k", nil)
			if err != nil || resp.StatusCode != c.status || len(b) != 0 {
				t.Fatalf("HEAD: %v %v %q", resp, err, b)
			}
		})
	}
}

func TestResets(t *testing.T) {
	for _, k := range []Kind{ResetBeforeBody, ResetMidBody} {
		t.Run(k.String(), func(t *testing.T) {
			up := newUpstream(t)
			p, base := startProxy(t, up, Config{Rules: []Rule{{Rate: 1, Kinds: []Kind{k}}}})
			_, _, err := do(t, client(t), "PUT", base+"/b/k?x-id=PutObject", make([]byte, 1<<20))
			if err == nil {
				t.Fatal("request succeeded, want a connection error")
			}
			if n := len(up.seen()); n != 0 {
				t.Fatalf("upstream saw %d requests, want 0", n)
			}
			f := p.Faults()
			if len(f) != 1 || f[0].Kind != k || f[0].Op != PutObject {
				t.Fatalf("faults %+v", f)
			}
			if k == ResetMidBody && (f[0].Offset <= 0 || f[0].Offset >= 1<<20) {
				t.Fatalf("cut at %d, want inside the body", f[0].Offset)
			}
		})
	}
}

// TestResetMidBodyNotForBodiless checks that a fault needing a body is never chosen for a
// request without one: with only ResetMidBody allowed, Create passes.
func TestResetMidBodyNotForBodiless(t *testing.T) {
	up := newUpstream(t)
	p, base := startProxy(t, up, Config{Rules: []Rule{{Rate: 1, Kinds: []Kind{ResetMidBody, CorruptBody, CompleteErrorBody}}}})
	resp, _, err := do(t, client(t), "POST", base+"/b/k?uploads", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create: %v %v", resp, err)
	}
	if p.Tally().Total() != 0 {
		t.Fatalf("tally %v", p.Tally())
	}
}

// TestStallLosesAnswer checks that a stalled UploadPart reaches the server but its answer
// never reaches the client, and that the stall ends as soon as the client gives up.
func TestStallLosesAnswer(t *testing.T) {
	up := newUpstream(t)
	arrived := make(chan struct{}, 1)
	up.hook = func(*http.Request) { arrived <- struct{}{} }
	_, base := startProxy(t, up, Config{StallFor: time.Hour, Rules: []Rule{{Rate: 1, Kinds: []Kind{Stall}}}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel() // the client's timeout
	}()
	req, _ := http.NewRequestWithContext(ctx, "PUT", base+"/b/k?partNumber=1&uploadId=u", strings.NewReader("part data"))
	resp, err := client(t).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want the request to fail", resp.StatusCode)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if s := up.seen(); len(s) != 1 || string(s[0].Body) != "part data" {
		t.Fatalf("upstream saw %+v, want the part", s)
	}
	// Cleanup's Close returns only when the stalled handler has, which it does because
	// the client went away (StallFor is an hour).
}

// TestStallIsBounded checks that a stall ends after StallFor with a reset, and that a
// stalled Create is not forwarded (its answer would name an upload the client never learns).
func TestStallIsBounded(t *testing.T) {
	up := newUpstream(t)
	_, base := startProxy(t, up, Config{StallFor: time.Millisecond, Rules: []Rule{{Rate: 1, Kinds: []Kind{Stall}}}})
	_, _, err := do(t, client(t), "POST", base+"/b/k?uploads", nil)
	if err == nil {
		t.Fatal("stalled create succeeded, want a connection error")
	}
	if n := len(up.seen()); n != 0 {
		t.Fatalf("upstream saw %d requests, want 0", n)
	}
	// A stalled UploadPart reaches the server, and its answer never reaches the client,
	// even when the client waits for it past the stall.
	resp, _, err := do(t, client(t), "PUT", base+"/b/k?partNumber=1&uploadId=u", []byte("part"))
	if err == nil {
		t.Fatalf("stalled part got answer %d, want a connection error", resp.StatusCode)
	}
	if s := up.seen(); len(s) != 1 || string(s[0].Body) != "part" {
		t.Fatalf("upstream saw %+v, want the part", s)
	}
}

func TestStallEndsOnClose(t *testing.T) {
	up := newUpstream(t)
	p, err := New(Config{Upstream: up.srv.URL, StallFor: time.Hour, Rules: []Rule{{Rate: 1, Kinds: []Kind{Stall}}}})
	if err != nil {
		t.Fatal(err)
	}
	base, err := p.ListenHTTP()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	c := client(t)
	go func() {
		_, _, err := do(t, c, "GET", base+"/b/k", nil)
		errc <- err
	}()
	for p.Tally().Total() == 0 {
		runtime.Gosched()
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Fatal("stalled request succeeded after Close")
	}
}

func TestCorruptPlainBody(t *testing.T) {
	up := newUpstream(t)
	p, base := startProxy(t, up, Config{Seed: 7, Rules: []Rule{{Rate: 1, Kinds: []Kind{CorruptBody}}}})
	body := make([]byte, 5<<20+17)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	resp, _, err := do(t, client(t), "PUT", base+"/b/k?partNumber=1&uploadId=u", body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	got := up.seen()[0].Body
	diff := diffs(body, got)
	f := p.Faults()
	if len(diff) != 1 || len(f) != 1 || diff[0] != f[0].Offset {
		t.Fatalf("bytes differing at %v, fault %+v; want exactly the fault's offset", diff, f)
	}
}

func diffs(a, b []byte) []int64 {
	var d []int64
	if len(a) != len(b) {
		return []int64{-1}
	}
	for i := range a {
		if a[i] != b[i] {
			d = append(d, int64(i))
		}
	}
	return d
}

// awsChunked encodes payload as an aws-chunked body with unsigned chunks and a checksum trailer,
// as the SDK sends over TLS.
func awsChunked(payload []byte, chunk int) []byte {
	var b bytes.Buffer
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		fmt.Fprintf(&b, "%x\r\n", end-off)
		b.Write(payload[off:end])
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
	return b.Bytes()
}

// decodeAWSChunked decodes an aws-chunked body, failing on broken framing.
func decodeAWSChunked(t *testing.T, body []byte) (payload []byte, trailer string) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(body))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("chunk header: %v", err)
		}
		size, err := strconv.ParseInt(strings.TrimRight(strings.SplitN(line, ";", 2)[0], "\r\n"), 16, 64)
		if err != nil {
			t.Fatalf("chunk header %q: %v", line, err)
		}
		if size == 0 {
			rest, _ := io.ReadAll(r)
			return payload, string(rest)
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		payload = append(payload, buf...)
		crlf := make([]byte, 2)
		if _, err := io.ReadFull(r, crlf); err != nil || string(crlf) != "\r\n" {
			t.Fatalf("after chunk: %q %v", crlf, err)
		}
	}
}

func TestCorruptAWSChunkedBodyKeepsFraming(t *testing.T) {
	payload := make([]byte, 300000)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(20) {
		up := newUpstream(t)
		p, base := startProxy(t, up, Config{Seed: seed, Rules: []Rule{{Rate: 1, Kinds: []Kind{CorruptBody}}}})
		req, _ := http.NewRequest("PUT", base+"/b/k?partNumber=1&uploadId=u", bytes.NewReader(awsChunked(payload, 65536)))
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(payload)))
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got, trailer := decodeAWSChunked(t, up.seen()[0].Body)
		diff := diffs(payload, got)
		f := p.Faults()
		if len(diff) != 1 || diff[0] != f[0].Offset {
			t.Fatalf("seed %d: payload differs at %v, fault at %d; want exactly one byte at the fault's offset", seed, diff, f[0].Offset)
		}
		if trailer != "x-amz-checksum-crc32:AAAAAA==\r\n\r\n" {
			t.Fatalf("seed %d: trailer %q changed", seed, trailer)
		}
	}
}

// TestCompleteErrorBodySeenBySDK checks that the 200-with-error answer to Complete is
// turned into an InternalError by the AWS SDK, as S3's own is.
func TestCompleteErrorBodySeenBySDK(t *testing.T) {
	up := newUpstream(t)
	p, base := startProxy(t, up, Config{Rules: []Rule{{Ops: []Op{CompleteMultipartUpload}, Rate: 1, Kinds: []Kind{CompleteErrorBody}}}})
	cli := s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(base),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:       client(t),
		RetryMaxAttempts: 1,
	})
	_, err := cli.CompleteMultipartUpload(context.Background(), &s3.CompleteMultipartUploadInput{
		Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String("u"),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: aws.String(`"e"`)}}},
	})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InternalError" {
		t.Fatalf("complete: %v, want an InternalError API error", err)
	}
	if n := len(up.seen()); n != 0 {
		t.Fatalf("upstream saw %d requests, want 0", n)
	}
	if p.Tally().Faults[CompleteMultipartUpload][CompleteErrorBody] != 1 {
		t.Fatalf("tally %v", p.Tally())
	}
}

func TestRateSeedAndTally(t *testing.T) {
	run := func(seed uint64) ([]Fault, Tally) {
		up := newUpstream(t)
		p, base := startProxy(t, up, Config{Seed: seed, Rules: []Rule{
			{Ops: []Op{UploadPart}, Rate: 0.3, Kinds: []Kind{InternalError, SlowDown}},
			{Ops: []Op{GetObject}, Rate: 0},
		}})
		c := client(t)
		for i := range 400 {
			if _, _, err := do(t, c, "PUT", fmt.Sprintf("%s/b/k?partNumber=%d&uploadId=u", base, i+1), []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := do(t, c, "GET", base+"/b/k", nil); err != nil {
				t.Fatal(err)
			}
		}
		return p.Faults(), p.Tally()
	}
	f1, t1 := run(42)
	f2, _ := run(42)
	f3, _ := run(43)
	n := t1.Faults[UploadPart][InternalError] + t1.Faults[UploadPart][SlowDown]
	if n < 80 || n > 160 { // 400 * 0.3 = 120; far outside means the rate is not applied
		t.Fatalf("%d faults in 400 requests at rate 0.3", n)
	}
	if t1.Faults[UploadPart][InternalError] == 0 || t1.Faults[UploadPart][SlowDown] == 0 {
		t.Fatalf("one kind never chosen: %v", t1)
	}
	if len(t1.Faults[GetObject]) != 0 || t1.Requests[GetObject] != 400 || t1.Requests[UploadPart] != 400 {
		t.Fatalf("tally %v", t1)
	}
	key := func(fs []Fault) string {
		var b strings.Builder
		for _, f := range fs {
			fmt.Fprintf(&b, "%s/%v;", f.Part, f.Kind)
		}
		return b.String()
	}
	if key(f1) != key(f2) {
		t.Fatal("same seed, same request order: different faults")
	}
	if key(f1) == key(f3) {
		t.Fatal("different seeds gave the same faults")
	}
	s := t1.String()
	for _, want := range []string{"requests 800", "faults injected " + strconv.FormatInt(n, 10), "UploadPart", "500-internal-error=", "503-slow-down="} {
		if !strings.Contains(s, want) {
			t.Errorf("tally string %q lacks %q", s, want)
		}
	}
	var sum Tally
	sum.Add(t1)
	sum.Add(t1)
	if sum.Total() != 2*n || sum.TotalRequests() != 1600 {
		t.Fatalf("sum %v", sum)
	}
}

func TestMaxPerTargetAndMatch(t *testing.T) {
	up := newUpstream(t)
	p, base := startProxy(t, up, Config{
		Rules: []Rule{{Rate: 1, Kinds: []Kind{SlowDown}, MaxPerTarget: 2}},
		Match: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/faulty/") },
	})
	c := client(t)
	var statuses []int
	for range 4 {
		resp, _, err := do(t, c, "DELETE", base+"/faulty/k?uploadId=u1", nil)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, resp.StatusCode)
	}
	if fmt.Sprint(statuses) != "[503 503 200 200]" {
		t.Fatalf("statuses %v, want two faults then success", statuses)
	}
	// Another target has its own budget; an unmatched path is never spoiled.
	if resp, _, err := do(t, c, "DELETE", base+"/faulty/k?uploadId=u2", nil); err != nil || resp.StatusCode != 503 {
		t.Fatalf("other target: %v %v", resp, err)
	}
	if resp, _, err := do(t, c, "DELETE", base+"/clean/k?uploadId=u1", nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("unmatched: %v %v", resp, err)
	}
	if tl := p.Tally(); tl.Requests[AbortMultipartUpload] != 6 || tl.Faults[AbortMultipartUpload][SlowDown] != 3 {
		t.Fatalf("tally %v", tl)
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "faultproxy test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLSFrontEnd(t *testing.T) {
	up := newUpstream(t)
	cert, pool := selfSigned(t)
	p, err := New(Config{Upstream: up.srv.URL, Rules: []Rule{{Ops: []Op{PutObject}, Rate: 1, Kinds: []Kind{ResetMidBody}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	base, err := p.ListenTLS(cert)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("base %q", base)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	resp, b, err := do(t, c, "GET", base+"/b/k", nil)
	if err != nil || resp.StatusCode != 200 || string(b) != "ok 0" || resp.ProtoMajor != 1 {
		t.Fatalf("GET over TLS: %v %v %q", resp, err, b)
	}
	if _, _, err := do(t, c, "PUT", base+"/b/k", make([]byte, 1<<20)); err == nil {
		t.Fatal("PUT with a mid-body reset over TLS succeeded")
	}
	if p.Tally().Faults[PutObject][ResetMidBody] != 1 {
		t.Fatalf("tally %v", p.Tally())
	}
}
