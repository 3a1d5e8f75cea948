package scenario

import "runtime"

// NewResource is the seed's fix: the finalizer uses only its parameter.
func NewResource(id int) *Resource {
	r := &Resource{id: id}
	runtime.SetFinalizer(r, func(self *Resource) {
		if !self.closed {
			leaked(self.id)
			self.closed = true
		}
	})
	return r
}
