package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/integration/s3test"
	"github.com/s3mpu/s3mpu/kmsperm"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/preflight"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// badEnv is what a bad-input case may use.
type badCtx struct {
	env    *s3test.Env
	bucket string
	tgt    s3test.Target
	dir    string
	// secrets must never appear in an error message.
	secrets []string
}

// client returns a root S3 client over the target.
func (b *badCtx) client() *s3.Client { return b.env.Root(b.tgt) }

// upload runs one upload with root's client and the given options.
func (b *badCtx) upload(ctx context.Context, in *uploader.UploadInput, optFns ...func(*uploader.Options)) error {
	return b.uploadWith(ctx, b.client(), in, optFns...)
}

func (b *badCtx) uploadWith(ctx context.Context, cli *s3.Client, in *uploader.UploadInput, optFns ...func(*uploader.Options)) error {
	fns := append([]func(*uploader.Options){func(o *uploader.Options) {
		o.PartSize = 5 * relMiB
		o.InitialBackoff = 1e6 // 1 ms
		o.MaxBackoff = 1e7
	}}, optFns...)
	_, err := uploader.New(cli, fns...).Upload(ctx, in)
	return err
}

// file writes size bytes to a new file and opens it.
func (b *badCtx) file(t *testing.T, name string, size int64) *os.File {
	t.Helper()
	p, err := relSource{seed: uint64(size), size: size}.writeFile(b.dir, name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// streamOf returns a reader of n bytes that is not an io.ReaderAt.
func relStream(n int64) io.Reader { return struct{ io.Reader }{relSource{seed: 3, size: n}.reader()} }

// failingReader yields n bytes and then fails with err.
type badFailingReader struct {
	r   io.Reader
	err error
}

func (f *badFailingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

var badErrDiskGone = errors.New("disk unplugged")

// libCase is one bad input given to the library.
type badLibCase struct {
	name string
	// key is the object key the case tries to write in the test bucket ("" when it
	// writes elsewhere); it must not exist afterwards.
	key string
	// want is the sentinel errors.Is must find.
	want error
	// words must all appear in the message (case-insensitive); alternatives separated by |.
	words []string
	run   func(t *testing.T, b *badCtx, key string) error
}

func badInput(b *badCtx, key string, body io.Reader) *uploader.UploadInput {
	return &uploader.UploadInput{Bucket: b.bucket, Key: key, Body: body}
}

// sseCKey returns a base64 SSE-C key of n bytes and its base64 MD5.
func badSSECKey(n int) (string, string) {
	k := bytes.Repeat([]byte{0x42}, n)
	sum := md5.Sum(k)
	return base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(sum[:])
}

func badLibCases() []badLibCase {
	small := func() io.Reader { return bytes.NewReader(make([]byte, 1024)) }
	bucketCase := func(name, bucket string) badLibCase {
		return badLibCase{name: "bucket-" + name, want: mpu.ErrInvalidInput, words: []string{"bucket"},
			run: func(t *testing.T, b *badCtx, key string) error {
				return b.upload(testCtx(t), &uploader.UploadInput{Bucket: bucket, Key: "k", Body: small()})
			}}
	}
	optCase := func(name string, words []string, fn func(*uploader.Options)) badLibCase {
		return badLibCase{name: name, key: "opt-" + name, want: mpu.ErrInvalidInput, words: words,
			run: func(t *testing.T, b *badCtx, key string) error {
				return b.upload(testCtx(t), badInput(b, key, bytes.NewReader(make([]byte, 12*relMiB))), fn)
			}}
	}
	sizeCase := func(name string, body func() io.Reader, size int64, words ...string) badLibCase {
		return badLibCase{name: name, key: name, want: mpu.ErrInvalidInput, words: words,
			run: func(t *testing.T, b *badCtx, key string) error {
				in := badInput(b, key, body())
				in.Size = size
				return b.upload(testCtx(t), in)
			}}
	}
	userCase := func(name string, want error, words []string, mk func(t *testing.T, b *badCtx) *s3.Client) badLibCase {
		return badLibCase{name: name, key: name, want: want, words: words,
			run: func(t *testing.T, b *badCtx, key string) error {
				return b.uploadWith(testCtx(t), mk(t, b), badInput(b, key, bytes.NewReader(make([]byte, 12*relMiB))))
			}}
	}
	sseCCase := func(name string, words []string, mod func(in *uploader.UploadInput)) badLibCase {
		return badLibCase{name: name, key: name, want: mpu.ErrInvalidInput, words: words,
			run: func(t *testing.T, b *badCtx, key string) error {
				in := badInput(b, key, bytes.NewReader(make([]byte, 12*relMiB)))
				in.SSECustomerAlgorithm = "AES256"
				in.SSECustomerKey, in.SSECustomerKeyMD5 = badSSECKey(32)
				mod(in)
				if in.SSECustomerKey != "" {
					b.secrets = append(b.secrets, in.SSECustomerKey)
				}
				return b.upload(testCtx(t), in)
			}}
	}
	return []badLibCase{
		bucketCase("empty", ""),
		bucketCase("uppercase-underscore", "Bad_Bucket"),
		bucketCase("too-short", "ab"),
		bucketCase("too-long", strings.Repeat("b", 64)),
		bucketCase("ip-address", "192.168.5.4"),
		bucketCase("slash", "bucket/with/slash"),
		{name: "key-empty", want: mpu.ErrInvalidInput, words: []string{"key"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				return b.upload(testCtx(t), badInput(b, "", small()))
			}},
		{name: "key-too-long", want: mpu.ErrInvalidInput, words: []string{"key", "1024"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				return b.upload(testCtx(t), badInput(b, strings.Repeat("k", 1025), small()))
			}},
		{name: "key-invalid-utf8", want: mpu.ErrInvalidInput, words: []string{"key", "UTF-8"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				return b.upload(testCtx(t), badInput(b, "bad-\xff\xfe-key", small()))
			}},
		optCase("part-size-below-5MiB", []string{"part"}, func(o *uploader.Options) { o.PartSize = 5*relMiB - 1 }),
		optCase("part-size-above-5GiB", []string{"part"}, func(o *uploader.Options) { o.PartSize = 5<<30 + 1 }),
		optCase("part-size-negative", []string{"part"}, func(o *uploader.Options) { o.PartSize = -1 }),
		optCase("concurrency-negative", []string{"concurrency"}, func(o *uploader.Options) { o.Concurrency = -1 }),
		optCase("max-attempts-negative", []string{"attempts"}, func(o *uploader.Options) { o.MaxAttempts = -3 }),
		optCase("checksum-algorithm-unknown", []string{"checksum"}, func(o *uploader.Options) { o.ChecksumAlgorithm = "MD5" }),
		sizeCase("more-than-10000-parts", small, 5<<40+1, "size|part"),
		sizeCase("size-negative", small, -2, "negative"),
		{name: "body-nil", key: "body-nil", want: mpu.ErrInvalidInput, words: []string{"body"},
			run: func(t *testing.T, b *badCtx, key string) error {
				return b.upload(testCtx(t), badInput(b, key, nil))
			}},
		sizeCase("readerat-shorter-than-size", func() io.Reader { return bytes.NewReader(make([]byte, 3*relMiB)) }, 12*relMiB, "size"),
		sizeCase("readerat-longer-than-size", func() io.Reader { return bytes.NewReader(make([]byte, 13*relMiB)) }, 12*relMiB, "size"),
		sizeCase("stream-shorter-than-size-multipart", func() io.Reader { return relStream(7 * relMiB) }, 12*relMiB, "size"),
		sizeCase("stream-longer-than-size-multipart", func() io.Reader { return relStream(8 * relMiB) }, 6*relMiB, "size"),
		sizeCase("stream-shorter-than-size-single", func() io.Reader { return relStream(100 * relKiB) }, relMiB, "size"),
		sizeCase("stream-longer-than-size-single", func() io.Reader { return relStream(2 * relMiB) }, relMiB, "size"),
		{name: "file-grows-during-upload", key: "file-grows", want: mpu.ErrSourceChanged, words: []string{"changed"},
			run: func(t *testing.T, b *badCtx, key string) error {
				return badChangingFile(t, b, key, func(p string) error {
					f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
					if err != nil {
						return err
					}
					defer f.Close()
					_, err = f.Write(make([]byte, relMiB))
					return err
				})
			}},
		{name: "file-shrinks-during-upload", key: "file-shrinks", want: mpu.ErrSourceChanged, words: []string{"changed"},
			run: func(t *testing.T, b *badCtx, key string) error {
				return badChangingFile(t, b, key, func(p string) error { return os.Truncate(p, 7*relMiB) })
			}},
		{name: "reader-fails-midway", key: "reader-fails", want: badErrDiskGone, words: []string{"disk unplugged"},
			run: func(t *testing.T, b *badCtx, key string) error {
				return b.upload(testCtx(t), badInput(b, key, &badFailingReader{r: relStream(8 * relMiB), err: badErrDiskGone}))
			}},
		{name: "file-unreadable", key: "unreadable", want: syscall.EBADF, words: []string{"read"},
			run: func(t *testing.T, b *badCtx, key string) error {
				f := b.file(t, "unreadable", 6*relMiB)
				w, err := os.OpenFile(f.Name(), os.O_WRONLY, 0) // open, but not for reading
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				return b.upload(testCtx(t), badInput(b, key, w))
			}},
		{name: "directory-instead-of-file", key: "directory", want: mpu.ErrInvalidInput, words: []string{"directory"},
			run: func(t *testing.T, b *badCtx, key string) error {
				d, err := os.Open(b.dir)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				return b.upload(testCtx(t), badInput(b, key, d))
			}},
		{name: "bucket-nonexistent-single", want: mpu.ErrNotFound, words: []string{"bucket"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				return b.upload(testCtx(t), &uploader.UploadInput{Bucket: s3test.UniqueName("no-such"), Key: "k", Body: small()})
			}},
		{name: "bucket-nonexistent-multipart", want: mpu.ErrNotFound, words: []string{"bucket"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				return b.upload(testCtx(t), &uploader.UploadInput{Bucket: s3test.UniqueName("no-such"), Key: "k", Body: bytes.NewReader(make([]byte, 12*relMiB))})
			}},
		userCase("region-wrong", mpu.ErrPermissionDenied, []string{"region"}, func(t *testing.T, b *badCtx) *s3.Client {
			return b.env.S3For(b.tgt, b.env.Users["root"], func(o *s3.Options) { o.Region = "eu-west-1" })
		}),
		userCase("credentials-wrong-secret", mpu.ErrCredentials, []string{"signature"}, func(t *testing.T, b *badCtx) *s3.Client {
			u := b.env.Users["root"]
			u.SecretKey = "wrong-secret-" + strings.Repeat("x", 20)
			b.secrets = append(b.secrets, u.SecretKey)
			return b.env.S3For(b.tgt, u)
		}),
		userCase("credentials-unknown-key", mpu.ErrCredentials, []string{"access key"}, func(t *testing.T, b *badCtx) *s3.Client {
			return b.env.S3For(b.tgt, s3test.User{Name: "nobody", AccessKey: "AKIANOBODY0000000000", SecretKey: "nobody-secret-0123456789"})
		}),
		userCase("credentials-revoked", mpu.ErrCredentials, []string{"access key"}, func(t *testing.T, b *badCtx) *s3.Client {
			u := b.env.NewUser(t, "revoked")
			if _, err := b.env.IAM(t).DeleteAccessKey(testCtx(t), &iam.DeleteAccessKeyInput{UserName: aws.String(u.Name), AccessKeyId: aws.String(u.AccessKey)}); err != nil {
				t.Fatal(err)
			}
			b.secrets = append(b.secrets, u.SecretKey)
			return b.env.S3For(b.tgt, u)
		}),
		userCase("credentials-no-permission", mpu.ErrPermissionDenied, []string{"denied"}, func(t *testing.T, b *badCtx) *s3.Client {
			u := b.env.NewUser(t, "nopolicy")
			b.secrets = append(b.secrets, u.SecretKey)
			return b.env.S3For(b.tgt, u)
		}),
		{name: "expected-bucket-owner-wrong", key: "owner-wrong", want: mpu.ErrPermissionDenied, words: []string{"denied"},
			run: func(t *testing.T, b *badCtx, key string) error {
				in := badInput(b, key, bytes.NewReader(make([]byte, 12*relMiB)))
				in.ExpectedBucketOwner = "111122223333"
				return b.upload(testCtx(t), in)
			}},
		{name: "context-canceled", key: "canceled", want: mpu.ErrCanceled, words: []string{"cancel"},
			run: func(t *testing.T, b *badCtx, key string) error {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return b.upload(ctx, badInput(b, key, bytes.NewReader(make([]byte, 12*relMiB))))
			}},
		{name: "context-canceled-midway", key: "canceled-midway", want: mpu.ErrCanceled, words: []string{"cancel"},
			run: func(t *testing.T, b *badCtx, key string) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				return b.upload(ctx, badInput(b, key, bytes.NewReader(make([]byte, 30*relMiB))), func(o *uploader.Options) {
					o.Concurrency = 1
					o.Listener = event.ListenerFunc(func(e event.Event) {
						if _, ok := e.(event.PartDone); ok {
							cancel()
						}
					})
				})
			}},
		sseCCase("ssec-key-16-bytes", []string{"SSE-C|customer key"}, func(in *uploader.UploadInput) {
			in.SSECustomerKey, in.SSECustomerKeyMD5 = badSSECKey(16)
		}),
		sseCCase("ssec-key-33-bytes", []string{"SSE-C|customer key"}, func(in *uploader.UploadInput) {
			in.SSECustomerKey, in.SSECustomerKeyMD5 = badSSECKey(33)
		}),
		sseCCase("ssec-key-not-base64", []string{"SSE-C|customer key"}, func(in *uploader.UploadInput) {
			in.SSECustomerKey = "this is not base64 at all!!"
		}),
		sseCCase("ssec-key-md5-mismatch", []string{"MD5"}, func(in *uploader.UploadInput) {
			_, in.SSECustomerKeyMD5 = badSSECKey(31)
		}),
		sseCCase("ssec-algorithm-unknown", []string{"AES256"}, func(in *uploader.UploadInput) {
			in.SSECustomerAlgorithm = "ROT13"
		}),
		sseCCase("ssec-key-without-algorithm", []string{"SSE-C|customer"}, func(in *uploader.UploadInput) {
			in.SSECustomerAlgorithm = ""
		}),
		{name: "sse-kms-and-ssec-together", key: "sse-both", want: mpu.ErrInvalidInput, words: []string{"SSE"},
			run: func(t *testing.T, b *badCtx, key string) error {
				in := badInput(b, key, bytes.NewReader(make([]byte, 12*relMiB)))
				in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
				in.SSECustomerAlgorithm = "AES256"
				in.SSECustomerKey, in.SSECustomerKeyMD5 = badSSECKey(32)
				b.secrets = append(b.secrets, in.SSECustomerKey)
				return b.upload(testCtx(t), in)
			}},
		{name: "tagging-malformed", key: "tagging", want: mpu.ErrInvalidInput, words: []string{"tag"},
			run: func(t *testing.T, b *badCtx, key string) error {
				in := badInput(b, key, bytes.NewReader(make([]byte, 12*relMiB)))
				in.Tagging = "a=b=c&&="
				return b.upload(testCtx(t), in)
			}},
		{name: "state-file-malformed", key: "state-malformed", want: mpu.ErrInvalidInput, words: []string{"state"},
			run: func(t *testing.T, b *badCtx, key string) error {
				state := filepath.Join(b.dir, "bad.state")
				if err := os.WriteFile(state, []byte(`{"bucket": "b", "uploadId": 12,`), 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := uploader.New(b.client(), func(o *uploader.Options) { o.PartSize = 5 * relMiB }).Resume(testCtx(t),
					&uploader.ResumeInput{UploadInput: *badInput(b, key, b.file(t, "state-malformed", 12*relMiB)), StateFile: state})
				return err
			}},
		{name: "state-file-of-another-object", key: "state-other", want: mpu.ErrInvalidInput, words: []string{"state"},
			run: func(t *testing.T, b *badCtx, key string) error {
				state := filepath.Join(b.dir, "other.state")
				up := uploader.New(b.client(), func(o *uploader.Options) { o.PartSize = 5 * relMiB; o.Concurrency = 1 })
				// Leave a state file behind for another key: cancel after its first part.
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				other := "state-first"
				_, err := up.Resume(ctx, &uploader.ResumeInput{UploadInput: *badInput(b, other, b.file(t, "first", 12*relMiB)), StateFile: state},
					func(o *uploader.Options) {
						o.Listener = event.ListenerFunc(func(e event.Event) {
							if _, ok := e.(event.PartDone); ok {
								cancel()
							}
						})
					})
				if err == nil {
					t.Fatal("the first upload was not interrupted")
				}
				defer func() {
					if err := up.AbortResumable(testCtx(t), state); err != nil {
						t.Errorf("AbortResumable: %v", err)
					}
				}()
				_, err = up.Resume(testCtx(t), &uploader.ResumeInput{UploadInput: *badInput(b, key, b.file(t, "second", 12*relMiB)), StateFile: state})
				return err
			}},
		{name: "resume-of-a-stream", key: "resume-stream", want: mpu.ErrInvalidInput, words: []string{"stream|resum"},
			run: func(t *testing.T, b *badCtx, key string) error {
				_, err := uploader.New(b.client(), func(o *uploader.Options) { o.PartSize = 5 * relMiB }).Resume(testCtx(t),
					&uploader.ResumeInput{UploadInput: *badInput(b, key, relStream(12*relMiB)), StateFile: filepath.Join(b.dir, "stream.state")})
				return err
			}},
		{name: "policy-malformed-json", want: mpu.ErrInvalidInput, words: []string{"alice-policy.json"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				_, err := preflight.EvaluateRequest(preflight.EvalInput{Caller: "arn:aws:iam::000000000000:user/alice", Action: "s3:PutObject",
					Resource: "arn:aws:s3:::b/k", IdentityPolicies: []mpu.PolicyDocument{{Name: "alice-policy.json", JSON: []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`)}}})
				return err
			}},
		{name: "policy-unknown-condition-operator", want: mpu.ErrInvalidInput, words: []string{"StringEqualz"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				_, err := preflight.EvaluateRequest(preflight.EvalInput{Caller: "arn:aws:iam::000000000000:user/alice", Action: "s3:PutObject",
					Resource: "arn:aws:s3:::b/k", IdentityPolicies: []mpu.PolicyDocument{{Name: "alice-policy.json", JSON: []byte(
						`{"Version":"2012-10-17","Statement":[{"Sid":"OnlyAES","Effect":"Allow","Action":"s3:PutObject","Resource":"*",
						"Condition":{"StringEqualz":{"s3:x-amz-server-side-encryption":"AES256"}}}]}`)}}})
				return err
			}},
		{name: "policy-unknown-effect", want: mpu.ErrInvalidInput, words: []string{"effect"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				_, err := preflight.EvaluateRequest(preflight.EvalInput{Caller: "arn:aws:iam::000000000000:user/alice", Action: "s3:PutObject",
					Resource: "arn:aws:s3:::b/k", BucketPolicy: mpu.PolicyDocument{Name: "bucket-policy.json", JSON: []byte(
						`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}`)}})
				return err
			}},
		{name: "policy-caller-not-an-arn", want: mpu.ErrInvalidInput, words: []string{"not-an-arn"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				_, err := preflight.EvaluateRequest(preflight.EvalInput{Caller: "not-an-arn", Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"})
				return err
			}},
		{name: "kms-key-malformed", want: mpu.ErrInvalidInput, words: []string{"key"},
			run: func(t *testing.T, b *badCtx, _ string) error {
				_, err := kmsperm.New(nil).Check(testCtx(t), kmsperm.Input{Caller: "arn:aws:iam::000000000000:user/alice", Region: "us-east-1",
					Object: kmsperm.Object{Bucket: "b", Key: "k"}, KMSKeyID: "arn:aws:s3:::not-a-kms-key"})
				return err
			}},
		{name: "kms-key-unknown", want: mpu.ErrNotFound, words: []string{"1234abcd-0000-0000-0000-000000000000"},
			run: func(t *testing.T, b *badCtx, _ string) error { return badUnknownKMSKey(t) },
		},
	}
}

// changingFile uploads a 24 MiB file one part at a time and changes it with mutate after the
// first part is stored.
func badChangingFile(t *testing.T, b *badCtx, key string, mutate func(path string) error) error {
	f := b.file(t, key, 24*relMiB)
	var once sync.Once
	var merr error
	err := b.upload(testCtx(t), badInput(b, key, f), func(o *uploader.Options) {
		o.Concurrency = 1
		o.Listener = event.ListenerFunc(func(e event.Event) {
			if _, ok := e.(event.PartDone); ok {
				once.Do(func() { merr = mutate(f.Name()) })
			}
		})
	})
	if merr != nil {
		t.Fatalf("changing the file: %v", merr)
	}
	return err
}

// unknownKMSKey checks SSE-KMS permissions for a key that does not exist. No KMS server
// runs here: a local httptest server speaks KMS's JSON protocol and answers DescribeKey and
// GetKeyPolicy with NotFoundException, as KMS does for an unknown key.
func badUnknownKMSKey(t *testing.T) error {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"NotFoundException","message":"Key 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-0000-0000-0000-000000000000' does not exist"}`)
	}))
	defer srv.Close()
	kc := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDKMS", "kms-secret", "")})
	rep, err := kmsperm.New(kc).Check(testCtx(t), kmsperm.Input{Caller: "arn:aws:iam::000000000000:user/alice", Region: "us-east-1",
		Object: kmsperm.Object{Bucket: "b", Key: "k"}, KMSKeyID: "1234abcd-0000-0000-0000-000000000000",
		Identity: []mpu.PolicyDocument{}})
	if err != nil {
		return err
	}
	var gaps []string
	for _, g := range rep.Gaps {
		gaps = append(gaps, g.Error)
	}
	return fmt.Errorf("kmsperm.Check of a key that does not exist returned no error, only a report with gaps %q", gaps)
}

// msgHas reports whether msg contains one of the |-separated alternatives, ignoring case.
func relMsgHas(msg, alts string) bool {
	for _, a := range strings.Split(alts, "|") {
		if strings.Contains(strings.ToLower(msg), strings.ToLower(a)) {
			return true
		}
	}
	return false
}

// TestBadInputLibrary gives the library bad input of every kind. Each case must fail with
// an error of the documented category (errors.Is on the sentinels), a message that says what
// is wrong, no secret in the message, and nothing left behind: no multipart upload in the
// bucket and no object under the case's key.
func TestBadInputLibrary(t *testing.T) {
	env := s3test.Load(t)
	cases := badLibCases()
	if len(cases) < 40 {
		t.Fatalf("%d library cases, want at least 40", len(cases))
	}
	for _, tgt := range []s3test.Target{env.HTTPS()} {
		bucket := env.NewBucket(t, s3test.WithPrefix("badinput"))
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b := &badCtx{env: env, bucket: bucket, tgt: tgt, dir: t.TempDir(), secrets: []string{env.Users["root"].SecretKey}}
				key := c.key
				err := c.run(t, b, key)
				badCheckOutcome(t, b, c.name, key, err, c.want, c.words)
			})
		}
	}
}

func badCheckOutcome(t *testing.T, b *badCtx, name, key string, err, want error, words []string) {
	t.Helper()
	if err == nil {
		t.Errorf("case %s: got no error, want %v", name, want)
	} else {
		msg := err.Error()
		if !errors.Is(err, want) {
			t.Errorf("case %s: got error %q (%T), want errors.Is(err, %q)", name, msg, err, want)
		}
		for _, w := range words {
			if !relMsgHas(msg, w) {
				t.Errorf("case %s: message %q does not mention %q", name, msg, w)
			}
		}
		for _, s := range b.secrets {
			if s != "" && strings.Contains(msg, s) {
				t.Errorf("case %s: message reveals a secret", name)
			}
		}
		if strings.Contains(msg, "%!") {
			t.Errorf("case %s: message %q has a formatting error", name, msg)
		}
		t.Logf("case %s: %v", name, msg)
	}
	ctx := testCtx(t)
	ups, lerr := b.env.ListUploads(ctx, b.bucket)
	if lerr != nil {
		t.Fatalf("list uploads: %v", lerr)
	}
	for _, u := range ups {
		t.Errorf("case %s: left multipart upload %s (%s)", name, aws.ToString(u.Key), aws.ToString(u.UploadId))
		_, _ = b.env.Root(b.env.HTTP()).AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b.bucket, Key: u.Key, UploadId: u.UploadId})
	}
	if key != "" {
		if _, herr := b.env.Root(b.env.HTTP()).HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.bucket, Key: &key}); herr == nil {
			t.Errorf("case %s: object %s was created", name, key)
		}
	}

}

