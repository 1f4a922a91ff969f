package preflight

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/s3mpu/s3mpu/internal/termtext"
	"github.com/s3mpu/s3mpu/mpu"
)

// Check is the verdict on one action on one resource within a step.
type Check struct {
	// Action is the IAM action.
	Action string `json:"action"`
	// Resource is the ARN acted on.
	Resource string `json:"resource"`
	// Decision is the verdict.
	Decision mpu.Decision `json:"decision"`
	// Evaluator says which evaluator decided it.
	Evaluator mpu.EvaluatorKind `json:"evaluator"`
	// Reasons explain it.
	Reasons []string `json:"reasons,omitempty"`
	// Statements are the statements that decided it.
	Statements []mpu.StatementRef `json:"statements,omitempty"`
	// MissingContext lists condition keys a statement needed that the
	// request does not carry or whose value is not known in advance.
	MissingContext []string `json:"missing_context,omitempty"`
	// DefaultRule names the owner-or-initiator rule when it decided.
	DefaultRule string `json:"default_rule,omitempty"`
	// OnlyByDefault is true when nothing but the default rule allows it.
	OnlyByDefault bool `json:"only_by_default,omitempty"`
	// Risks note what the verdict depends on that could not be checked.
	Risks []string `json:"risks,omitempty"`
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
	Decision mpu.Decision `json:"decision"`
	// Evaluator is the evaluator that decided the worst check.
	Evaluator mpu.EvaluatorKind `json:"evaluator"`
	// Reasons explain the decision.
	Reasons []string `json:"reasons"`
	// MissingContext lists condition keys that a statement needed and the
	// call does not carry (or whose value is unknown in advance).
	MissingContext []string `json:"missing_context,omitempty"`
	// DefaultRule names the owner-or-initiator rule when it decided.
	DefaultRule string `json:"default_rule,omitempty"`
	// Remedy is the fix for a denial, or the explicit grant recommended
	// when only a default rule allows the step; nil otherwise.
	Remedy *mpu.Remedy `json:"remedy"`
	// Risks note what the verdict depends on that could not be checked.
	Risks []string `json:"risks,omitempty"`
	// Checks are the per-action verdicts.
	Checks []Check `json:"checks"`
}

// KMSRow is the SSE-KMS verdict for one step, or (Seed) for the S3
// multipart permission table's KMS list for the upload as a whole.
type KMSRow struct {
	// Step is the step; zero (and omitted from JSON) for the seed row.
	Step mpu.Step `json:"step,omitempty"`
	// Label names the row: the step's name, or kmsSeedLabel.
	Label string `json:"label"`
	// Seed is true for the seed row (Report.KMSSeed).
	Seed bool `json:"seed,omitempty"`
	// Advisory is true for a seed row that does not count for OK and
	// Blocking: the per-step rows hold the actions S3 performs, and the
	// seed row counts only when the KMS checker's RequireSeedActions
	// (kmsperm.Options) asks for the full list.
	Advisory bool `json:"advisory,omitempty"`
	// Actions are the KMS actions checked (seed actions keep their
	// wildcards, e.g. "kms:GenerateDataKey*"), and Resources the keys.
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
	// Decision is the worst of the actions' decisions; a step that needs
	// no KMS action is Allowed.
	Decision mpu.Decision `json:"decision"`
	// Evaluator says who decided the identity side of the worst action:
	// EvaluatorLocal (supplied identity policies), EvaluatorSimulate (IAM's
	// policy simulator) or EvaluatorNone (no action to decide, or the
	// identity policies were not available). Key policies are always
	// evaluated locally.
	Evaluator mpu.EvaluatorKind `json:"evaluator"`
	// Reasons summarise the decision, then explain each action that is not
	// allowed.
	Reasons []string `json:"reasons"`
	// Remedy is the fix for a row that is not allowed; nil otherwise.
	Remedy *mpu.Remedy `json:"remedy"`

	// denied names each denied action with its key ("kms:Decrypt on
	// KEY-ARN"), for DeniedError; not kept through JSON.
	denied []string
}

// deniedActions names the row's denied actions with their keys: as
// recorded when the row was built, else (a row read back from JSON) its
// actions on its resources.
func (k KMSRow) deniedActions() []string {
	if len(k.denied) > 0 || !k.Decision.Denied() || len(k.Actions) == 0 {
		return k.denied
	}
	return []string{strings.Join(k.Actions, ",") + " on " + strings.Join(k.Resources, ",")}
}

// kmsSeedLabel is the Label of the seed row (Report.KMSSeed).
const kmsSeedLabel = "upload (S3 permission table)"

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
	LearnedProfile *Profile `json:"learned_profile,omitempty"`
	// Steps has one result per checked step, in step order.
	Steps []StepResult `json:"steps"`
	// KMS has one row per checked step for SSE-KMS plans checked with
	// Options.KMS, in step order (a step that needs no KMS action has an
	// allowed row without actions). A plan whose target is not SSE-KMS
	// encrypted but whose copy source is (CopySource.KMSKeyID) has only
	// the UploadPartCopy row: kms:Decrypt on the source key.
	KMS []KMSRow `json:"kms,omitempty"`
	// KMSSeed decides the S3 multipart permission table's KMS list
	// (kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey*,
	// kms:DescribeKey) on the target key for the upload as a whole. It
	// counts for OK and Blocking (as Initiate) only when not Advisory. It
	// is nil when the target is not SSE-KMS encrypted.
	KMSSeed *KMSRow `json:"kms_seed,omitempty"`
	// Gaps are the policy sources that could not be read.
	Gaps []mpu.Gap `json:"gaps,omitempty"`
	// Notes are assumptions the report rests on.
	Notes []string `json:"notes,omitempty"`
	// Leftover lists upload IDs a probe created and could not remove.
	Leftover []string `json:"leftover_uploads,omitempty"`
	// APICalls counts the requests the run made, by operation.
	APICalls map[string]int `json:"api_calls,omitempty"`
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

