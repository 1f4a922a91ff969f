package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/s3mpu/s3mpu/integration/s3test"
)

// clientSetup is what every client needs to reach the server: one target, one user, the part
// size and the number of parts (or files) in flight.
type clientSetup struct {
	env      *s3test.Env
	tgt      s3test.Target
	user     s3test.User
	bucket   string
	partSize int64 // 0: the client's default
	conc     int   // 0: the client's default
	stats    *childStats
}

// uploadFunc uploads body under key. size is the body's length, or -1 when unknown (a stream).
type uploadFunc func(ctx context.Context, key string, body io.Reader, size int64) error

// clients maps a client's name to its constructor. Each constructor builds the client the way
// its documentation shows, with its own default checksum behaviour, and sets only the part
// size and concurrency (plus what it takes to trust the server's self-signed certificate).
var clients = map[string]func(clientSetup) (uploadFunc, error){
	"s3mpu":            newS3MPU,
	"s3mpu-composite":  newS3MPUComposite,
	"s3mpu-crc32":      newS3MPUCRC32,
	"s3mpu-nohedge":    newS3MPUNoHedge,
	"s3mpu-nolistener": newS3MPUNoListener,
	"manager":          newManager,
	"manager-crc32c":   newManagerCRC32C,
	"transfermanager":  newTransferManager,
	"minio":            newMinio,
	"discard":          newDiscard,
}

// defaultClients is the order in which clients take turns in every case. "discard" reads the
// data and sends nothing: its row is the floor of this program's CPU and RSS.
var defaultClients = []string{"s3mpu", "manager", "transfermanager", "minio", "discard"}

// peerOf tells which clients are peers (compared against s3mpu in the ratio lines).
func peerOf(name string) bool {
	return name == "manager" || name == "transfermanager" || name == "minio"
}

func clientNames() []string {
	var names []string
	for n := range clients {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// certPool returns a pool holding only the server's certificate. Loading the system's pool
// as well would add several MiB to every client's RSS and tell nothing about the clients.
func certPool(caFile string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	return pool, nil
}

// awsConfig returns the configuration a program gets from config.LoadDefaultConfig on a
// machine without AWS settings, pointed at the test server: the SDK's own HTTP client (trusting
// the server's certificate) and request checksums "when supported", LoadDefaultConfig's default.
// config.LoadDefaultConfig itself is not called because it reads the machine's AWS settings
// (AWS_CA_BUNDLE among them), which would make the runs depend on the machine.
func awsConfig(cs clientSetup) (aws.Config, error) {
	cfg := cs.env.Config(cs.tgt, cs.user)
	pool, err := certPool(cs.env.CAFile())
	if err != nil {
		return aws.Config{}, err
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
		tr.DialContext = countDials(tr.DialContext)
	})
	cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	return cfg, nil
}

func s3Client(cs clientSetup) (*s3.Client, error) {
	cfg, err := awsConfig(cs)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), nil
}

// onS3Client builds a client's upload function on the S3 client of cs.
func onS3Client(cs clientSetup, build func(*s3.Client) uploadFunc) (uploadFunc, error) {
	cli, err := s3Client(cs)
	if err != nil {
		return nil, err
	}
	return build(cli), nil
}

// setIfSet sets the client's part size and concurrency to those of cs where cs sets them
// (0: the client keeps its default).
func setIfSet(cs clientSetup, partSize *int64, conc *int) {
	if cs.partSize > 0 {
		*partSize = cs.partSize
	}
	if cs.conc > 0 {
		*conc = cs.conc
	}
}

func newManager(cs clientSetup) (uploadFunc, error) { return managerWith(cs, "") }

// newManagerCRC32C is manager with CRC32C checksums on its parts, what s3mpu computes by
// default: an experiment, to compare the uploaders with the same checksum work on both sides.
func newManagerCRC32C(cs clientSetup) (uploadFunc, error) {
	return managerWith(cs, types.ChecksumAlgorithmCrc32c)
}

// managerWith is manager with the part checksum algo ("": the SDK's default, CRC32).
func managerWith(cs clientSetup, algo types.ChecksumAlgorithm) (uploadFunc, error) {
	return onS3Client(cs, func(cli *s3.Client) uploadFunc {
		up := manager.NewUploader(cli, func(u *manager.Uploader) { setIfSet(cs, &u.PartSize, &u.Concurrency) })
		return func(ctx context.Context, key string, body io.Reader, size int64) error {
			_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(cs.bucket), Key: aws.String(key), Body: body, ChecksumAlgorithm: algo})
			return err
		}
	})
}

func newTransferManager(cs clientSetup) (uploadFunc, error) {
	return onS3Client(cs, func(cli *s3.Client) uploadFunc {
		tm := transfermanager.New(cli, func(o *transfermanager.Options) { setIfSet(cs, &o.PartSizeBytes, &o.Concurrency) })
		return func(ctx context.Context, key string, body io.Reader, size int64) error {
			_, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: aws.String(cs.bucket), Key: aws.String(key), Body: body})
			return err
		}
	})
}

func newMinio(cs clientSetup) (uploadFunc, error) {
	u, err := url.Parse(cs.tgt.Endpoint)
	if err != nil {
		return nil, err
	}
	tr, err := minio.DefaultTransport(cs.tgt.TLS)
	if err != nil {
		return nil, err
	}
	tr.DialContext = countDials(tr.DialContext)
	if cs.tgt.TLS {
		pool, err := certPool(cs.env.CAFile())
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	cli, err := minio.New(u.Host, &minio.Options{
		Creds:        miniocreds.NewStaticV4(cs.user.AccessKey, cs.user.SecretKey, ""),
		Secure:       cs.tgt.TLS,
		Transport:    tr,
		Region:       cs.env.Region(),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, key string, body io.Reader, size int64) error {
		opts := minio.PutObjectOptions{
			PartSize:   uint64(cs.partSize), // 0: its default
			NumThreads: uint(cs.conc),       // 0: its default
			// Without this minio-go reads and sends the parts of a stream one at a time; with
			// it, it fills NumThreads part buffers and sends them in parallel, the same
			// concurrency the other clients use. Files (io.ReaderAt) are parallel either way.
			ConcurrentStreamParts: size < 0,
		}
		_, err := cli.PutObject(ctx, cs.bucket, key, body, size, opts)
		return err
	}, nil
}

// newDiscard reads the body and sends nothing: the floor of CPU and RSS of this program.
func newDiscard(cs clientSetup) (uploadFunc, error) {
	buf := make([]byte, 256<<10)
	return func(ctx context.Context, key string, body io.Reader, size int64) error {
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{body}, buf)
		if err != nil {
			return err
		}
		if size >= 0 && n != size {
			return errors.New("short read")
		}
		return nil
	}, nil
}

// dials counts the connections the client in this process opened; open and peakConns
// count those open now and the most open at once.
var dials, openConns, peakConns atomic.Int64

// countDials wraps a transport's dial function to count the connections it opens: a client
// that does not reuse its connections pays a TCP (and TLS) handshake per request.
func countDials(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		dials.Add(1)
		n := openConns.Add(1)
		for p := peakConns.Load(); n > p && !peakConns.CompareAndSwap(p, n); p = peakConns.Load() {
		}
		return &countedConn{Conn: c}, nil
	}
}

// countedConn counts itself out of openConns when closed.
type countedConn struct {
	net.Conn
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { openConns.Add(-1) })
	return c.Conn.Close()
}
