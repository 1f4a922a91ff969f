package integration

import (
	"bytes"

	"crypto/tls"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3mpu/s3mpu/integration/faultproxy"
	"github.com/s3mpu/s3mpu/integration/s3test"
)

// faultFront is a fault proxy in front of one of the server's targets, with the target a
// client uses to reach the server through it.
type faultFront struct {
	Proxy  *faultproxy.Proxy
	Target s3test.Target // Endpoint is the proxy's
	client *http.Client
}

// startFaultProxy puts a fault proxy in front of tgt (HTTPS front end for the HTTPS target,
// with the server's own certificate, which covers 127.0.0.1) and closes it at cleanup.
func startFaultProxy(t testing.TB, env *s3test.Env, tgt s3test.Target, cfg faultproxy.Config) *faultFront {
	t.Helper()
	cfg.Upstream = tgt.Endpoint
	if cfg.Transport == nil {
		cfg.Transport = env.HTTPClient().Transport.(*http.Transport).Clone()
	}
	p, err := faultproxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var base string
	if tgt.TLS {
		ca := env.CAFile()
		cert, err := tls.LoadX509KeyPair(ca, filepath.Join(filepath.Dir(ca), "key.pem"))
		if err != nil {
			t.Fatalf("server certificate: %v", err)
		}
		base, err = p.ListenTLS(cert)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		base, err = p.ListenHTTP()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("fault proxy close: %v", err)
		}
		cfg.Transport.CloseIdleConnections()
	})
	return &faultFront{Proxy: p, Target: s3test.Target{Name: tgt.Name, Endpoint: base, TLS: tgt.TLS}}
}

// httpClient returns an HTTP client for the proxy's target that gives up on an answer after
// headerTimeout (so stalls become timeouts) and trusts the server's certificate.
func (f *faultFront) httpClient(t testing.TB, env *s3test.Env, headerTimeout time.Duration) *http.Client {
	if f.client == nil {
		tr := env.HTTPClient().Transport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = headerTimeout
		tr.MaxIdleConnsPerHost = 64
		t.Cleanup(tr.CloseIdleConnections)
		f.client = &http.Client{Transport: tr}
	}
	return f.client
}

// TestFaultProxyCorruptionCaughtByServer checks the premise of the fault runs: a byte
// flipped in flight in a PutObject or UploadPart body is rejected by the server, over HTTP
// (the SDK signs the payload's SHA-256) and over HTTPS (trailing CRC32C checksum), and
// nothing is stored.
func TestFaultProxyCorruptionCaughtByServer(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t)
	data := randomBytes(t, 6<<20)
	for _, tgt := range env.Targets() {
		t.Run(tgt.Name, func(t *testing.T) {
			ctx := testCtx(t)
			ff := startFaultProxy(t, env, tgt, faultproxy.Config{Seed: 1, Rules: []faultproxy.Rule{
				{Ops: []faultproxy.Op{faultproxy.PutObject, faultproxy.UploadPart}, Rate: 1, Kinds: []faultproxy.Kind{faultproxy.CorruptBody}},
			}})
			cli := env.S3For(ff.Target, env.Users["root"], func(o *s3.Options) {
				o.HTTPClient = ff.httpClient(t, env, 30*time.Second)
				o.RetryMaxAttempts = 1
			})
			key := "corrupt/" + tgt.Name
			_, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
			if err == nil {
				t.Fatal("PutObject with a corrupted body succeeded")
			}
			t.Logf("PutObject with a flipped byte: %s (HTTP %d)", apiCode(err), relHTTPStatus(err))
			if _, herr := env.Root(tgt).HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key}); herr == nil {
				t.Fatal("object stored despite the corrupted body")
			}

			cr, err := cli.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cli.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
			if err == nil {
				t.Error("UploadPart with a corrupted body succeeded")
			} else {
				t.Logf("UploadPart with a flipped byte: %s (HTTP %d)", apiCode(err), relHTTPStatus(err))
			}
			if _, err := env.Root(tgt).AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: cr.UploadId}); err != nil {
				t.Fatal(err)
			}
			if n := ff.Proxy.Tally().ByKind()[faultproxy.CorruptBody]; n != 2 {
				t.Fatalf("corrupted %d bodies, want 2", n)
			}
		})
	}
}

func relHTTPStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