// OK reports whether every checked step and every KMS row is allowed; the
// seed row counts only when it is not Advisory.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if s.Decision != mpu.Allowed {
			return false
		}
	}
	for _, k := range r.KMS {
		if k.Decision != mpu.Allowed {
			return false
		}
	}
	if k := r.KMSSeed; k != nil && !k.Advisory && k.Decision != mpu.Allowed {
		return false
	}
	return true
}

// Blocking returns the denied steps that must stop an upload before it
// starts: Initiate, UploadPart, UploadPartCopy and Complete (the upload
// cannot finish) and Abort (a failed upload could not be cleaned up). A
// step whose KMS row is denied counts too, and a denied seed row that is
// not Advisory counts as Initiate. ListParts and ListUploads never block:
// an upload succeeds without them. It is the denial half of Gate for those
// steps of the report; Gate also refuses steps it cannot decide.
func (r *Report) Blocking() []StepResult {
	var steps []mpu.Step
	for _, s := range r.Steps {
		switch s.Step {
		case mpu.Initiate, mpu.UploadPart, mpu.UploadPartCopy, mpu.Complete, mpu.Abort:
			steps = append(steps, s.Step)
		}
	}
	var de *DeniedError
	if errors.As(r.Gate(steps), &de) {
		return de.Denied
	}
	return nil
}

// totalCalls returns the number of API requests the run made.
func (r *Report) totalCalls() int {
	n := 0
	for _, c := range r.APICalls {
		n += c
	}
	return n
}

// WriteText renders the report as a table, then the reasons, risks and
// remedies of every step that is not plainly allowed. Text that comes from
// elsewhere (names, policy statements, a server's error messages) is written
// with every control or format character escaped as in a Go string (\x1b,
// \n, \u202e), so a hostile policy, key or server cannot move the cursor or
// forge a line of the report.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	caller := r.Caller
	if caller == "" {
		caller = "an unknown caller"
	}
	fmt.Fprintf(&b, "preflight s3://%s/%s as %s (server profile %s)\n\n", esc(r.Bucket), esc(r.Key), esc(caller), r.Profile)
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
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", step, dec, esc(by), esc(c.Action), esc(c.Resource))
		}
	}
	for _, k := range r.kmsRows() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", esc(k.textLabel()), k.textDecision(), esc(string(k.Evaluator)), esc(orDash(strings.Join(k.Actions, ","))), esc(orDash(strings.Join(k.Resources, ","))))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Steps {
		if s.Decision == mpu.Allowed && s.Remedy == nil && len(s.Risks) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %s\n", s.Step, s.Decision)
		for _, why := range s.Reasons {
			fmt.Fprintf(&b, "  - %s\n", esc(why))
		}
		for _, risk := range s.Risks {
			fmt.Fprintf(&b, "  risk: %s\n", esc(risk))
		}
		writeRemedy(&b, s.Remedy)
	}
	for _, k := range r.kmsRows() {
		if k.Decision == mpu.Allowed {
			continue
		}
		fmt.Fprintf(&b, "\n%s: %s\n", esc(k.textLabel()), k.textDecision())
		for _, why := range k.Reasons {
			fmt.Fprintf(&b, "  - %s\n", esc(why))
		}
		writeRemedy(&b, k.Remedy)
	}
	for _, g := range r.Gaps {
		fmt.Fprintf(&b, "\ngap: %s could not be read: %s\n", esc(g.Source), esc(g.Error))
		if g.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", esc(g.Hint))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", esc(n))
	}
	for _, id := range r.Leftover {
		fmt.Fprintf(&b, "warning: probe upload %s could not be removed\n", esc(id))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// kmsRows returns the KMS rows to render: the per-step rows, then the seed
// row.
func (r *Report) kmsRows() []KMSRow {
	rows := r.KMS
	if r.KMSSeed != nil {
		rows = append(rows[:len(rows):len(rows)], *r.KMSSeed)
	}
	return rows
}

// textLabel is the row's name in the text table: "UploadPart (KMS)", or
// "upload (S3 permission table) (KMS)" for the seed row.
func (k KMSRow) textLabel() string {
	label := k.Label
	if label == "" {
		label = k.Step.String()
	}
	return label + " (KMS)"
}

// textDecision is the decision, marked "(advisory)" for a seed row that
// does not count.
func (k KMSRow) textDecision() string {
	if k.Advisory {
		return k.Decision.String() + " (advisory)"
	}
	return k.Decision.String()
}

// esc is text from elsewhere, made safe for the text report.
func esc(s string) string { return termtext.Escape(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeRemedy(b *strings.Builder, rm *mpu.Remedy) {
	if rm == nil {
		return
	}
	fmt.Fprintf(b, "  fix: %s\n", esc(rm.Summary))
	for _, a := range rm.Add {
		fmt.Fprintf(b, "    add to the %s: %s\n", esc(string(a.Policy)), esc(string(a.Statement)))
	}
	for _, c := range rm.Change {
		fmt.Fprintf(b, "    change: %s\n", esc(c.String()))
	}
}

// String returns the text rendering.
func (r *Report) String() string {
	var b strings.Builder
	_ = r.WriteText(&b) // a strings.Builder does not fail
	return b.String()
}
