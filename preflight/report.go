package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/s3mpu/s3mpu/internal/mpu"
)

// Check is the verdict on one action on one resource within a step.
type Check struct {
	// Action is the IAM action.
	Action string `json:"action"`
	// Resource is the ARN acted on.
	Resource string `json:"resource"`
	// Decision is the verdict.
	Decision Decision `json:"decision"`
	// Evaluator says which evaluator decided it.
	Evaluator EvaluatorKind `json:"evaluator"`
	// Reasons explain it.
	Reasons []string `json:"reasons,omitempty"`
	// Statements are the statements that decided it.
	Statements []StatementRef `json:"statements,omitempty"`
	// MissingContext lists condition keys a statement needed that the
	// request does not carry or whose value is not known in advance.
	MissingContext []string `json:"missingContext,omitempty"`
	// DefaultRule names the owner-or-initiator rule when it decided.
	DefaultRule string `json:"defaultRule,omitempty"`
	// OnlyByDefault is true when nothing but the default rule allows it.
	OnlyByDefault bool `json:"onlyByDefault,omitempty"`
	// Risks note what the verdict depends on that could not be checked.
	Risks []string `json:"risks,omitempty"`
}

// Remedy is the smallest change that would allow a step.
type Remedy struct {
	// Summary says what to change, in one or two sentences.
	Summary string `json:"summary"`
	// Add lists statements to add, each to the named policy.
	Add []RemedyStatement `json:"add,omitempty"`
	// Change lists Deny statements that must be changed or removed.
	Change []StatementRef `json:"change,omitempty"`
}

// RemedyStatement is one policy statement to add.
type RemedyStatement struct {
	// Policy is "identity policy" (the caller's), "bucket policy" or
	// "source bucket policy".
	Policy string `json:"policy"`
	// Statement is the statement's JSON.
	Statement json.RawMessage `json:"statement"`
}

// StepResult is the verdict for one multipart step.
type StepResult struct {
	// Step is the step.
	Step mpu.Step `json:"step"`
	// Operation is the S3 API call, e.g. "CompleteMultipartUpload".
	Operation string `json:"operation"`
	// Actions and Resources are what the step needs (parallel to Checks).
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
	// Decision is the worst of the checks' decisions.
	Decision Decision `json:"decision"`
	// Evaluator is the evaluator that decided the worst check.
	Evaluator EvaluatorKind `json:"evaluator"`
	// Reasons explain the decision.
	Reasons []string `json:"reasons"`
	// MissingContext lists condition keys that a statement needed and the
	// call does not carry (or whose value is unknown in advance).
	MissingContext []string `json:"missingContext,omitempty"`
	// DefaultRule names the owner-or-initiator rule when it decided.
	DefaultRule string `json:"defaultRule,omitempty"`
	// Remedy is the fix for a denial, or the explicit grant recommended
	// when only a default rule allows the step; nil otherwise.
	Remedy *Remedy `json:"remedy"`
	// Risks note what the verdict depends on that could not be checked.
	Risks []string `json:"risks,omitempty"`
	// Checks are the per-action verdicts.
	Checks []Check `json:"checks"`
}

// KMSRow is the SSE-KMS verdict for one step.
type KMSRow struct {
	Step      mpu.Step      `json:"step"`
	Actions   []string      `json:"actions"`
	Resources []string      `json:"resources"`
	Decision  Decision      `json:"decision"`
	Evaluator EvaluatorKind `json:"evaluator"`
	Reasons   []string      `json:"reasons"`
	Remedy    *Remedy       `json:"remedy,omitempty"`
}

// Gap is a policy source that could not be read.
type Gap struct {
	// Source names it, e.g. "bucket policy (s3:GetBucketPolicy)".
	Source string `json:"source"`
	// Error is why it could not be read.
	Error string `json:"error"`
	// AllowOnly is true when the source can only grant (an ACL), so its
	// absence cannot hide a Deny.
	AllowOnly bool `json:"allowOnly,omitempty"`
}

// Report is the outcome of a preflight: one StepResult per checked step,
// KMS rows for SSE-KMS plans, the gaps, and what the run cost.
type Report struct {
	// Caller is the principal evaluated.
	Caller string `json:"caller"`
	// Bucket and Key name the object.
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Profile is the server profile the verdicts assume.
	Profile Profile `json:"profile"`
	// LearnedProfile is set when a probe saw the server deny the initiator
	// aborting its own upload: ProfileNoDefaults, unless a policy denies
	// the abort explicitly (the report's Abort verdict says which).
	LearnedProfile *Profile `json:"learnedProfile,omitempty"`
	// Steps has one result per checked step, in step order.
	Steps []StepResult `json:"steps"`
	// KMS has one row per step that needs KMS permissions (SSE-KMS plans).
	KMS []KMSRow `json:"kms,omitempty"`
	// Gaps are the policy sources that could not be read.
	Gaps []Gap `json:"gaps,omitempty"`
	// Notes are assumptions the report rests on.
	Notes []string `json:"notes,omitempty"`
	// Leftover lists upload IDs a probe created and could not remove.
	Leftover []string `json:"leftoverUploads,omitempty"`
	// APICalls counts the requests the run made, by operation.
	APICalls map[string]int `json:"apiCalls,omitempty"`
}

