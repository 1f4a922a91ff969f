package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAcceptsGrammarVariants(t *testing.T) {
	tests := []struct {
		name, doc string
		check     func(t *testing.T, d *Document)
	}{
		{"statement object, no version", `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, func(t *testing.T, d *Document) {
			if d.Version != "" || len(d.Statements) != 1 || d.Statements[0].Action[0] != "s3:GetObject" {
				t.Errorf("got %+v", d)
			}
		}},
		{"statement array, lists, Id", `{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"a","Effect":"Deny","NotAction":["s3:*","iam:*"],"NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`, func(t *testing.T, d *Document) {
			s := d.Statements[0]
			if d.ID != "p1" || s.Sid != "a" || len(s.NotAction) != 2 || len(s.NotResource) != 2 || s.Effect != EffectDeny {
				t.Errorf("got %+v", d)
			}
		}},
		{"version 2008", `{"Version":"2008-10-17","Statement":[]}`, func(t *testing.T, d *Document) {
			if d.Version != Version2008 || len(d.Statements) != 0 {
				t.Errorf("got %+v", d)
			}
		}},
		{"principal forms", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:user/a","arn:aws:iam::123456789012:role/r","arn:aws:sts::123456789012:assumed-role/r/s","AIDAJQABLZS4A3QDU576Q"],"Service":"s3.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be","Federated":"cognito-identity.amazonaws.com"},"Action":"s3:*","Resource":"*"}]}`, func(t *testing.T, d *Document) {
			p := d.Statements[0].Principal
			if p == nil || len(p.AWS) != 6 || len(p.Service) != 1 || len(p.CanonicalUser) != 1 || len(p.Federated) != 1 || p.All {
				t.Errorf("got %+v", p)
			}
		}},
		{"principal star", `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`, func(t *testing.T, d *Document) {
			if !d.Statements[0].Principal.All {
				t.Errorf("got %+v", d.Statements[0].Principal)
			}
		}},
		{"condition scalars", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":[10, 2.5]},"StringEquals":{"b":"x","a":["y","z"]}}}]}`, func(t *testing.T, d *Document) {
			cs := d.Statements[0].Condition
			want := []Condition{
				{"Bool", "aws:SecureTransport", []string{"true"}},
				{"NumericLessThan", "s3:max-keys", []string{"10", "2.5"}},
				{"StringEquals", "a", []string{"y", "z"}},
				{"StringEquals", "b", []string{"x"}},
			}
			if len(cs) != len(want) {
				t.Fatalf("got %+v", cs)
			}
			for i := range want {
				if cs[i].Operator != want[i].Operator || cs[i].Key != want[i].Key || strings.Join(cs[i].Values, ",") != strings.Join(want[i].Values, ",") {
					t.Errorf("condition %d = %+v, want %+v", i, cs[i], want[i])
				}
			}
		}},
		{"every operator", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{
			"StringEquals":{"k":"v"},"StringNotEquals":{"k":"v"},"StringEqualsIgnoreCase":{"k":"v"},"StringNotEqualsIgnoreCase":{"k":"v"},
			"StringLike":{"k":"v*"},"StringNotLike":{"k":"v?"},"NumericEquals":{"k":"1"},"NumericNotEquals":{"k":"1"},"NumericLessThan":{"k":"1"},
			"NumericLessThanEquals":{"k":"1"},"NumericGreaterThan":{"k":"1"},"NumericGreaterThanEquals":{"k":"1"},"DateEquals":{"k":"2020-01-01"},
			"DateNotEquals":{"k":"2020-01-01T00:00:00Z"},"DateLessThan":{"k":"1577836800"},"DateLessThanEquals":{"k":"2020-01-01T00:00:00+01:00"},
			"DateGreaterThan":{"k":"2020-01-01T00:00:00.123Z"},"DateGreaterThanEquals":{"k":"2020-01-01T10:00Z"},"Bool":{"k":"True"},
			"BinaryEquals":{"k":"QQ=="},"IpAddress":{"k":["10.0.0.0/8","2001:db8::/32","192.0.2.1"]},"NotIpAddress":{"k":"::1"},
			"ArnEquals":{"k":"arn:aws:s3:::b"},"ArnLike":{"k":"arn:aws:s3:::b*"},"ArnNotEquals":{"k":"arn:*:*:*:*:*"},"ArnNotLike":{"k":"arn:aws:s3:::*"},
			"Null":{"k":"true"},"StringLikeIfExists":{"k":"v"},"ForAnyValue:StringEquals":{"k":"v"},"ForAllValues:ArnLikeIfExists":{"k":"arn:aws:s3:::*"}}}]}`,
			func(t *testing.T, d *Document) {
				if n := len(d.Statements[0].Condition); n != 30 {
					t.Errorf("%d conditions, want 30", n)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, d)
			d2, err := Parse(d.JSON())
			if err != nil {
				t.Fatalf("canonical form does not parse: %v\n%s", err, d.JSON())
			}
			if string(d2.JSON()) != string(d.JSON()) {
				t.Errorf("canonical form unstable:\n%s\n%s", d.JSON(), d2.JSON())
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const ok = `"Effect":"Allow","Action":"s3:*","Resource":"*"`
	tests := []struct {
		name, doc string
		stmt      int
		sid       string
		field     string // prefix of ParseError.Field
		msg       string // substring of the message
	}{
		{"not json", `{"Statement":`, -1, "", "", "not valid JSON"},
		{"trailing data", `{"Statement":[]} {}`, -1, "", "", "not valid JSON"},
		{"top-level array", `[{"Effect":"Allow"}]`, -1, "", "", "not a JSON object"},
		{"unknown element", `{"Statements":[]}`, -1, "", "Statements", "unknown element"},
		{"bad version", `{"Version":"2013-01-01","Statement":[]}`, -1, "", "Version", "unsupported version"},
		{"version not string", `{"Version":2012,"Statement":[]}`, -1, "", "Version", "string"},
		{"missing statement", `{"Version":"2012-10-17"}`, -1, "", "Statement", "missing"},
		{"statement string", `{"Statement":"x"}`, -1, "", "Statement", "object or an array"},
		{"statement element not object", `{"Statement":["x"]}`, 0, "", "", "not a JSON object"},
		{"missing effect", `{"Statement":[{"Action":"s3:*","Resource":"*"}]}`, 0, "", "Effect", "missing"},
		{"effect case", `{"Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}`, 0, "", "Effect", "must be"},
		{"both action forms", `{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}]}`, 0, "", "NotAction", "both"},
		{"no action", `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, 0, "", "Action", "missing"},
		{"empty action list", `{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, 0, "", "Action", "empty list"},
		{"action number", `{"Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]}`, 0, "", "Action", "string or a list"},
		{"action without service", `{"Statement":[{"Effect":"Allow","Action":"GetItem","Resource":"*"}]}`, 0, "", "Action", "service:action"},
		{"action list with object", `{"Statement":[{"Effect":"Allow","Action":["s3:*",{}],"Resource":"*"}]}`, 0, "", "Action", "string or a list"},
		{"both resource forms", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}]}`, 0, "", "NotResource", "both"},
		{"empty resource", `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":""}]}`, 0, "", "Resource", "empty"},
		{"both principal forms", `{"Statement":[{"Effect":"Deny","Principal":"*","NotPrincipal":"*",` + `"Action":"s3:*","Resource":"*"}]}`, 0, "", "NotPrincipal", "both"},
		{"principal arn string", `{"Statement":[{"Effect":"Allow","Principal":"arn:aws:iam::123456789012:root",` + ok[17:] + `}]}`, 0, "", "Principal", `must be "*"`},
		{"principal wildcard arn", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},` + ok[17:] + `}]}`, 0, "", "Principal.AWS", "wildcards"},
		{"principal session wildcard", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::123456789012:assumed-role/r/*"},` + ok[17:] + `}]}`, 0, "", "Principal.AWS", "wildcards"},
		{"principal bad account", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"12345"},` + ok[17:] + `}]}`, 0, "", "Principal.AWS", "invalid AWS principal"},
		{"principal unknown type", `{"Statement":[{"Effect":"Allow","Principal":{"Group":"admins"},` + ok[17:] + `}]}`, 0, "", "Principal.Group", "unknown principal type"},
		{"principal empty object", `{"Statement":[{"Effect":"Allow","Principal":{},` + ok[17:] + `}]}`, 0, "", "Principal", "empty"},
		{"not principal with allow", `{"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},` + ok[17:] + `}]}`, 0, "", "NotPrincipal", "Deny"},
		{"unknown statement element", `{"Statement":[{` + ok + `,"Actions":"s3:*"}]}`, 0, "", "Actions", "unknown element"},
		{"sid not string", `{"Statement":[{"Sid":1,` + ok + `}]}`, 0, "", "Sid", "string"},
		{"unknown operator", `{"Statement":[{` + ok + `,"Condition":{"StringEqualz":{"k":"v"}}}]}`, 0, "", "Condition.StringEqualz", "unknown condition operator"},
		{"unknown set prefix", `{"Statement":[{` + ok + `,"Condition":{"ForSomeValues:StringLike":{"k":"v"}}}]}`, 0, "", "Condition.ForSomeValues:StringLike", "set operator"},
		{"null if exists", `{"Statement":[{` + ok + `,"Condition":{"NullIfExists":{"k":"true"}}}]}`, 0, "", "Condition.NullIfExists", "Null"},
		{"null with set prefix", `{"Statement":[{` + ok + `,"Condition":{"ForAnyValue:Null":{"k":"true"}}}]}`, 0, "", "Condition.ForAnyValue:Null", "Null"},
		{"operator case", `{"Statement":[{` + ok + `,"Condition":{"stringequals":{"k":"v"}}}]}`, 0, "", "Condition.stringequals", "unknown condition operator"},
		{"numeric value", `{"Statement":[{` + ok + `,"Condition":{"NumericLessThan":{"k":"abc"}}}]}`, 0, "", "Condition.NumericLessThan.k", "not a number"},
		{"date value", `{"Statement":[{` + ok + `,"Condition":{"DateGreaterThan":{"k":"yesterday"}}}]}`, 0, "", "Condition.DateGreaterThan.k", "not a date"},
		{"ip value", `{"Statement":[{` + ok + `,"Condition":{"IpAddress":{"k":"300.1.1.1/8"}}}]}`, 0, "", "Condition.IpAddress.k", "not an IP"},
		{"bool value", `{"Statement":[{` + ok + `,"Condition":{"Bool":{"k":"yes"}}}]}`, 0, "", "Condition.Bool.k", "true or false"},
		{"null value", `{"Statement":[{` + ok + `,"Condition":{"Null":{"k":"maybe"}}}]}`, 0, "", "Condition.Null.k", "true or false"},
		{"binary value", `{"Statement":[{` + ok + `,"Condition":{"BinaryEquals":{"k":"!!!"}}}]}`, 0, "", "Condition.BinaryEquals.k", "base64"},
		{"object value", `{"Statement":[{` + ok + `,"Condition":{"StringEquals":{"k":{"a":"b"}}}}]}`, 0, "", "Condition.StringEquals.k", "strings, numbers or booleans"},
		{"json null value", `{"Statement":[{` + ok + `,"Condition":{"StringEquals":{"k":null}}}]}`, 0, "", "Condition.StringEquals.k", "strings, numbers or booleans"},
		{"empty value list", `{"Statement":[{` + ok + `,"Condition":{"StringEquals":{"k":[]}}}]}`, 0, "", "Condition.StringEquals.k", "empty list"},
		{"operator without keys", `{"Statement":[{` + ok + `,"Condition":{"StringEquals":{}}}]}`, 0, "", "Condition.StringEquals", "no condition keys"},
		{"condition not object", `{"Statement":[{` + ok + `,"Condition":["x"]}]}`, 0, "", "Condition", "object of operators"},
		// The S3 Storage Lens example repeats "StringEquals" in one Condition;
		// JSON decoders disagree on which copy wins, so it is rejected.
		{"duplicate operator", `{"Statement":[{` + ok + `,"Condition":{"StringEquals":{"a":"1"},"StringEquals":{"b":"2"}}}]}`, 0, "", "Condition", "duplicate key"},
		{"duplicate element", `{"Statement":[{` + ok + `,"Effect":"Deny"}]}`, 0, "", "", "duplicate key"},
		{"fault in second statement names its sid", `{"Statement":[{` + ok + `},{"Sid":"Second","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"x"}}}]}`, 1, "Second", "Condition.IpAddress.aws:SourceIp", "not an IP"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseNamed("test-policy", []byte(tc.doc))
			if err == nil {
				t.Fatalf("parsed without error: %s", d.JSON())
			}
			if d != nil {
				t.Error("a document was returned with the error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Error("errors.Is(err, ErrInvalidPolicy) = false")
			}
			if pe.Statement != tc.stmt || pe.Sid != tc.sid || !strings.HasPrefix(pe.Field, tc.field) || (tc.field == "" && pe.Field != "") {
				t.Errorf("got statement %d sid %q field %q, want %d %q %q (%v)", pe.Statement, pe.Sid, pe.Field, tc.stmt, tc.sid, tc.field, err)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("message %q does not contain %q", pe.Msg, tc.msg)
			}
			if pe.Policy != "test-policy" || !strings.Contains(err.Error(), `"test-policy"`) {
				t.Errorf("error does not name the policy: %v", err)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := ParseNamed("bucket policy", []byte(`{"Statement":[{"Sid":"S1","Effect":"Allow","Action":"s3:*"},{"Sid":"S2","Effect":"Maybe","Action":"s3:*"}]}`))
	const want = `policy "bucket policy": statement 1 (Sid "S2"): Effect: must be "Allow" or "Deny", not "Maybe"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = Parse([]byte(`{}`))
	if err == nil || err.Error() != "policy: Statement: missing" {
		t.Errorf("error = %v", err)
	}
}

func TestCanonicalJSON(t *testing.T) {
	d, err := ParseNamed("n", []byte(`{"Id":"x","Version":"2012-10-17","Statement":{"Condition":{"StringLike":{"s3:prefix":["a/*","b/*"]},"Bool":{"aws:SecureTransport":true}},"Resource":["arn:aws:s3:::b"],"Action":"s3:ListBucket","Effect":"Allow","Principal":{"AWS":["111122223333"],"Service":["s3.amazonaws.com","logging.s3.amazonaws.com"]},"Sid":"<&>"}}`))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"<&>","Effect":"Allow","Principal":{"AWS":"111122223333","Service":["s3.amazonaws.com","logging.s3.amazonaws.com"]},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"Bool":{"aws:SecureTransport":"true"},"StringLike":{"s3:prefix":["a/*","b/*"]}}}]}`
	if got := string(d.JSON()); got != want {
		t.Errorf("JSON() =\n%s\nwant\n%s", got, want)
	}
	if got := string((&Document{}).JSON()); got != `{"Statement":[]}` {
		t.Errorf("empty document JSON() = %s", got)
	}
}
