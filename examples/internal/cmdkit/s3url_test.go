package cmdkit

import (
	"strings"
	"testing"
)

func TestParseS3URL(t *testing.T) {
	long := strings.Repeat("k", MaxKeyLength+1)
	tests := []struct {
		in      string
		bucket  string
		key     string
		wantErr string
	}{
		{in: "s3://bucket/key", bucket: "bucket", key: "key"},
		{in: "s3://bucket/dir/sub/file.tar.gz", bucket: "bucket", key: "dir/sub/file.tar.gz"},
		{in: "S3://bucket/key with spaces", bucket: "bucket", key: "key with spaces"},
		{in: "s3://bucket", bucket: "bucket"},
		{in: "s3://bucket/", bucket: "bucket"},
		{in: "s3://bucket//double", bucket: "bucket", key: "/double"},
		{in: "s3://my.bucket-1/a%20b", bucket: "my.bucket-1", key: "a%20b"},
		{in: "s3://bucket/ключ", bucket: "bucket", key: "ключ"},
		{in: "bucket/key", wantErr: "not an s3:// URL"},
		{in: "https://bucket/key", wantErr: "not an s3:// URL"},
		{in: "s3:/", wantErr: "not an s3:// URL"},
		{in: "s3://", wantErr: "no bucket"},
		{in: "s3:///key", wantErr: "no bucket"},
		{in: "s3://ab/key", wantErr: "3 to 63"},
		{in: "s3://bu?cket/key", wantErr: "contains"},
		{in: "s3://bucket/" + long, wantErr: "1025 bytes"},
		{in: "s3://bucket/\xff", wantErr: "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseS3URL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseS3URL(%q) = %+v, %v; want error containing %q", tt.in, u, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseS3URL(%q): %v", tt.in, err)
			}
			if u.Bucket != tt.bucket || u.Key != tt.key {
				t.Fatalf("ParseS3URL(%q) = %q, %q; want %q, %q", tt.in, u.Bucket, u.Key, tt.bucket, tt.key)
			}
		})
	}
}

func TestParseObjectURL(t *testing.T) {
	if _, err := ParseObjectURL("s3://bucket"); err == nil || !strings.Contains(err.Error(), "names a bucket") {
		t.Fatalf("bucket only: err = %v", err)
	}
	if _, err := ParseObjectURL("s3://bucket/"); err == nil {
		t.Fatal("bucket with slash: no error")
	}
	u, err := ParseObjectURL("s3://bucket/k")
	if err != nil || u.String() != "s3://bucket/k" {
		t.Fatalf("got %v, %v", u, err)
	}
}

func TestS3URLString(t *testing.T) {
	for _, s := range []string{"s3://bucket", "s3://bucket/a/b"} {
		u, err := ParseS3URL(s)
		if err != nil {
			t.Fatal(err)
		}
		if u.String() != s {
			t.Errorf("round trip %q -> %q", s, u.String())
		}
	}
}