// Step returns the result for step and true, or a zero result and false.
func (r *Report) Step(step mpu.Step) (StepResult, bool) {
	for _, s := range r.Steps {
		if s.Step == step {
			return s, true
		}
	}
	return StepResult{}, false
}

// OK reports whether every checked step and every KMS row is allowed.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if s.Decision != Allowed {
			return false
		}
	}
	for _, k := range r.KMS {
		if k.Decision != Allowed {
			return false
		}
	}
	return true
}

// Denied returns the steps that are denied (explicitly or implicitly).
func (r *Report) Denied() []StepResult {
	var out []StepResult
	for _, s := range r.Steps {
		if s.Decision.Denied() {
			out = append(out, s)
		}
	}
	return out
}

// Blocking returns the denied steps that must stop an upload before it
// starts: Initiate, UploadPart, UploadPartCopy and Complete (the upload
// cannot finish) and Abort (a failed upload could not be cleaned up). A
// step whose KMS row is denied counts too. ListParts and ListUploads never
// block: an upload succeeds without them.
func (r *Report) Blocking() []StepResult {
	var out []StepResult
	kmsDenied := map[mpu.Step]bool{}
	for _, k := range r.KMS {
		if k.Decision.Denied() {
			kmsDenied[k.Step] = true
		}
	}
	for _, s := range r.Steps {
		switch s.Step {
		case mpu.Initiate, mpu.UploadPart, mpu.UploadPartCopy, mpu.Complete, mpu.Abort:
			if s.Decision.Denied() || kmsDenied[s.Step] {
				out = append(out, s)
			}
		}
	}
	return out
}

// TotalCalls returns the number of API requests the run made.
func (r *Report) TotalCalls() int {
	n := 0
	for _, c := range r.APICalls {
		n += c
	}
	return n
}

// WriteText renders the report as a table, then the reasons, risks and
// remedies of every step that is not plainly allowed.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "preflight s3://%s/%s as %s (server profile %s)\n\n", r.Bucket, r.Key, r.Caller, r.Profile)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tDECISION\tBY\tACTION\tRESOURCE")
	for _, s := range r.Steps {
		for i, c := range s.Checks {
			step, dec, by := s.Step.String(), s.Decision.String(), string(s.Evaluator)
			if i > 0 {
				step, dec, by = "", "", ""
			}
			if s.DefaultRule != "" && i == 0 {
				dec += " (default)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", step, dec, by, c.Action, c.Resource)
		}
	}
	for _, k := range r.KMS {
		fmt.Fprintf(tw, "%s (KMS)\t%s\t%s\t%s\t%s\n", k.Step, k.Decision, k.Evaluator, strings.Join(k.Actions, ","), strings.Join(k.Resources, ","))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Steps {
		if s.Decision == Allowed && s.Remedy == nil && len(s.Risks) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %s\n", s.Step, s.Decision)
		for _, why := range s.Reasons {
			fmt.Fprintf(&b, "  - %s\n", why)
		}
		for _, risk := range s.Risks {
			fmt.Fprintf(&b, "  risk: %s\n", risk)
		}
		writeRemedy(&b, s.Remedy)
	}
	for _, k := range r.KMS {
		if k.Decision == Allowed {
			continue
		}
		fmt.Fprintf(&b, "\n%s (KMS): %s\n", k.Step, k.Decision)
		for _, why := range k.Reasons {
			fmt.Fprintf(&b, "  - %s\n", why)
		}
		writeRemedy(&b, k.Remedy)
	}
	for _, g := range r.Gaps {
		fmt.Fprintf(&b, "\ngap: %s could not be read: %s\n", g.Source, g.Error)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	for _, id := range r.Leftover {
		fmt.Fprintf(&b, "warning: probe upload %s could not be removed\n", id)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeRemedy(b *strings.Builder, rm *Remedy) {
	if rm == nil {
		return
	}
	fmt.Fprintf(b, "  fix: %s\n", rm.Summary)
	for _, a := range rm.Add {
		fmt.Fprintf(b, "    add to the %s: %s\n", a.Policy, a.Statement)
	}
	for _, c := range rm.Change {
		fmt.Fprintf(b, "    change: %s\n", c)
	}
}

// String returns the text rendering.
func (r *Report) String() string {
	var b strings.Builder
	_ = r.WriteText(&b) // a strings.Builder does not fail
	return b.String()
}
