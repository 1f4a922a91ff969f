package policy

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

type opKind uint8

const (
	opString opKind = iota
	opStringIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLess
	opNumericLessEq
	opNumericGreater
	opNumericGreaterEq
	opDateEquals
	opDateLess
	opDateLessEq
	opDateGreater
	opDateGreaterEq
	opBool
	opBinary
	opIP
	opArn
	opNull
)

const (
	setNone = iota
	setAny
	setAll
)

// operator is a parsed condition operator name.
type operator struct {
	kind     opKind
	negate   bool
	ifExists bool
	set      int
}

var baseOperators = map[string]operator{
	"StringEquals":              {kind: opString},
	"StringNotEquals":           {kind: opString, negate: true},
	"StringEqualsIgnoreCase":    {kind: opStringIgnoreCase},
	"StringNotEqualsIgnoreCase": {kind: opStringIgnoreCase, negate: true},
	"StringLike":                {kind: opStringLike},
	"StringNotLike":             {kind: opStringLike, negate: true},
	"NumericEquals":             {kind: opNumericEquals},
	"NumericNotEquals":          {kind: opNumericEquals, negate: true},
	"NumericLessThan":           {kind: opNumericLess},
	"NumericLessThanEquals":     {kind: opNumericLessEq},
	"NumericGreaterThan":        {kind: opNumericGreater},
	"NumericGreaterThanEquals":  {kind: opNumericGreaterEq},
	"DateEquals":                {kind: opDateEquals},
	"DateNotEquals":             {kind: opDateEquals, negate: true},
	"DateLessThan":              {kind: opDateLess},
	"DateLessThanEquals":        {kind: opDateLessEq},
	"DateGreaterThan":           {kind: opDateGreater},
	"DateGreaterThanEquals":     {kind: opDateGreaterEq},
	"Bool":                      {kind: opBool},
	"BinaryEquals":              {kind: opBinary},
	"IpAddress":                 {kind: opIP},
	"NotIpAddress":              {kind: opIP, negate: true},
	"ArnEquals":                 {kind: opArn},
	"ArnLike":                   {kind: opArn},
	"ArnNotEquals":              {kind: opArn, negate: true},
	"ArnNotLike":                {kind: opArn, negate: true},
	"Null":                      {kind: opNull},
}

// parseOperator parses names such as "ForAnyValue:StringLikeIfExists".
// Operator names are case-sensitive, as in AWS.
func parseOperator(name string) (operator, error) {
	rest := name
	set := setNone
	if p, r, ok := strings.Cut(name, ":"); ok {
		switch p {
		case "ForAnyValue":
			set = setAny
		case "ForAllValues":
			set = setAll
		default:
			return operator{}, fmt.Errorf("unknown set operator prefix %q (want ForAnyValue: or ForAllValues:)", p+":")
		}
		rest = r
	}
	ifExists := false
	if b, ok := strings.CutSuffix(rest, "IfExists"); ok {
		ifExists, rest = true, b
	}
	op, ok := baseOperators[rest]
	if !ok {
		return operator{}, fmt.Errorf("unknown condition operator %q", name)
	}
	if op.kind == opNull && (ifExists || set != setNone) {
		return operator{}, fmt.Errorf("condition operator %q: Null takes no IfExists suffix or set prefix", name)
	}
	op.ifExists, op.set = ifExists, set
	return op, nil
}

// cvalue is one compiled policy value of a condition.
type cvalue struct {
	pat  vpattern // string and ARN operators
	arn  arnGlob  // ARN operators without variables
	num  float64
	t    time.Time
	pfx  netip.Prefix
	bin  []byte
	bool bool
}

type ccond struct {
	op      operator
	key     string
	vals    []cvalue
	hasVars bool
}

