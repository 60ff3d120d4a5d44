package main

import (
	"allot/api/scim"
	"allot/api/server"
)

// registerSurfaces mounts the API surfaces beyond partner, admin and
// allotments (Graph, SCIM, usage, web).
func registerSurfaces(s *server.Server) {
	scim.Register(s)
}