// badCLICase is one bad input given to the s3mpu CLI.
type badCLICase struct {
	name string
	key  string // object key in the test bucket that must not exist afterwards ("" for none)
	code int    // wanted exit status: 1 failure, 2 usage or invalid input, 3 denied
	// words must all appear in stderr (case-insensitive); alternatives separated by |.
	words []string
	stdin []byte
	args  func(c *badCLIEnv) []string
	// user runs the case as another identity (nil: root).
	user func(t *testing.T, c *badCLIEnv) s3test.User
}

type badCLIEnv struct {
	bucket, file, dir string
	small             string // a file below 3 MB: the server sometimes cuts a denied larger PUT short
	policyDir         string
}

func badCLICases() []badCLICase {
	up := func(src, dst string, extra ...string) func(c *badCLIEnv) []string {
		return func(c *badCLIEnv) []string {
			s := strings.ReplaceAll(src, "SMALL", c.small)
			s = strings.ReplaceAll(s, "FILE", c.file)
			s = strings.ReplaceAll(s, "DIR", c.dir)
			d := strings.ReplaceAll(dst, "BUCKET", c.bucket)
			var ex []string
			for _, e := range extra {
				e = strings.ReplaceAll(e, "POLDIR", c.policyDir)
				ex = append(ex, strings.ReplaceAll(e, "DIR", c.dir))
			}
			return append([]string{"upload", s, d, "--preflight", "off", "--progress", "none"}, ex...)
		}
	}
	args := func(a ...string) func(c *badCLIEnv) []string {
		return func(c *badCLIEnv) []string {
			var out []string
			for _, s := range a {
				s = strings.ReplaceAll(s, "BUCKET", c.bucket)
				s = strings.ReplaceAll(s, "POLDIR", c.policyDir)
				out = append(out, s)
			}
			return out
		}
	}
	evalArgs := func(policyFile string) func(c *badCLIEnv) []string {
		return args("policy", "eval", "--caller", "arn:aws:iam::000000000000:user/alice", "--action", "s3:PutObject",
			"--resource", "arn:aws:s3:::b/k", "--identity-policy", "POLDIR/"+policyFile)
	}
	return []badCLICase{
		{name: "file-nonexistent", key: "cli-nofile", code: 2, words: []string{"no such file"}, args: up("DIR/does-not-exist", "s3://BUCKET/cli-nofile")},
		{name: "directory-instead-of-file", key: "cli-dir", code: 2, words: []string{"directory"}, args: up("DIR", "s3://BUCKET/cli-dir")},
		{name: "bucket-invalid-name", code: 2, words: []string{"bucket"}, args: up("FILE", "s3://Bad_Bucket/k")},
		{name: "url-without-key", code: 2, words: []string{"key"}, args: up("FILE", "s3://BUCKET")},
		{name: "url-not-s3", code: 2, words: []string{"s3://"}, args: up("FILE", "https://BUCKET/k")},
		{name: "key-too-long", code: 2, words: []string{"1024"}, args: up("FILE", "s3://BUCKET/"+strings.Repeat("k", 1025))},
		{name: "part-size-below-5MiB", key: "cli-ps-small", code: 2, words: []string{"part-size"}, args: up("FILE", "s3://BUCKET/cli-ps-small", "--part-size", "1MiB")},
		{name: "part-size-above-5GiB", key: "cli-ps-big", code: 2, words: []string{"part-size"}, args: up("FILE", "s3://BUCKET/cli-ps-big", "--part-size", "6GiB")},
		{name: "part-size-garbage", key: "cli-ps-junk", code: 2, words: []string{"part-size"}, args: up("FILE", "s3://BUCKET/cli-ps-junk", "--part-size", "lots")},
		{name: "concurrency-0", key: "cli-conc-0", code: 2, words: []string{"concurrency"}, args: up("FILE", "s3://BUCKET/cli-conc-0", "--concurrency", "0")},
		{name: "concurrency-negative", key: "cli-conc-neg", code: 2, words: []string{"concurrency"}, args: up("FILE", "s3://BUCKET/cli-conc-neg", "--concurrency", "-1")},
		{name: "rate-limit-garbage", key: "cli-rate", code: 2, words: []string{"rate-limit"}, args: up("FILE", "s3://BUCKET/cli-rate", "--rate-limit", "fast")},
		{name: "checksum-algorithm-unknown", key: "cli-md5", code: 2, words: []string{"checksum"}, args: up("FILE", "s3://BUCKET/cli-md5", "--checksum-algorithm", "MD5")},
		{name: "stdin-shorter-than-size", key: "cli-short-stdin", code: 2, words: []string{"size"}, stdin: make([]byte, 3*relMiB),
			args: up("-", "s3://BUCKET/cli-short-stdin", "--size", "12MiB", "--part-size", "5MiB")},
		{name: "bucket-nonexistent", code: 1, words: []string{"bucket"}, args: up("FILE", "s3://no-such-bucket-s3mpu-test/k")},
		{name: "credentials-wrong-secret", key: "cli-badsecret", code: 1, words: []string{"signature|credentials"}, args: up("SMALL", "s3://BUCKET/cli-badsecret"),
			user: func(t *testing.T, c *badCLIEnv) s3test.User {
				u := s3test.Load(t).Users["root"]
				u.SecretKey = "definitely-the-wrong-secret-key-0123"
				return u
			}},
		{name: "credentials-no-permission", key: "cli-noperm", code: 1, words: []string{"denied"}, args: up("SMALL", "s3://BUCKET/cli-noperm"),
			user: func(t *testing.T, c *badCLIEnv) s3test.User { return s3test.Load(t).NewUser(t, "clinoperm") }},
		{name: "region-wrong", key: "cli-region", code: 1, words: []string{"region"}, args: func(c *badCLIEnv) []string {
			return append([]string{"--region", "eu-west-1"}, up("SMALL", "s3://BUCKET/cli-region")(c)...)
		}},
		{name: "ssec-key-16-bytes", key: "cli-ssec16", code: 2, words: []string{"SSE-C|key"}, args: up("FILE", "s3://BUCKET/cli-ssec16", "--sse-c", "AES256", "--sse-c-key-file", "DIR/key16")},
		{name: "ssec-key-file-missing", key: "cli-ssec-missing", code: 2, words: []string{"key"}, args: up("FILE", "s3://BUCKET/cli-ssec-missing", "--sse-c", "AES256", "--sse-c-key-file", "DIR/nokey")},
		{name: "ssec-algorithm-unknown", key: "cli-ssec-alg", code: 2, words: []string{"AES256"}, args: up("FILE", "s3://BUCKET/cli-ssec-alg", "--sse-c", "ROT13", "--sse-c-key-file", "DIR/key32")},
		{name: "sse-unknown", key: "cli-sse", code: 2, words: []string{"--sse"}, args: up("FILE", "s3://BUCKET/cli-sse", "--sse", "magic")},
		{name: "preflight-mode-unknown", key: "cli-pf", code: 2, words: []string{"preflight"}, args: func(c *badCLIEnv) []string {
			return []string{"upload", c.file, "s3://" + c.bucket + "/cli-pf", "--preflight", "maybe"}
		}},
		{name: "policy-malformed-json", code: 2, words: []string{"malformed.json"}, args: evalArgs("malformed.json")},
		{name: "policy-unknown-condition-operator", code: 2, words: []string{"StringEqualz"}, args: evalArgs("operator.json")},
		{name: "policy-file-missing", code: 2, words: []string{"missing.json"}, args: evalArgs("missing.json")},
		{name: "policy-eval-missing-flags", code: 2, words: []string{"--action"}, args: args("policy", "eval", "--caller", "arn:aws:iam::000000000000:user/alice")},
		{name: "uploads-abort-unknown-upload-id", code: 1, words: []string{"NoSuchUpload|does not exist|not found|no such upload"}, args: args("uploads", "abort", "s3://BUCKET/k", "--upload-id", "no-such-upload-id")},
		{name: "uploads-abort-without-id", code: 2, words: []string{"upload-id"}, args: args("uploads", "abort", "s3://BUCKET/k")},
		{name: "uploads-ls-nonexistent-bucket", code: 1, words: []string{"bucket"}, args: args("uploads", "ls", "s3://no-such-bucket-s3mpu-test",
			"--caller", "arn:aws:iam::000000000000:root", "--server-profile", "nodefaults")},
		{name: "uploads-cleanup-bad-age", code: 2, words: []string{"older-than"}, args: args("uploads", "cleanup", "s3://BUCKET", "--older-than", "soon")},
		{name: "preflight-bad-url", code: 2, words: []string{"s3://"}, args: args("preflight", "bucket-without-scheme/k")},
		{name: "command-unknown", code: 2, words: []string{"unknown"}, args: args("uplaod", "x", "y")},
	}
}

// TestBadInputCLI gives the s3mpu CLI bad input. Each case must end with the documented
// exit status, a message on stderr that says what is wrong, no secret in any output, no
// panic, and nothing left behind.
func TestBadInputCLI(t *testing.T) {
	env := s3test.Load(t)
	bucket := env.NewBucket(t, s3test.WithPrefix("badcli"))
	tgt := env.HTTPS()
	root := env.Users["root"]
	cli := newRelCLI(t, env, tgt, root)
	dir := t.TempDir()
	c := &badCLIEnv{bucket: bucket, dir: dir, policyDir: dir}
	p, err := relSource{seed: 9, size: 12 * relMiB}.writeFile(dir, "data.bin")
	if err != nil {
		t.Fatal(err)
	}
	c.file = p
	if c.small, err = (relSource{seed: 10, size: 100 * relKiB}).writeFile(dir, "small.bin"); err != nil {
		t.Fatal(err)
	}
	key16 := bytes.Repeat([]byte{7}, 16)
	key32 := bytes.Repeat([]byte{8}, 32)
	for name, b := range map[string][]byte{
		"key16":          key16,
		"key32":          key32,
		"malformed.json": []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`),
		"operator.json": []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*",
			"Condition":{"StringEqualz":{"s3:x-amz-acl":"private"}}}]}`),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	secrets := []string{root.SecretKey, base64.StdEncoding.EncodeToString(key16), base64.StdEncoding.EncodeToString(key32), string(key32)}
	for _, bc := range badCLICases() {
		t.Run(bc.name, func(t *testing.T) {
			run := cli
			if bc.user != nil {
				u := bc.user(t, c)
				run = &relCLI{bin: cli.bin, env: env, tgt: tgt, user: u, home: t.TempDir()}
			}
			r := run.run(t, bc.stdin, bc.args(c)...)
			out := r.Stdout + r.Stderr
			if r.Code != bc.code {
				t.Errorf("case %s: exit status %d, want %d; stderr: %q", bc.name, r.Code, bc.code, r.Stderr)
			}
			for _, w := range bc.words {
				if !relMsgHas(r.Stderr, w) {
					t.Errorf("case %s: stderr %q does not mention %q", bc.name, r.Stderr, w)
				}
			}
			for _, s := range append(secrets, run.user.SecretKey) {
				if s != "" && strings.Contains(out, s) {
					t.Errorf("case %s: output reveals a secret", bc.name)
				}
			}
			if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
				t.Errorf("case %s: the CLI panicked:\n%s", bc.name, out)
			}
			t.Logf("case %s: exit %d: %s", bc.name, r.Code, strings.TrimSpace(r.Stderr))
			ctx := testCtx(t)
			ups, err := env.ListUploads(ctx, bucket)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range ups {
				t.Errorf("case %s: left multipart upload %s (%s)", bc.name, aws.ToString(u.Key), aws.ToString(u.UploadId))
				_, _ = env.Root(env.HTTP()).AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
			}
			if bc.key != "" {
				if _, err := env.Root(env.HTTP()).HeadObject(ctx, relHead(bucket, bc.key)); err == nil {
					t.Errorf("case %s: object %s was created", bc.name, bc.key)
				}
			}
		})
	}
}
