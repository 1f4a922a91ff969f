package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// parseSize reads "1GiB", "256MiB", "64KiB", "1MB", "1000" (bytes).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(n * float64(mult)), nil
}

// sizeFlag is a flag holding a size in the notation of parseSize.
type sizeFlag struct {
	n    *int64
	text string
}

func (f *sizeFlag) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f.n, f.text = n, s
	return nil
}

// sizeVar defines a size flag: value (a constant of the caller's) is its default.
func sizeVar(fs *flag.FlagSet, p *int64, name, value, usage string) {
	f := &sizeFlag{n: p}
	if err := f.Set(value); err != nil {
		*p, f.text = 0, "0"
	}
	fs.Var(f, name, usage)
}

// formatSize prints n in the largest binary unit that divides it.
func formatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// bigFile makes (or reuses) the data file of size bytes in dir and returns its path and SHA-256.
func bigFile(dir string, size int64) (path, sum string, err error) {
	path = filepath.Join(dir, "data-"+formatSize(size)+".bin")
	logf("preparing %s (%s)", path, formatSize(size))
	sum, err = dataFile(path, size, 1)
	return path, sum, err
}

// dataFile makes (or reuses) a file of size pseudo-random, incompressible bytes derived from
// seed, reads it once so that it sits in the page cache, and returns its SHA-256.
func dataFile(path string, size int64, seed uint64) (string, error) {
	if st, err := os.Stat(path); err != nil || st.Size() != size {
		if err := writeRandom(path, size, seed); err != nil {
			return "", err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeRandom(path string, size int64, seed uint64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	var s [32]byte
	for i := range 4 {
		for j := range 8 {
			s[i*8+j] = byte((seed + uint64(i)) >> (8 * j))
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.NewChaCha8(s), size); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// smallFiles makes (or reuses) count files of size bytes each in dir and reads them once.
func smallFiles(dir string, count int, size int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Remove files of an earlier run with a larger count so the child uploads exactly count.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for i := range count {
		want[smallName(i)] = true
	}
	for _, e := range ents {
		if !want[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for i := range count {
		if _, err := dataFile(filepath.Join(dir, smallName(i)), size, uint64(1000+i)); err != nil {
			return err
		}
	}
	return nil
}

func smallName(i int) string { return fmt.Sprintf("f%04d.bin", i) }
