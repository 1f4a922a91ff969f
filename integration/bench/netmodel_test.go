package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// feedAll passes stream through a reqParser in pieces of random sizes and returns, for every
// request drawn, the body length it was drawn with, and the bytes passed as slow.
func feedAll(t *testing.T, stream string, slowEvery int, rng *rand.Rand) (draws []int64, slowBytes int) {
	t.Helper()
	p := &reqParser{}
	data := []byte(stream)
	total := 0
	for len(data) > 0 {
		piece := data[:min(len(data), 1+rng.IntN(40))]
		for len(piece) > 0 {
			n, slow := p.feed(piece, func(body int64) bool {
				draws = append(draws, body)
				return slowEvery > 0 && len(draws)%slowEvery == 0
			})
			if n <= 0 || n > len(piece) {
				t.Fatalf("feed consumed %d of %d bytes", n, len(piece))
			}
			if slow {
				slowBytes += n
			}
			total += n
			piece, data = piece[n:], data[n:]
		}
	}
	if total != len(stream) {
		t.Fatalf("passed %d bytes, want %d", total, len(stream))
	}
	return draws, slowBytes
}

func request(body string) string {
	return fmt.Sprintf("PUT /b/k?partNumber=1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func chunkedRequest(chunks ...string) string {
	var b strings.Builder
	b.WriteString("PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	for _, c := range chunks {
		fmt.Fprintf(&b, "%x;ext=1\r\n%s\r\n", len(c), c)
	}
	b.WriteString("0\r\nTrailer: v\r\n\r\n")
	return b.String()
}

// TestReqParserFindsEveryRequest: whatever the pieces the stream arrives in, every request is
// drawn for once, with its body's length (chunked: the largest length), and the stream passes
// whole.
func TestReqParserFindsEveryRequest(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var stream strings.Builder
		var want []int64
		for range 1 + rng.IntN(6) {
			body := strings.Repeat("x", rng.IntN(300))
			if rng.IntN(3) == 0 {
				stream.WriteString(chunkedRequest(body, "yz"))
				want = append(want, 1<<63-1)
				continue
			}
			stream.WriteString(request(body))
			if len(body) > 0 {
				want = append(want, int64(len(body)))
			}
		}
		draws, _ := feedAll(t, stream.String(), 2, rng)
		if fmt.Sprint(draws) != fmt.Sprint(want) {
			t.Fatalf("seed %d: draws %v, want %v", seed, draws, want)
		}
	}
}

// TestReqParserSlowBytes: exactly the body of the slow request is passed as slow.
func TestReqParserSlowBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	stream := request("aaaa") + request(strings.Repeat("b", 100)) + request("cc")
	_, slow := feedAll(t, stream, 2, rng) // the second request is slow
	if slow != 100 {
		t.Fatalf("%d slow bytes, want 100", slow)
	}
}

// TestDrawSeqCommonRandomNumbers: a reset to the same seed gives the same draws; another seed
// others; the fraction of draws under f is about f.
func TestDrawSeqCommonRandomNumbers(t *testing.T) {
	var a, b drawSeq
	a.reset(3)
	b.reset(3)
	under := 0
	for range 10000 {
		x, y := a.next(), b.next()
		if x != y {
			t.Fatalf("same seed, different draws %v %v", x, y)
		}
		if x < 0 || x >= 1 {
			t.Fatalf("draw %v outside [0,1)", x)
		}
		if x < 0.06 {
			under++
		}
	}
	if under < 500 || under > 700 {
		t.Errorf("%d of 10000 draws under 0.06", under)
	}
	a.reset(3)
	b.reset(4)
	same := 0
	for range 100 {
		if a.next() == b.next() {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 3 and 4 share %d of 100 draws", same)
	}
}

// TestReqParserChunkedSlow: a chunked request's whole body, chunk framing included, is slow
// when drawn so, and the next request is drawn for again.
func TestReqParserChunkedSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	head := "PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	c := chunkedRequest("hello", "world!")
	stream := c + request("abc")
	draws, slow := feedAll(t, stream, 1, rng) // every request slow
	if len(draws) != 2 {
		t.Fatalf("draws %v, want 2", draws)
	}
	if want := len(c) - len(head) + 3; slow != want {
		t.Fatalf("%d slow bytes, want %d", slow, want)
	}
}

// TestRequestToxicCountsDataBodies: the request toxic passes a connection's stream whole and
// counts the body bytes of its data requests (bodies of MinBody or more) and nothing else:
// neither headers nor the bodies of smaller requests.
func TestRequestToxicCountsDataBodies(t *testing.T) {
	d := &drawSeq{}
	d.reset(1)
	key := fmt.Sprintf("test-%p", d)
	modelMu.Lock()
	drawShared[key] = d
	modelMu.Unlock()
	defer func() {
		modelMu.Lock()
		delete(drawShared, key)
		modelMu.Unlock()
	}()
	big, small := strings.Repeat("b", 300), strings.Repeat("s", 20)
	all := request(small) + request(big) + chunkedRequest(big[:150], big[150:]) + request(small)
	in, out := make(chan *stream.StreamChunk), make(chan *stream.StreamChunk, 1000)
	stub := toxics.NewToxicStub(in, out)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&requestToxic{Key: key, Rate: 1e9, Factor: 8, MinBody: 100}).Pipe(stub)
	}()
	rng := rand.New(rand.NewPCG(3, 7))
	for data := []byte(all); len(data) > 0; {
		n := min(len(data), 1+rng.IntN(64))
		in <- &stream.StreamChunk{Data: data[:n]}
		data = data[n:]
	}
	close(in)
	<-done // the stub closes out once the input ends
	var passed []byte
	for c := range out {
		passed = append(passed, c.Data...)
	}
	if string(passed) != all {
		t.Fatal("the stream did not pass whole")
	}
	// The chunked body counts its framing too: its size lines and CRLFs.
	framing := int64(len(chunkedRequest(big[:150], big[150:]))) - int64(len("PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")) - 300
	body, settled := d.settle(time.Second)
	if !settled {
		t.Fatal("a connection still open after its input ended")
	}
	if got, want := body, 300+300+framing; got != want {
		t.Fatalf("counted %d body bytes, want %d", got, want)
	}
	if got := d.all.Load(); got != 2 {
		t.Fatalf("%d data requests, want 2", got)
	}
}
