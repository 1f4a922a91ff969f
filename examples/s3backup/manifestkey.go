package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/pflag"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// manifestKeyEnv names the environment variable that gives the manifest key file when
// --manifest-key is not set.
const manifestKeyEnv = "S3BACKUP_MANIFEST_KEY_FILE"

// minManifestKey is the shortest key accepted, in bytes.
const minManifestKey = 16

// noKeyWarning is said by verify and restore when no manifest key is set.
const noKeyWarning = "no manifest key (--manifest-key or " + manifestKeyEnv + "): the manifest is not authenticated, " +
	"so objects and manifest changed together in the bucket cannot be detected"

// manifestFlags are the global options about reading and signing the manifest.
type manifestFlags struct {
	keyFile     string
	maxSizeFlag string

	key     []byte // loaded by load
	maxSize int64
	loaded  bool
}

// register adds the flags to the root command's persistent flags.
func (f *manifestFlags) register(pf *pflag.FlagSet) {
	pf.StringVar(&f.keyFile, "manifest-key", "", "file holding a secret key (at least 16 bytes) to sign the manifest with HMAC-SHA256 (run) and check it (verify, restore); default: "+manifestKeyEnv)
	pf.StringVar(&f.maxSizeFlag, "max-manifest-size", "128MiB", "refuse a manifest larger than this")
}

// load reads the key file (never printed) and parses the size cap.
func (f *manifestFlags) load() error {
	if f.loaded {
		return nil
	}
	n, err := cmdkit.ParseSize(f.maxSizeFlag)
	if err != nil || n < 1 {
		return cmdkit.UsageErrorf("--max-manifest-size must be a positive size")
	}
	f.maxSize = n
	path, from := f.keyFile, "--manifest-key"
	if path == "" {
		path, from = os.Getenv(manifestKeyEnv), manifestKeyEnv
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return cmdkit.UsageErrorf("%s: cannot read the key file: %s", from, pathErrText(err))
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) < minManifestKey {
			return cmdkit.UsageErrorf("%s: the key file holds %d bytes; at least %d are needed", from, len(b), minManifestKey)
		}
		f.key = b
	}
	f.loaded = true
	return nil
}

// readOptions returns how the manifest of d is read.
func (f *manifestFlags) readOptions(d destination) readOptions {
	return readOptions{prefix: d.Prefix, key: f.key, maxSize: f.maxSize}
}

// openBackup returns the S3 client and the bucket's manifest of d for verify and restore:
// validated, its MAC checked when a key is set. sum gets a warning when no key is set.
func (a *app) openBackup(ctx context.Context, d destination, sum *summary) (*s3.Client, *manifest, error) {
	client, err := a.s3Client(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := a.mf.load(); err != nil {
		return nil, nil, err
	}
	m, err := loadRemoteManifest(ctx, client, d, a.mf.readOptions(d))
	if err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, fmt.Errorf("no backup at %s: the manifest %s does not exist", d, d.manifestKey())
	}
	if a.mf.key == nil {
		if m.MAC != "" {
			sum.warn("the manifest carries a MAC, but no manifest key was given: it was not checked")
		}
		sum.warn("%s", noKeyWarning)
	}
	return client, m, nil
}

// backupAndDir is what verify and restore share: the backup, the local DIR, the requests in
// flight and the filters.
type backupAndDir struct {
	dest        destination
	dir         string
	concurrency int
	filterFlags
}

// parseArgs parses the arguments of verify and restore, s3://bucket/prefix DIR, and checks
// --concurrency and the filters. A DIR that is an s3:// URL is refused: it would otherwise
// name a local directory "s3:".
func (b *backupAndDir) parseArgs(args []string) error {
	d, err := parseDestination(args[0])
	if err != nil {
		return cmdkit.UsageErrorf("%v", err)
	}
	if strings.HasPrefix(strings.ToLower(args[1]), "s3://") {
		return cmdkit.UsageErrorf("DIR %s is an s3:// URL: give the backup first and a local directory second", args[1])
	}
	if b.concurrency < 1 {
		return cmdkit.UsageErrorf("--concurrency must be at least 1")
	}
	b.dest, b.dir = d, args[1]
	return b.parseFilter()
}
