package uploader

import (
	"fmt"
	"sync"

	"github.com/s3mpu/s3mpu/uploader/event"
)

// emitter serializes calls to a Listener and turns its panics into an error.
type emitter struct {
	l        event.Listener
	onPanic  func(error) // called once, without mu held
	mu       sync.Mutex
	panicked error
	tally    event.Completed // the tally fields of Completed, kept by emit
}

// emit delivers e, with a Completed event's tally filled from the events
// before it; it returns the panic error after a listener panicked.
func (em *emitter) emit(e event.Event) error {
	if em == nil || em.l == nil {
		return nil
	}
	em.mu.Lock()
	if em.panicked != nil {
		err := em.panicked
		em.mu.Unlock()
		return err
	}
	switch ev := e.(type) {
	case event.Retry:
		em.tally.Retries++
	case event.Hedged:
		em.tally.Hedges++
		em.tally.HedgedBytes += ev.Size
	case event.HedgeDone:
		if ev.HedgeWon {
			em.tally.HedgesWon++
		}
	case event.ConcurrencyChanged:
		em.tally.AdaptiveLevel = ev.Parts
	case event.Completed:
		t := em.tally
		ev.Retries, ev.Hedges, ev.HedgesWon, ev.HedgedBytes, ev.AdaptiveLevel = t.Retries, t.Hedges, t.HedgesWon, t.HedgedBytes, t.AdaptiveLevel
		e = ev
	}
	err := em.call(e)
	if err != nil {
		em.panicked = err
	}
	em.mu.Unlock()
	if err != nil && em.onPanic != nil {
		em.onPanic(err)
	}
	return err
}

func (em *emitter) call(e event.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w on %T: %v", ErrListenerPanic, e, r)
		}
	}()
	em.l.OnEvent(e)
	return nil
}

// tallySoFar returns the tally of the events emitted so far.
func (em *emitter) tallySoFar() event.Completed {
	if em == nil {
		return event.Completed{}
	}
	em.mu.Lock()
	defer em.mu.Unlock()
	return em.tally
}

// listening reports whether events go anywhere.
func (em *emitter) listening() bool { return em != nil && em.l != nil }

// panicErr returns the listener's panic, if any.
func (em *emitter) panicErr() error {
	if em == nil {
		return nil
	}
	em.mu.Lock()
	defer em.mu.Unlock()
	return em.panicked
}
