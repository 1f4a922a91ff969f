package integration

import (
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scripts/progress.sh passes a step's output through in order, says that the step is still
// working whenever it has been silent for the interval, and exits with the step's status.
func TestProgressScript(t *testing.T) {
	script, err := filepath.Abs(filepath.Join("..", "scripts", "progress.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "testing the script", "sh", "-c", "echo first; sleep 3; echo second >&2; exit 7")
	cmd.Env = append(cmd.Environ(), "PROGRESS_EVERY=1")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("exit: %v, want status 7\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	still := regexp.MustCompile(`^\.\.\. still testing the script \(\d+ s\)$`)
	if len(lines) < 3 || lines[0] != "first" || lines[len(lines)-1] != "second" {
		t.Fatalf("output lines %q: want first, progress lines, second", lines)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !still.MatchString(l) {
			t.Fatalf("line %q between the step's lines is not a progress line", l)
		}
	}
}