func compileCondition(c Condition, vars bool) (ccond, error) {
	op, err := parseOperator(c.Operator)
	if err != nil {
		return ccond{}, err
	}
	cc := ccond{op: op, key: c.Key, vals: make([]cvalue, len(c.Values))}
	for i, v := range c.Values {
		cv := &cc.vals[i]
		switch op.kind {
		case opString, opStringIgnoreCase:
			cv.pat = compileVarPattern(v, vars, false)
			cc.hasVars = cc.hasVars || cv.pat.hasVars
		case opStringLike:
			cv.pat = compileVarPattern(v, vars, true)
			cc.hasVars = cc.hasVars || cv.pat.hasVars
		case opArn:
			cv.pat = compileVarPattern(v, vars, true)
			cc.hasVars = cc.hasVars || cv.pat.hasVars
			if !cv.pat.hasVars {
				cv.arn = compileARNGlob(cv.pat.plain)
			}
		case opNumericEquals, opNumericLess, opNumericLessEq, opNumericGreater, opNumericGreaterEq:
			n, ok := parseNumber(v)
			if !ok {
				return ccond{}, fmt.Errorf("%q is not a number", v)
			}
			cv.num = n
		case opDateEquals, opDateLess, opDateLessEq, opDateGreater, opDateGreaterEq:
			t, ok := parseDate(v)
			if !ok {
				return ccond{}, fmt.Errorf("%q is not a date (ISO 8601 or epoch seconds)", v)
			}
			cv.t = t
		case opBool, opNull:
			switch strings.ToLower(v) {
			case "true":
				cv.bool = true
			case "false":
			default:
				return ccond{}, fmt.Errorf("%q is not true or false", v)
			}
		case opBinary:
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return ccond{}, fmt.Errorf("%q is not base64", v)
			}
			cv.bin = b
		case opIP:
			p, ok := parseCIDR(v)
			if !ok {
				return ccond{}, fmt.Errorf("%q is not an IP address or CIDR block", v)
			}
			cv.pfx = p
		}
	}
	return cc, nil
}

