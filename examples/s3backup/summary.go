package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/s3mpu/s3mpu/examples/internal/cmdkit"
)

// fileFailure is a file that could not be backed up (or verified, or restored).
type fileFailure struct {
	Path   string `json:"path"`
	Key    string `json:"key,omitempty"`
	Reason string `json:"reason"`
}

// staleUpload is a multipart upload found under the prefix at start.
type staleUpload struct {
	Key       string    `json:"key"`
	UploadID  string    `json:"upload_id"`
	Initiated time.Time `json:"initiated,omitzero"`
	Initiator string    `json:"initiator,omitempty"`
	Reason    string    `json:"reason,omitempty"` // why it was not aborted
}

// resumedUpload is a multipart upload of an interrupted run that a run continued.
type resumedUpload struct {
	Key         string `json:"key"`
	UploadID    string `json:"upload_id"`
	PartsStored int    `json:"parts_stored"` // found on the server, not sent again
	PartsSent   int    `json:"parts_sent"`
}

// summary is what a command reports at the end, as text or JSON.
type summary struct {
	Command     string `json:"command"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	DryRun      bool   `json:"dry_run,omitempty"`

	Files         int   `json:"files"` // regular files considered (after include/exclude)
	Uploaded      int   `json:"uploaded"`
	UploadedBytes int64 `json:"uploaded_bytes"`
	Unchanged     int   `json:"unchanged"` // skipped: recorded with the same size and modification time
	// UnchangedBytes is the size of the unchanged files.
	UnchangedBytes int64         `json:"unchanged_bytes"`
	MetadataOnly   int           `json:"metadata_only,omitempty"` // only the mode changed: manifest updated, nothing sent
	Deleted        []string      `json:"deleted,omitempty"`
	Excluded       int           `json:"excluded"`
	Skipped        []skippedPath `json:"skipped,omitempty"` // symlinks, special files, unusable names
	Failed         []fileFailure `json:"failed,omitempty"`

	// verify
	Verified int `json:"verified,omitempty"`
	// restore
	Restored      int   `json:"restored,omitempty"`
	RestoredBytes int64 `json:"restored_bytes,omitempty"`
	// EmptyDirs counts the empty directories recorded (run), verified (verify) or created
	// (restore).
	EmptyDirs int `json:"empty_dirs,omitempty"`

	ResumedUploads    []resumedUpload   `json:"resumed_uploads,omitempty"`
	AbortedUploads    []staleUpload     `json:"aborted_uploads,omitempty"`
	NotAbortedUploads []staleUpload     `json:"not_aborted_uploads,omitempty"`
	Preflight         *preflightSummary `json:"preflight,omitempty"`
	Warnings          []string          `json:"warnings,omitempty"`

	// WouldUpload and WouldDelete list the planned work of a --dry-run.
	WouldUpload []string `json:"would_upload,omitempty"`
	WouldDelete []string `json:"would_delete,omitempty"`

	Bytes       int64         `json:"bytes"` // bytes sent (run) or received (restore)
	Duration    time.Duration `json:"-"`
	DurationSec float64       `json:"duration_seconds"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Error       string        `json:"error,omitempty"` // what stopped the command, if anything

	mu sync.Mutex
}

// preflightSummary is the outcome of the one permission check before a run.
type preflightSummary struct {
	Mode     string   `json:"mode"` // off, or the evaluator that decided
	Profile  string   `json:"server_profile"`
	Key      string   `json:"checked_key,omitempty"`
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
	// DeniedPrefixes are key patterns preflight found denied; files there fail with its reason.
	Notes []string `json:"notes,omitempty"`
}

func (s *summary) fail(path, key, reason string) {
	s.mu.Lock()
	s.Failed = append(s.Failed, fileFailure{Path: path, Key: key, Reason: reason})
	s.mu.Unlock()
}

func (s *summary) skip(path, reason string) {
	s.mu.Lock()
	s.Skipped = append(s.Skipped, skippedPath{Rel: path, Reason: reason})
	s.mu.Unlock()
}

func (s *summary) warn(format string, args ...any) {
	s.mu.Lock()
	s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *summary) resumed(r resumedUpload) {
	s.mu.Lock()
	s.ResumedUploads = append(s.ResumedUploads, r)
	s.mu.Unlock()
}

func (s *summary) uploaded(n int64) {
	s.mu.Lock()
	s.Uploaded++
	s.UploadedBytes += n
	s.mu.Unlock()
}

func (s *summary) addBytes(n int64) {
	s.mu.Lock()
	s.Bytes += n
	s.mu.Unlock()
}

func (s *summary) finish(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Duration = d
	s.DurationSec = float64(d.Round(time.Millisecond)) / float64(time.Second)
	sort.Slice(s.Failed, func(i, j int) bool { return s.Failed[i].Path < s.Failed[j].Path })
	sort.Strings(s.Deleted)
}

