// Package child holds what the child programs the integration tests start and kill
// (killupload, resumechild) share: an S3 client configured from the environment, and
// progress printed as whole lines on stdout.
package child

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// S3Client returns a client for the test server named by the environment: PREFIX_ENDPOINT
// (required), PREFIX_CA_FILE (a CA bundle, optional), AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. Secrets come from the environment, never from the command line,
// where other processes could read them.
func S3Client(prefix string) (*s3.Client, error) {
	endpoint := os.Getenv(prefix + "_ENDPOINT")
	if endpoint == "" {
		return nil, fmt.Errorf("%s_ENDPOINT is not set", prefix)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if ca := os.Getenv(prefix + "_CA_FILE"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
		HTTPClient:   &http.Client{Transport: tr},
	}), nil
}

// Flags are the command-line flags every child takes: the object, the file to upload, the
// state file (uploader.Resume) and the uploader's part size and concurrency.
type Flags struct {
	Bucket, Key, File, State string
	PartSize                 int64
	Concurrency              int
}

// RegisterFlags registers the Flags on the command line (flag.CommandLine); concurrency is
// the default of -concurrency.
func RegisterFlags(concurrency int) *Flags {
	f := &Flags{}
	flag.StringVar(&f.Bucket, "bucket", "", "bucket")
	flag.StringVar(&f.Key, "key", "", "object key")
	flag.StringVar(&f.File, "file", "", "file to upload")
	flag.StringVar(&f.State, "state", "", "state file: resume the upload it names, or start one recorded in it")
	flag.Int64Var(&f.PartSize, "part-size", 5<<20, "part size in bytes")
	flag.IntVar(&f.Concurrency, "concurrency", concurrency, "parts in flight")
	return f
}

// Start begins a child's run: a Printer on stdout, the S3 client of S3Client(prefix) and the
// file to upload, opened. When either fails it prints "error MESSAGE" and returns ok false
// (the child then exits with status 2).
func Start(prefix, file string) (p *Printer, cli *s3.Client, f *os.File, ok bool) {
	p = NewPrinter(os.Stdout)
	cli, err := S3Client(prefix)
	if err == nil {
		f, err = os.Open(file)
	}
	if err != nil {
		p.Say("error %v", err)
		return p, nil, nil, false
	}
	return p, cli, f, true
}

// Printer writes whole lines, each flushed at once, from any goroutine.
type Printer struct {
	mu  sync.Mutex
	out *bufio.Writer
}

// NewPrinter returns a Printer writing to w.
func NewPrinter(w io.Writer) *Printer {
	return &Printer{out: bufio.NewWriter(w)}
}

// Say prints one line.
func (p *Printer) Say(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format+"\n", a...)
	p.out.Flush()
}

// Event prints the line of an uploader event the tests follow: "started ID",
// "resumed STORED TO-SEND", "restarted OLD-ID" or "part N"; other events print nothing.
func (p *Printer) Event(e event.Event) {
	switch e := e.(type) {
	case event.Started:
		p.Say("started %s", e.UploadID)
	case event.PartDone:
		p.Say("part %d", e.PartNumber)
	case event.Resumed:
		p.Say("resumed %d %d", e.PartsStored, e.PartsToSend)
	case event.Restarted:
		p.Say("restarted %s", e.OldUploadID)
	}
}
