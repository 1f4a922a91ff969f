package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/s3mpu/s3mpu/internal/termtext"
)

// ErrInvalidPolicy is matched by every *ParseError:
// errors.Is(err, ErrInvalidPolicy) reports whether Parse rejected a document.
var ErrInvalidPolicy = errors.New("invalid policy document")

// ParseError reports a malformed policy document.
type ParseError struct {
	// Policy is the name given to ParseNamed ("" for Parse).
	Policy string
	// Statement is the index of the statement at fault, or -1 when the
	// fault is in the document itself (Version, Id, Statement).
	Statement int
	// Sid is the Sid of the statement at fault, when it has one.
	Sid string
	// Field is the element at fault, for example "Action" or
	// "Condition.StringEquals".
	Field string
	// Msg describes the fault.
	Msg string
	// Err is the underlying error (a JSON syntax error, for example), or nil.
	Err error
}

// Error formats the fault, naming the policy, statement and field.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("policy")
	if e.Policy != "" {
		fmt.Fprintf(&b, " %q", e.Policy)
	}
	if e.Statement >= 0 {
		fmt.Fprintf(&b, ": statement %d", e.Statement)
		if e.Sid != "" {
			fmt.Fprintf(&b, " (Sid %q)", e.Sid)
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Msg)
	return termtext.Escape(b.String())
}

// hasControl reports whether s holds a control character.
func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// Unwrap returns the underlying error, if any.
func (e *ParseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidPolicy.
func (e *ParseError) Is(target error) bool { return target == ErrInvalidPolicy }

// Parse parses an IAM JSON policy document. It accepts Version
// "2012-10-17", "2008-10-17" or none, Statement as an object or an array,
// and a string or a list wherever the policy grammar allows both. Any
// malformed document yields a *ParseError naming the statement and field.
func Parse(data []byte) (*Document, error) {
	return ParseNamed("", data)
}

// ParseNamed is Parse with a name recorded in Document.Name, used in
// StatementRef, reasons and errors.
func ParseNamed(name string, data []byte) (*Document, error) {
	p := parser{name: name}
	d, err := p.document(data)
	if err != nil {
		return nil, err
	}
	d.Name = name
	return d, nil
}

type parser struct {
	name string
	idx  int
	sid  string
}

func (p *parser) errf(field string, err error, format string, args ...any) *ParseError {
	return &ParseError{Policy: p.name, Statement: p.idx, Sid: p.sid, Field: field, Msg: fmt.Sprintf(format, args...), Err: err}
}

// object decodes a JSON object, rejecting duplicate keys.
func decodeObject(raw []byte) (map[string]json.RawMessage, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	m := map[string]json.RawMessage{}
	var order []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, ok := t.(string)
		if !ok {
			return nil, nil, errors.New("object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := m[k]; dup {
			return nil, nil, fmt.Errorf("duplicate key %q", k)
		}
		m[k] = v
		order = append(order, k)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if dec.More() {
		return nil, nil, errors.New("trailing data after object")
	}
	if _, err := dec.Token(); err == nil {
		return nil, nil, errors.New("trailing data after object")
	}
	return m, order, nil
}

func (p *parser) document(data []byte) (*Document, error) {
	p.idx = -1
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, p.errf("", err, "not valid JSON")
	}
	top, _, err := decodeObject(data)
	if err != nil {
		return nil, p.errf("", err, "document is not a JSON object: %v", err)
	}
	d := &Document{}
	for k := range top {
		switch k {
		case "Version", "Id", "Statement":
		default:
			return nil, p.errf(k, nil, "unknown element")
		}
	}
	if raw, ok := top["Version"]; ok {
		if err := json.Unmarshal(raw, &d.Version); err != nil {
			return nil, p.errf("Version", err, "must be a string")
		}
		if d.Version != Version2012 && d.Version != Version2008 {
			return nil, p.errf("Version", nil, "unsupported version %q (want %q or %q)", d.Version, Version2012, Version2008)
		}
	}
	if raw, ok := top["Id"]; ok {
		if err := json.Unmarshal(raw, &d.ID); err != nil {
			return nil, p.errf("Id", err, "must be a string")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, p.errf("Statement", nil, "missing")
	}
	raw = bytes.TrimSpace(raw)
	var stmts []json.RawMessage
	switch {
	case len(raw) > 0 && raw[0] == '{':
		stmts = []json.RawMessage{raw}
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &stmts); err != nil {
			return nil, p.errf("Statement", err, "must be an object or an array of objects")
		}
	default:
		return nil, p.errf("Statement", nil, "must be an object or an array of objects")
	}
	vars := d.Version == Version2012
	for i, sraw := range stmts {
		p.idx, p.sid = i, ""
		st, err := p.statement(sraw, vars)
		if err != nil {
			return nil, err
		}
		st.Index = i
		d.Statements = append(d.Statements, *st)
	}
	return d, nil
}

func (p *parser) statement(raw []byte, vars bool) (*Statement, error) {
	m, _, err := decodeObject(raw)
	if err != nil {
		return nil, p.errf("", err, "statement is not a JSON object: %v", err)
	}
	st := &Statement{}
	// The elements are checked in this order, so that a statement with
	// several faults always reports the same one.
	for _, field := range []func(*Statement, map[string]json.RawMessage) error{
		p.sidField, p.knownElements, p.effectField, p.actionField,
		p.resourceField, p.principalField, p.conditionField,
	} {
		if err := field(st, m); err != nil {
			return nil, err
		}
	}
	return p.compile(st, vars)
}

// sidField decodes the optional Sid, which later errors then name.
func (p *parser) sidField(st *Statement, m map[string]json.RawMessage) error {
	if r, ok := m["Sid"]; ok {
		if err := json.Unmarshal(r, &st.Sid); err != nil {
			return p.errf("Sid", err, "must be a string")
		}
		p.sid = st.Sid
	}
	return nil
}

// knownElements rejects elements a statement cannot have.
func (p *parser) knownElements(_ *Statement, m map[string]json.RawMessage) error {
	for k := range m {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition":
		default:
			return p.errf(k, nil, "unknown element")
		}
	}
	return nil
}

