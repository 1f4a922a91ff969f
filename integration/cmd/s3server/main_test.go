package main

import (
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter signals on seen once it has received want lines.
type lineWriter struct {
	mu    sync.Mutex
	lines []string
	want  int
	seen  chan struct{}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")...)
	if len(w.lines) == w.want {
		close(w.seen)
	}
	return len(p), nil
}

// A step that runs past several intervals says each time that it is still working, and says
// nothing more once it has returned; its error is passed on.
func TestWithProgress(t *testing.T) {
	w := &lineWriter{want: 3, seen: make(chan struct{})}
	boom := errors.New("boom")
	err := withProgress(w, "installing versitygw", time.Millisecond, func() error {
		<-w.seen
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("withProgress returned %v, want fn's error", err)
	}
	w.mu.Lock()
	n := len(w.lines)
	w.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.lines) != n {
		t.Fatalf("progress went on after the step returned: %q", w.lines)
	}
	re := regexp.MustCompile(`^s3server: still installing versitygw \(\d+ s\)$`)
	for _, l := range w.lines {
		if !re.MatchString(l) {
			t.Fatalf("progress line %q does not match %s", l, re)
		}
	}
}

// The exports survive a shell's eval byte for byte, whatever the values hold, and name the
// user's keys, the HTTPS endpoint and the CA file.
func TestShellExportsEval(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal("no sh on PATH:", err)
	}
	e := &Env{
		Region:        "us-east-1",
		HTTPSEndpoint: "https://127.0.0.1:9443",
		IAMEndpoint:   "http://127.0.0.1:9001",
		CAFile:        "/tmp/it's a \"dir\" $HOME `x`/cert.pem",
		Users:         map[string]User{"alice": {AccessKey: "AK'1", SecretKey: `s e"c$r\et`}},
	}
	if _, err := shellExports(e, "mallory"); err == nil {
		t.Fatal("shellExports accepted an unknown user")
	}
	out, err := shellExports(e, "alice")
	if err != nil {
		t.Fatal(err)
	}
	script := "AWS_PROFILE=p AWS_SESSION_TOKEN=t; " + out + `
printf '%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_REGION" "$AWS_ENDPOINT_URL_S3" "$AWS_ENDPOINT_URL_IAM" "$AWS_CA_BUNDLE" "${AWS_PROFILE-unset}" "${AWS_SESSION_TOKEN-unset}"`
	got, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	want := strings.Join([]string{"AK'1", `s e"c$r\et`, "us-east-1", e.HTTPSEndpoint, e.IAMEndpoint, e.CAFile, "unset", "unset"}, "\n") + "\n"
	if string(got) != want {
		t.Fatalf("after eval:\n%s\nwant:\n%s", got, want)
	}
}
