package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// vtoken is a piece of a pattern with policy variables: a literal glob or a
// variable with an optional default.
type vtoken struct {
	lit    glob
	key    string
	def    string
	hasDef bool
	isVar  bool
}

// vpattern is a Resource or condition value that may hold policy variables.
type vpattern struct {
	plain   glob // the whole pattern when it has no variables
	toks    []vtoken
	hasVars bool
}

// compileVarPattern compiles s. Policy variables are recognised only when
// vars is true (Version 2012-10-17); otherwise "${...}" is literal text.
// With wildcards false, '*' and '?' are literal characters.
func compileVarPattern(s string, vars, wildcards bool) vpattern {
	lit := func(s string) glob {
		if wildcards {
			return compileGlob(s)
		}
		return []rune(s)
	}
	if !vars || !strings.Contains(s, "${") {
		return vpattern{plain: lit(s)}
	}
	var p vpattern
	var cur glob
	for len(s) > 0 {
		i := strings.Index(s, "${")
		if i < 0 {
			cur = append(cur, lit(s)...)
			break
		}
		cur = append(cur, lit(s[:i])...)
		s = s[i:]
		j := strings.IndexByte(s, '}')
		if j < 0 {
			cur = append(cur, lit(s)...)
			break
		}
		body := strings.TrimSpace(s[2:j])
		s = s[j+1:]
		switch body {
		case "*", "?", "$":
			r, _ := utf8.DecodeRuneInString(body)
			cur = append(cur, r)
			continue
		}
		key, def, hasDef := body, "", false
		if k, d, ok := strings.Cut(body, ","); ok {
			d = strings.TrimSpace(d)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				key, def, hasDef = strings.TrimSpace(k), d[1:len(d)-1], true
			}
		}
		if key == "" || strings.ContainsAny(key, " '") {
			// Not a variable reference: keep the text as written.
			cur = append(cur, lit("${"+body+"}")...)
			continue
		}
		if len(cur) > 0 {
			p.toks = append(p.toks, vtoken{lit: cur})
			cur = nil
		}
		p.toks = append(p.toks, vtoken{isVar: true, key: key, def: def, hasDef: hasDef})
		p.hasVars = true
	}
	if !p.hasVars {
		return vpattern{plain: cur}
	}
	if len(cur) > 0 {
		p.toks = append(p.toks, vtoken{lit: cur})
	}
	return p
}

// resolveMode says how resolve treats a variable whose key the request
// lacks (an open variable).
type resolveMode uint8

const (
	// resolveStrict is evaluation: an open variable takes its default;
	// without one it has no value and the pattern matches nothing.
	resolveStrict resolveMode = iota
	// resolveMin makes every open variable, with a default or not, match
	// nothing: the least the pattern could match once it is supplied.
	resolveMin
	// resolveMax makes every open variable a '*' wildcard: the most the
	// pattern could match once it is supplied.
	resolveMax
)

// resolve substitutes the policy variables of p from the request. A
// variable whose key has one value takes it. A variable whose key is
// absent is open and is treated as mode says; one whose key has several
// values cannot be a variable (nothing supplied changes that) and is
// treated as under resolveStrict. ok false means the pattern matches
// nothing; wild reports that an open variable became a wildcard.
func (e *evalCtx) resolve(p *vpattern, mode resolveMode) (g glob, ok, wild bool) {
	if !p.hasVars {
		return p.plain, true, false
	}
	for _, t := range p.toks {
		if !t.isVar {
			g = append(g, t.lit...)
			continue
		}
		vals := e.lookup(t.key)
		switch {
		case len(vals) == 1:
			g = append(g, []rune(vals[0])...)
		case len(vals) == 0 && mode == resolveMax:
			g, wild = append(g, star), true
		case len(vals) == 0 && mode == resolveMin:
			return nil, false, false
		case t.hasDef:
			g = append(g, []rune(t.def)...)
		default:
			return nil, false, false
		}
	}
	return g, true, wild
}

// appendOpenVars appends the keys of p's variables that the request lacks,
// with a default or not: supplying them could change what p matches. A key
// with several values is present (it just cannot be a variable), so it is
// not appended.
func (e *evalCtx) appendOpenVars(dst []string, p *vpattern) []string {
	for _, t := range p.toks {
		if t.isVar && len(e.lookup(t.key)) == 0 {
			dst = append(dst, t.key)
		}
	}
	return dst
}

// equalString compares a literal glob with s; wildcards (which equality
// operators never produce) compare as their characters.
func (g glob) equalString(s string, fold bool) bool {
	if fold {
		return strings.EqualFold(g.String(), s)
	}
	i := 0
	for _, r := range s {
		if i >= len(g) {
			return false
		}
		c := g[i]
		switch c {
		case star:
			c = '*'
		case qmark:
			c = '?'
		}
		if c != r {
			return false
		}
		i++
	}
	return i == len(g)
}

// lower returns g with its characters lower-cased (wildcards unchanged).
func (g glob) lower() glob {
	out := make(glob, len(g))
	for i, r := range g {
		if r >= 0 {
			r = unicode.ToLower(r)
		}
		out[i] = r
	}
	return out
}

// String renders g with its wildcards as '*' and '?'.
func (g glob) String() string {
	var b strings.Builder
	for _, r := range g {
		switch r {
		case star:
			b.WriteByte('*')
		case qmark:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