func parseNumber(s string) (float64, bool) {
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(n) {
		return 0, false
	}
	return n, true
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < -1e12 || n > 1e12 {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseCIDR(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// evalCondition evaluates one condition; it reports whether the key was
// absent from the request. A policy value holding a variable with no value
// matches no request value; mode says how open variables are treated (see
// resolve).
func (e *evalCtx) evalCondition(c *ccond, mode resolveMode) (result, absent bool) {
	vals := e.lookup(c.key)
	absent = len(vals) == 0
	if c.op.kind == opNull {
		for _, v := range c.vals {
			if v.bool == absent {
				return true, absent
			}
		}
		return false, absent
	}
	if absent {
		switch {
		case c.op.ifExists:
			return true, true
		case c.op.set == setAll:
			return true, true
		case c.op.set == setAny:
			return false, true
		default:
			return c.op.negate, true
		}
	}
	switch c.op.set {
	case setAny:
		for _, v := range vals {
			if e.matchOne(c, v, mode) != c.op.negate {
				return true, false
			}
		}
		return false, false
	case setAll:
		for _, v := range vals {
			if e.matchOne(c, v, mode) == c.op.negate {
				return false, false
			}
		}
		return true, false
	default:
		for _, v := range vals {
			if e.matchOne(c, v, mode) {
				return !c.op.negate, false
			}
		}
		return c.op.negate, false
	}
}

// matchOne reports whether the request value v matches any of the
// condition's policy values under the positive form of its operator. A
// policy value with a variable that has no value matches nothing; under
// resolveMax an open variable stands for any text instead.
func (e *evalCtx) matchOne(c *ccond, v string, mode resolveMode) bool {
	switch c.op.kind {
	case opString, opStringIgnoreCase, opStringLike, opArn:
		return e.matchPattern(c, v, mode)
	case opNumericEquals, opNumericLess, opNumericLessEq, opNumericGreater, opNumericGreaterEq:
		return matchNumber(c, v)
	case opDateEquals, opDateLess, opDateLessEq, opDateGreater, opDateGreaterEq:
		return matchDate(c, v)
	case opBool:
		return matchBool(c, v)
	case opBinary:
		return matchBinary(c, v)
	case opIP:
		return matchIP(c, v)
	}
	return false
}

// matchPattern is matchOne for the string and ARN operators, whose policy
// values may hold policy variables.
func (e *evalCtx) matchPattern(c *ccond, v string, mode resolveMode) bool {
	for i := range c.vals {
		cv := &c.vals[i]
		if c.op.kind == opArn && !cv.pat.hasVars {
			if cv.arn.match(v) {
				return true
			}
			continue
		}
		g, ok, wild := e.resolve(&cv.pat, mode)
		if ok && patternMatches(c.op.kind, g, wild, v) {
			return true
		}
	}
	return false
}

// patternMatches reports whether v matches the resolved policy value g under
// operator kind; wild says whether g holds wildcards from an open variable,
// which StringEquals and StringEqualsIgnoreCase then match as a pattern.
func patternMatches(kind opKind, g glob, wild bool, v string) bool {
	switch kind {
	case opString:
		return wild && g.match(v) || !wild && g.equalString(v, false)
	case opStringIgnoreCase:
		return wild && g.lower().match(strings.ToLower(v)) || !wild && g.equalString(v, true)
	case opStringLike:
		return g.match(v)
	case opArn:
		a := compileARNGlob(g)
		return a.match(v)
	}
	return false
}

// numberTests compares a request number (left) with a policy number (right)
// for each numeric operator.
var numberTests = map[opKind]func(n, p float64) bool{
	opNumericEquals:    func(n, p float64) bool { return n == p },
	opNumericLess:      func(n, p float64) bool { return n < p },
	opNumericLessEq:    func(n, p float64) bool { return n <= p },
	opNumericGreater:   func(n, p float64) bool { return n > p },
	opNumericGreaterEq: func(n, p float64) bool { return n >= p },
}

// dateTests compares a request time (left) with a policy time (right) for
// each date operator.
var dateTests = map[opKind]func(t, p time.Time) bool{
	opDateEquals:    func(t, p time.Time) bool { return t.Equal(p) },
	opDateLess:      func(t, p time.Time) bool { return t.Before(p) },
	opDateLessEq:    func(t, p time.Time) bool { return !t.After(p) },
	opDateGreater:   func(t, p time.Time) bool { return t.After(p) },
	opDateGreaterEq: func(t, p time.Time) bool { return !t.Before(p) },
}

// matchNumber is matchOne for the numeric operators; a request value that
// is not a number matches nothing.
func matchNumber(c *ccond, v string) bool {
	return matchParsed(c, v, parseNumber, numberTests[c.op.kind], func(cv cvalue) float64 { return cv.num })
}

// matchDate is matchOne for the date operators; a request value that is not
// a date matches nothing.
func matchDate(c *ccond, v string) bool {
	return matchParsed(c, v, parseDate, dateTests[c.op.kind], func(cv cvalue) time.Time { return cv.t })
}

// matchBool is matchOne for Bool: the request value is "true" or "false",
// in any case and surrounding space; anything else matches nothing.
func matchBool(c *ccond, v string) bool {
	return matchParsed(c, v, parseBool, func(r, p bool) bool { return r == p }, func(cv cvalue) bool { return cv.bool })
}

// parseBool reads a request value of the Bool operator.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// matchParsed is matchOne for the operators whose values parse as T: a
// request value that parse rejects matches nothing; one that parses matches
// when test(request, policy) holds for one of the policy values, as value
// reads them from the compiled ones.
func matchParsed[T any](c *ccond, v string, parse func(string) (T, bool), test func(r, p T) bool, value func(cvalue) T) bool {
	r, ok := parse(v)
	if !ok {
		return false
	}
	return slices.ContainsFunc(c.vals, func(cv cvalue) bool { return test(r, value(cv)) })
}

// matchBinary is matchOne for BinaryEquals: the request value is base64 and
// is compared byte for byte.
func matchBinary(c *ccond, v string) bool {
	rb, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(c.vals, func(cv cvalue) bool { return bytes.Equal(rb, cv.bin) })
}

// matchIP is matchOne for IpAddress: the request value is an address
// (IPv4-mapped IPv6 ones count as IPv4) inside one of the policy's prefixes.
func matchIP(c *ccond, v string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return false
	}
	a = a.Unmap()
	return slices.ContainsFunc(c.vals, func(cv cvalue) bool { return cv.pfx.Contains(a) })
}
