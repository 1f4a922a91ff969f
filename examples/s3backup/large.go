package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/uploader"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// putLarge sends a file at or above the multipart threshold with the uploader's Resume:
// parts read in place from the file (no buffers), slots parts in flight, retries, and a
// state file that lets the next run continue the upload if this one is interrupted. A file
// that fails has its upload aborted. The upload's ID is journaled as soon as it exists too.
func (b *backupRun) putLarge(ctx context.Context, j uploadJob, slots int) (*manifestEntry, error) {
	f, fi, err := b.openLocal(j.file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := fi.Size()
	var body io.Reader = f
	if b.limit != nil {
		body = &fileBody{SectionReader: io.NewSectionReader(b.limit.readerAt(ctx, f), 0, size), f: f}
	}
	l := &largeListener{b: b, key: j.key}
	up := uploader.New(b.client, func(o *uploader.Options) {
		o.PartSize = b.o.partSize
		o.Concurrency = slots
		o.Listener = l
	})
	in := &uploader.UploadInput{Bucket: b.o.dest.Bucket, Key: j.key, Body: body, Size: size}
	var kmsKey *string
	b.applyObjectSettings(&in.ServerSideEncryption, &kmsKey, &in.StorageClass)
	if kmsKey != nil {
		in.SSEKMSKeyID = *kmsKey
	}
	statePath := b.states.statePath(j.file.Rel)
	rin := &uploader.ResumeInput{UploadInput: *in, StateFile: statePath, StartOver: true}
	out, err := up.Resume(ctx, rin)
	if err != nil && errors.Is(err, mpu.ErrInvalidInput) && ctx.Err() == nil {
		// The state file is for other settings (e.g. another --sse): discard it, start afresh.
		if derr := up.AbortResumable(ctx, statePath); derr == nil {
			out, err = up.Resume(ctx, rin)
		}
	}
	if err != nil && ctx.Err() == nil {
		// A failed file does not leave its upload behind; an interrupted one keeps it (and
		// its state file) for the next run to continue.
		if derr := up.AbortResumable(context.WithoutCancel(ctx), statePath); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	// Leave exactly the file's bytes counted when it succeeded, none when it failed.
	settled := int64(0)
	if err == nil {
		settled = size
	}
	b.prog.bytesDone.Add(settled - l.sent.Load())
	if err != nil {
		return nil, err
	}
	b.sum.addBytes(l.sent.Load())
	after, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !sameState(fi, after) {
		return nil, errChanged
	}
	// The manifest records the file's full CRC32C. The uploader's object checksum is that
	// value when it is a full-object CRC32C; otherwise (a composite checksum) read the file.
	crc := ""
	if out.ChecksumAlgorithm == types.ChecksumAlgorithmCrc32c && out.ChecksumType == types.ChecksumTypeFullObject && out.Checksum != "" {
		crc = out.Checksum
	} else {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		var n int64
		if crc, n, err = fileCRC32C(f); err != nil {
			return nil, err
		}
		if n != size {
			return nil, errChanged
		}
	}
	if out.Checksum == "" {
		// The manifest needs the object's checksum to verify it later.
		return nil, errors.New("the server returned no checksum for the completed upload")
	}
	objSum := string(out.ChecksumAlgorithm) + ":" + out.Checksum
	return &manifestEntry{
		Size: size, MTimeNs: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode().Perm()), CRC32C: crc,
		ETag: out.ETag, VersionID: out.VersionID, ObjectChecksum: objSum, Parts: len(out.Parts),
		Uploaded: b.a.now().UTC(),
	}, nil
}

// largeListener journals the upload ID and counts the bytes sent for the display.
type largeListener struct {
	b    *backupRun
	key  string
	sent atomic.Int64
}

func (l *largeListener) OnEvent(e event.Event) {
	switch e := e.(type) {
	case event.Started:
		if e.UploadID != "" {
			// A journal that cannot be written only costs the next run the ability to
			// recognise this upload on servers that hide initiators; the upload goes on.
			_ = l.b.jnl.add(e.UploadID, l.key)
		}
	case event.BytesSent:
		l.sent.Add(e.Bytes)
		l.b.prog.bytesDone.Add(e.Bytes)
	case event.Resumed:
		l.b.sum.resumed(resumedUpload{Key: l.key, UploadID: e.UploadID, PartsStored: e.PartsStored, PartsSent: e.PartsToSend})
	case event.Completed:
		if e.UploadID != "" {
			l.b.jnl.done(e.UploadID)
		}
	case event.Aborted:
		if e.Err == nil {
			l.b.jnl.done(e.UploadID)
		}
	}
}

// describeUploadErr shortens an uploader error to the operation that failed, its cause and,
// when the upload could not be aborted, its ID and the abort's error.
func describeUploadErr(err error, base string) string {
	var ue *uploader.UploadError
	if !errors.As(err, &ue) {
		return base
	}
	s := ue.Op.String()
	if ue.PartNumber > 0 {
		s += fmt.Sprintf(" part %d", ue.PartNumber)
	}
	s += ": " + cmdkit.ErrText(ue.Err)
	if ue.UploadID != "" && !ue.Aborted && ue.AbortErr != nil {
		s += fmt.Sprintf(" (upload %s NOT aborted: %s)", ue.UploadID, cmdkit.ErrText(ue.AbortErr))
	}
	return s
}