// effectField decodes the required Effect, Allow or Deny.
func (p *parser) effectField(st *Statement, m map[string]json.RawMessage) error {
	r, ok := m["Effect"]
	if !ok {
		return p.errf("Effect", nil, "missing")
	}
	if err := json.Unmarshal(r, &st.Effect); err != nil {
		return p.errf("Effect", err, "must be a string")
	}
	if st.Effect != EffectAllow && st.Effect != EffectDeny {
		return p.errf("Effect", nil, "must be %q or %q, not %q", EffectAllow, EffectDeny, st.Effect)
	}
	return nil
}

// either returns whichever of the element name and its negated form
// "Not"+name m holds, as its field name and raw value (field is "" when
// neither is there), and rejects a statement with both.
func (p *parser) either(m map[string]json.RawMessage, name string) (field string, raw json.RawMessage, err error) {
	r, has := m[name]
	rn, hasNot := m["Not"+name]
	switch {
	case has && hasNot:
		return "", nil, p.errf("Not"+name, nil, "a statement cannot have both %s and Not%s", name, name)
	case hasNot:
		return "Not" + name, rn, nil
	case has:
		return name, r, nil
	}
	return "", nil, nil
}

// listField decodes whichever of the element name and "Not"+name m holds
// as a list of strings into *pos or *neg, and returns its field name ("" when
// neither is there) and the list.
func (p *parser) listField(m map[string]json.RawMessage, name string, pos, neg *[]string) (field string, list []string, err error) {
	field, raw, err := p.either(m, name)
	if err != nil || field == "" {
		return field, nil, err
	}
	if list, err = p.stringList(field, raw); err != nil {
		return field, nil, err
	}
	if field == name {
		*pos = list
	} else {
		*neg = list
	}
	return field, list, nil
}

// actionField decodes the required Action or NotAction; each entry is "*"
// or "service:action".
func (p *parser) actionField(st *Statement, m map[string]json.RawMessage) error {
	field, acts, err := p.listField(m, "Action", &st.Action, &st.NotAction)
	if err != nil {
		return err
	}
	if field == "" {
		return p.errf("Action", nil, "missing (a statement needs Action or NotAction)")
	}
	for _, a := range acts {
		if err := checkAction(a); err != nil {
			return p.errf(field, nil, "%v", err)
		}
	}
	return nil
}

// resourceField decodes the optional Resource or NotResource.
func (p *parser) resourceField(st *Statement, m map[string]json.RawMessage) error {
	_, _, err := p.listField(m, "Resource", &st.Resource, &st.NotResource)
	return err
}

// principalField decodes the optional Principal or NotPrincipal.
func (p *parser) principalField(st *Statement, m map[string]json.RawMessage) error {
	field, raw, err := p.either(m, "Principal")
	if err != nil || field == "" {
		return err
	}
	if field == "Principal" {
		st.Principal, err = p.principals(field, raw)
		return err
	}
	// AWS: "NotPrincipal must be used with Effect Deny. Using it with
	// Allow is not supported." (reference_policies_elements_notprincipal)
	if st.Effect != EffectDeny {
		return p.errf("NotPrincipal", nil, "NotPrincipal is only supported with Effect Deny")
	}
	st.NotPrincipal, err = p.principals(field, raw)
	return err
}

