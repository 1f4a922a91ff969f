package policy

import (
	"strings"
	"unicode/utf8"
)

// A glob is a pattern as runes, with star and qmark standing for the
// wildcards; a literal '*' or '?' (from ${*} or ${?}) is kept as itself.
type glob []rune

const (
	star  rune = -1
	qmark rune = -2
)

func compileGlob(s string) glob {
	g := make(glob, 0, len(s))
	for _, r := range s {
		switch r {
		case '*':
			g = append(g, star)
		case '?':
			g = append(g, qmark)
		default:
			g = append(g, r)
		}
	}
	return g
}

// match reports whether s matches g; '*' matches any run of characters
// (including none and including '/' and ':'), '?' exactly one.
func (g glob) match(s string) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		r, size := rune(s[si]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[si:])
		}
		if pi < len(g) {
			switch c := g[pi]; {
			case c == star:
				starP, starS = pi, si
				pi++
				continue
			case c == qmark || c == r:
				pi++
				si += size
				continue
			}
		}
		if starP < 0 {
			return false
		}
		pi = starP + 1
		_, sz := utf8.DecodeRuneInString(s[starS:])
		starS += sz
		si = starS
	}
	for pi < len(g) && g[pi] == star {
		pi++
	}
	return pi == len(g)
}

// arnGlob is a resource pattern; when it is an ARN pattern (starts with
// "arn:" and has six fields) each field is matched separately, so a
// wildcard in the partition, service, region or account field never spans
// a ':'. The resource field (the sixth) may contain ':' and '/', and a '*'
// in it spans both.
type arnGlob struct {
	whole  glob
	fields [6]glob // set when isARN
	isARN  bool    // an ARN pattern with six fields
	isAll  bool    // "*"
}

func compileARNGlob(g glob) arnGlob {
	a := arnGlob{whole: g}
	if len(g) == 1 && g[0] == star {
		a.isAll = true
		return a
	}
	if len(g) < 4 || g[0] != 'a' || g[1] != 'r' || g[2] != 'n' || g[3] != ':' {
		return a
	}
	n, start := 0, 0
	for i, r := range g {
		if r == ':' && n < 5 {
			a.fields[n] = g[start:i]
			n++
			start = i + 1
		}
	}
	if n != 5 {
		return a
	}
	a.fields[5] = g[start:]
	a.isARN = true
	return a
}

func (a *arnGlob) match(s string) bool {
	if a.isAll {
		return true
	}
	if !a.isARN {
		return a.whole.match(s)
	}
	rest := s
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return false
		}
		if !a.fields[i].match(rest[:j]) {
			return false
		}
		rest = rest[j+1:]
	}
	return a.fields[5].match(rest)
}

// MatchAction reports whether the action pattern (as in a policy's Action
// element) matches the action. Matching is case-insensitive; '*' matches any
// run of characters and '?' any single character.
func MatchAction(pattern, action string) bool {
	return compileGlob(strings.ToLower(pattern)).match(strings.ToLower(action))
}

// MatchResource reports whether the resource pattern (as in a policy's
// Resource element, without policy variables) matches the resource ARN.
// Matching is case-sensitive; '*' matches any run of characters, including
// '/', and '?' any single character. For ARN patterns the partition,
// service, region and account fields are matched one by one, as AWS does.
func MatchResource(pattern, resource string) bool {
	a := compileARNGlob(compileGlob(pattern))
	return a.match(resource)
}
