// Package optfn applies functional options, the func(*Options) arguments
// every constructor and call of the module takes, as the AWS SDK's do. It
// knows no options and checks none: resolving and validating them is each
// package's own work.
package optfn

// With returns o after each of fns has changed it, in order. o is a copy:
// the caller's value is not changed.
func With[T any](o T, fns []func(*T)) T {
	for _, fn := range fns {
		fn(&o)
	}
	return o
}