// conditionField decodes the optional Condition block.
func (p *parser) conditionField(st *Statement, m map[string]json.RawMessage) error {
	rc, ok := m["Condition"]
	if !ok {
		return nil
	}
	var err error
	st.Condition, err = p.conditions(rc)
	return err
}

// compile builds the statement's matching form, rejecting conditions that
// do not compile and policy variables whose names hold control characters.
func (p *parser) compile(st *Statement, vars bool) (*Statement, error) {
	c, err := compileStatement(st, vars)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Policy, pe.Statement, pe.Sid = p.name, p.idx, p.sid
			return nil, pe
		}
		return nil, p.errf("", err, "%v", err)
	}
	if key, field := controlVariable(c); key != "" {
		return nil, p.errf(field, nil, "policy variable ${%s} contains a control character", strconv.Quote(key))
	}
	st.c = c
	return st, nil
}

// controlVariable returns the first policy variable name of c that holds a control
// character, and the element it is in. Variable names are condition keys.
func controlVariable(c *compiled) (key, field string) {
	check := func(p *vpattern) string {
		for _, t := range p.toks {
			if t.isVar && hasControl(t.key) {
				return t.key
			}
		}
		return ""
	}
	for i := range c.resources {
		if k := check(&c.resources[i]); k != "" {
			if c.notRes {
				return k, "NotResource"
			}
			return k, "Resource"
		}
	}
	for i := range c.conds {
		for j := range c.conds[i].vals {
			if k := check(&c.conds[i].vals[j].pat); k != "" {
				return k, "Condition"
			}
		}
	}
	return "", ""
}

func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	i := strings.IndexByte(a, ':')
	if i <= 0 || i == len(a)-1 {
		return fmt.Errorf("action %q is not \"*\" or \"service:action\"", a)
	}
	return nil
}

// stringList decodes a string or a non-empty list of strings.
func (p *parser) stringList(field string, raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, p.errf(field, err, "must be a string or a list of strings")
		}
		if s == "" {
			return nil, p.errf(field, nil, "empty string")
		}
		return []string{s}, nil
	}
	var l []string
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &l) != nil {
		return nil, p.errf(field, nil, "must be a string or a list of strings")
	}
	if len(l) == 0 {
		return nil, p.errf(field, nil, "empty list")
	}
	for _, s := range l {
		if s == "" {
			return nil, p.errf(field, nil, "empty string in list")
		}
	}
	return l, nil
}

func (p *parser) principals(field string, raw json.RawMessage) (*Principals, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s != "*" {
			return nil, p.errf(field, err, `a string principal must be "*"; use {"AWS": ...} for accounts and ARNs`)
		}
		return &Principals{All: true}, nil
	}
	m, _, err := decodeObject(raw)
	if err != nil {
		return nil, p.errf(field, err, `must be "*" or an object such as {"AWS": ...}: %v`, err)
	}
	if len(m) == 0 {
		return nil, p.errf(field, nil, "empty principal object")
	}
	pr := &Principals{}
	for k, v := range m {
		f := field + "." + k
		l, err := p.stringList(f, v)
		if err != nil {
			return nil, err
		}
		switch k {
		case "AWS":
			for _, s := range l {
				if err := checkAWSPrincipal(s); err != nil {
					return nil, p.errf(f, nil, "%v", err)
				}
			}
			pr.AWS = l
		case "Service":
			for _, s := range l {
				if strings.ContainsAny(s, "*?") && s != "*" {
					return nil, p.errf(f, nil, "wildcards are not allowed in service principal %q", s)
				}
			}
			pr.Service = l
		case "CanonicalUser":
			pr.CanonicalUser = l
		case "Federated":
			pr.Federated = l
		default:
			return nil, p.errf(f, nil, "unknown principal type %q (want AWS, Service, CanonicalUser or Federated)", k)
		}
	}
	return pr, nil
}

func (p *parser) conditions(raw json.RawMessage) ([]Condition, error) {
	ops, _, err := decodeObject(raw)
	if err != nil {
		return nil, p.errf("Condition", err, "must be an object of operators: %v", err)
	}
	var out []Condition
	for op, kraw := range ops {
		f := "Condition." + op
		if _, err := parseOperator(op); err != nil {
			return nil, p.errf(f, nil, "%v", err)
		}
		keys, _, err := decodeObject(kraw)
		if err != nil {
			return nil, p.errf(f, err, "must be an object of condition keys: %v", err)
		}
		if len(keys) == 0 {
			return nil, p.errf(f, nil, "no condition keys")
		}
		for k, vraw := range keys {
			if k == "" {
				return nil, p.errf(f, nil, "empty condition key")
			}
			if hasControl(k) {
				// Condition keys are names such as aws:PrincipalTag/team; one with a
				// control character names no key, and would be shown in reports.
				return nil, p.errf(f, nil, "condition key %q contains a control character", k)
			}
			vals, err := conditionValues(vraw)
			if err != nil {
				return nil, p.errf(f+"."+k, nil, "%v", err)
			}
			out = append(out, Condition{Operator: op, Key: k, Values: vals})
		}
	}
	sortConditions(out)
	return out, nil
}

