package main

import "allot/api/server"

// registerSurfaces mounts the API surfaces beyond partner and admin
// (Graph, SCIM, web) as they are built.
func registerSurfaces(s *server.Server) {}