// writeText prints the summary for people.
func (s *summary) writeText(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	title := s.Command
	if s.DryRun {
		title += " (dry run: nothing was changed)"
	}
	fmt.Fprintf(&b, "s3backup %s: %s -> %s\n", title, termPath(s.Source), termPath(s.Destination))
	s.writePreflight(&b)
	s.writeCounts(&b)
	if len(s.Skipped) > 0 {
		fmt.Fprintf(&b, "  skipped:    %d paths\n", len(s.Skipped))
		for _, sk := range s.Skipped {
			fmt.Fprintf(&b, "              %s: %s\n", termPath(sk.Rel), termText(sk.Reason))
		}
	}
	if len(s.AbortedUploads) > 0 {
		verb := "aborted"
		if s.DryRun {
			verb = "to abort"
		}
		fmt.Fprintf(&b, "  stale multipart uploads %s: %d\n", verb, len(s.AbortedUploads))
		for _, u := range s.AbortedUploads {
			fmt.Fprintf(&b, "              %s (upload %s)\n", termPath(u.Key), termText(u.UploadID))
		}
	}
	for _, r := range s.ResumedUploads {
		fmt.Fprintf(&b, "  resumed:    %s (upload %s): %d parts were stored, %d sent\n", termPath(r.Key), termText(r.UploadID), r.PartsStored, r.PartsSent)
	}
	if len(s.NotAbortedUploads) > 0 {
		fmt.Fprintf(&b, "  stale multipart uploads NOT aborted: %d\n", len(s.NotAbortedUploads))
		for _, u := range s.NotAbortedUploads {
			fmt.Fprintf(&b, "              %s (upload %s): %s\n", termPath(u.Key), termText(u.UploadID), termText(u.Reason))
		}
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "  warning:    %s\n", termText(w))
	}
	fmt.Fprintf(&b, "  failed:     %d files\n", len(s.Failed))
	for _, f := range s.Failed {
		fmt.Fprintf(&b, "              %s: %s\n", termPath(f.Path), termText(f.Reason))
	}
	fmt.Fprintf(&b, "  bytes:      %s in %s (%s)\n", cmdkit.FormatBytes(s.Bytes), s.Duration.Round(time.Millisecond), cmdkit.FormatRate(s.Bytes, s.Duration))
	if s.Interrupted {
		b.WriteString("  INTERRUPTED: completed files are recorded; run again to continue\n")
	}
	if s.Error != "" {
		fmt.Fprintf(&b, "  error:      %s\n", termText(s.Error))
	}
	_, _ = io.WriteString(w, b.String())
}

// writePreflight writes the preflight lines of the summary (s.mu held).
func (s *summary) writePreflight(b *strings.Builder) {
	if p := s.Preflight; p != nil {
		verdict := "ok"
		if !p.OK {
			verdict = "problems found"
		}
		if p.Mode == "off" {
			verdict = "skipped (--preflight off)"
		}
		fmt.Fprintf(b, "  preflight:  %s (%s, server profile %s)\n", verdict, p.Mode, p.Profile)
		for _, pr := range p.Problems {
			fmt.Fprintf(b, "              %s\n", termText(pr))
		}
		for _, n := range p.Notes {
			fmt.Fprintf(b, "              note: %s\n", termText(n))
		}
	}
}

// writeCounts writes the counts of the command's work (s.mu held).
func (s *summary) writeCounts(b *strings.Builder) {
	switch s.Command {
	case "run":
		if s.DryRun {
			fmt.Fprintf(b, "  would upload: %d files\n", len(s.WouldUpload))
			for _, p := range s.WouldUpload {
				fmt.Fprintf(b, "                %s\n", termPath(p))
			}
			fmt.Fprintf(b, "  would delete: %d objects\n", len(s.WouldDelete))
			for _, p := range s.WouldDelete {
				fmt.Fprintf(b, "                %s\n", termPath(p))
			}
		} else {
			fmt.Fprintf(b, "  uploaded:   %d files, %s\n", s.Uploaded, cmdkit.FormatBytes(s.UploadedBytes))
		}
		fmt.Fprintf(b, "  unchanged:  %d files, %s (not read)\n", s.Unchanged, cmdkit.FormatBytes(s.UnchangedBytes))
		if s.MetadataOnly > 0 {
			fmt.Fprintf(b, "  mode only:  %d files (manifest updated, nothing sent)\n", s.MetadataOnly)
		}
		if !s.DryRun {
			fmt.Fprintf(b, "  deleted:    %d objects\n", len(s.Deleted))
		}
		fmt.Fprintf(b, "  excluded:   %d files\n", s.Excluded)
		if s.EmptyDirs > 0 {
			fmt.Fprintf(b, "  empty dirs: %d recorded\n", s.EmptyDirs)
		}
	case "verify":
		fmt.Fprintf(b, "  verified:   %d files\n", s.Verified)
		if s.EmptyDirs > 0 {
			fmt.Fprintf(b, "  empty dirs: %d verified\n", s.EmptyDirs)
		}
	case "restore":
		fmt.Fprintf(b, "  restored:   %d files, %s\n", s.Restored, cmdkit.FormatBytes(s.RestoredBytes))
		if s.EmptyDirs > 0 {
			fmt.Fprintf(b, "  empty dirs: %d created\n", s.EmptyDirs)
		}
	}
}
