package cmdkit

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// sizeUnits maps a unit suffix to its factor. As in the AWS CLI's multipart_chunksize,
// "MB" means MiB: every unit is a power of 1024.
var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize parses a byte size such as "16MiB", "16MB", "16M", "1.5GiB" or "1048576".
// Units are powers of 1024.
func ParseSize(s string) (int64, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty size")
	}
	num, factor := in, int64(1)
	lower := strings.ToLower(in)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, u.suffix) {
			num, factor = strings.TrimSpace(in[:len(in)-len(u.suffix)]), u.factor
			break
		}
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("size %q is negative", s)
		}
		if n > math.MaxInt64/factor {
			return 0, fmt.Errorf("size %q is too large", s)
		}
		return n * factor, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("invalid size %q (examples: 16MiB, 1.5GiB, 8388608)", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("size %q is negative", s)
	}
	v := f * float64(factor)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	if v > 0 && v < 1 {
		// A fraction of a byte must not round to 0, which flags read as "unlimited" or "default".
		return 0, fmt.Errorf("size %q is less than one byte", s)
	}
	return int64(v), nil
}

// ParseRate parses a bandwidth limit in bytes per second: "50MiB", "50MB/s", "1048576".
// "0" means unlimited.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "/s"), "ps")
	n, err := ParseSize(t)
	if err != nil {
		return 0, fmt.Errorf("invalid rate %q (examples: 50MiB/s, 10MB, 0 for unlimited)", s)
	}
	return n, nil
}

// ParseAge parses a duration that may use days ("7d") and weeks ("2w") besides Go's units
// ("36h", "90m"), and combinations such as "1d12h".
func ParseAge(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
			j++
		}
		if i == 0 || j == i {
			return 0, fmt.Errorf("invalid duration %q (examples: 7d, 36h, 1d12h, 90m)", s)
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		var mult time.Duration
		switch unit {
		case "w":
			mult = 7 * 24 * time.Hour
		case "d":
			mult = 24 * time.Hour
		default:
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q (examples: 7d, 36h, 1d12h, 90m)", s)
			}
			total += d
			continue
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (examples: 7d, 36h, 1d12h, 90m)", s)
		}
		total += time.Duration(f * float64(mult))
	}
	return total, nil
}

// ParseKeyValues parses repeated KEY=VALUE flags into a map. A key given twice is an error.
func ParseKeyValues(flag string, vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vals))
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: expected KEY=VALUE", flag, kv)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("--%s: key %q given twice", flag, k)
		}
		m[k] = v
	}
	return m, nil
}

// ParseMultiKeyValues parses repeated KEY=VALUE flags; a key given again adds a value.
func ParseMultiKeyValues(flag string, vals []string) (map[string][]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string][]string, len(vals))
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: expected KEY=VALUE", flag, kv)
		}
		m[k] = append(m[k], v)
	}
	return m, nil
}

// FormatBytes renders n bytes with a binary unit, e.g. "256.0 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// FormatAge renders a duration coarsely for tables: "45s", "12m", "5h", "3d".
func FormatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// FormatRate formats n bytes moved over d as a rate: "12.0 MiB/s"; "-" for no time.
func FormatRate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return FormatBytes(int64(float64(n)/d.Seconds())) + "/s"
}