func sortConditions(cs []Condition) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Operator != cs[j].Operator {
			return cs[i].Operator < cs[j].Operator
		}
		return cs[i].Key < cs[j].Key
	})
}

// conditionValues decodes a scalar or a non-empty list of scalars (strings,
// numbers, booleans) into their text.
func conditionValues(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, errors.New("must be a value or a list of values")
		}
		if len(l) == 0 {
			return nil, errors.New("empty list of values")
		}
		out := make([]string, 0, len(l))
		for _, r := range l {
			s, err := scalar(r)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(raw)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func scalar(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", errors.New("empty value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		return s, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", errors.New("values must be strings, numbers or booleans")
		}
		if b {
			return "true", nil
		}
		return "false", nil
	case '{', '[', 'n':
		return "", errors.New("values must be strings, numbers or booleans")
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", errors.New("values must be strings, numbers or booleans")
		}
		return n.String(), nil
	}
}

// JSON returns the canonical encoding of the document: elements in a fixed
// order, a single value as a string and several as a list, conditions
// grouped by operator and sorted. Parse(d.JSON()) yields an equal document.
func (d *Document) JSON() []byte {
	var b bytes.Buffer
	o := newJSONObject(&b)
	if d.Version != "" {
		o.field("Version", d.Version)
	}
	if d.ID != "" {
		o.field("Id", d.ID)
	}
	o.key("Statement")
	b.WriteByte('[')
	for i := range d.Statements {
		if i > 0 {
			b.WriteByte(',')
		}
		d.Statements[i].writeJSON(&b)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func (s *Statement) writeJSON(b *bytes.Buffer) {
	o := newJSONObject(b)
	list := func(l []string) any {
		if len(l) == 1 {
			return l[0]
		}
		return l
	}
	if s.Sid != "" {
		o.field("Sid", s.Sid)
	}
	o.field("Effect", s.Effect)
	if s.Principal != nil {
		o.field("Principal", s.Principal.jsonValue())
	}
	if s.NotPrincipal != nil {
		o.field("NotPrincipal", s.NotPrincipal.jsonValue())
	}
	if len(s.Action) > 0 {
		o.field("Action", list(s.Action))
	}
	if len(s.NotAction) > 0 {
		o.field("NotAction", list(s.NotAction))
	}
	if len(s.Resource) > 0 {
		o.field("Resource", list(s.Resource))
	}
	if len(s.NotResource) > 0 {
		o.field("NotResource", list(s.NotResource))
	}
	if len(s.Condition) > 0 {
		m := map[string]map[string]any{}
		for _, c := range s.Condition {
			if m[c.Operator] == nil {
				m[c.Operator] = map[string]any{}
			}
			m[c.Operator][c.Key] = list(c.Values)
		}
		o.field("Condition", m)
	}
	b.WriteByte('}')
}

func (p *Principals) jsonValue() any {
	if p.All {
		return "*"
	}
	m := map[string]any{}
	add := func(k string, l []string) {
		switch len(l) {
		case 0:
		case 1:
			m[k] = l[0]
		default:
			m[k] = l
		}
	}
	add("AWS", p.AWS)
	add("Service", p.Service)
	add("CanonicalUser", p.CanonicalUser)
	add("Federated", p.Federated)
	return m
}

// jsonObject writes the members of a JSON object: newJSONObject writes its
// '{', each member is preceded by a ',' but the first, and the caller writes
// the closing '}'.
type jsonObject struct {
	b *bytes.Buffer
	n int // members written
}

func newJSONObject(b *bytes.Buffer) *jsonObject {
	b.WriteByte('{')
	return &jsonObject{b: b}
}

// key starts the member named k; its value follows.
func (o *jsonObject) key(k string) {
	if o.n > 0 {
		o.b.WriteByte(',')
	}
	o.n++
	writeJSON(o.b, k)
	o.b.WriteByte(':')
}

// field writes the member k: v.
func (o *jsonObject) field(k string, v any) {
	o.key(k)
	writeJSON(o.b, v)
}

func writeJSON(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)       // strings, lists and maps of strings cannot fail
	b.Truncate(b.Len() - 1) // drop Encode's newline
}
