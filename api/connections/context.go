package connections

import (
	"context"
	"net/http"
)

// context0 is the context a background sync runs under: the request's
// values without its cancellation (the sync outlives the request).
func context0(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }
