package scenario

import "runtime"

// NewResource is the seed's code: the finalizer closes over the outer r.
func NewResource(id int) *Resource {
	r := &Resource{id: id}
	runtime.SetFinalizer(r, func(self *Resource) {
		if !self.closed {
			leaked(self.id)
			r.closed = true // BUG: closes over the outer r
		}
	})
	return r
}
