package main

import (
	alertsapi "allot/api/alerts"
	chargebackapi "allot/api/chargeback"
	"allot/api/graph"
	graphsubapi "allot/api/graphsub"
	"allot/api/scim"
	"allot/api/server"
	usageapi "allot/api/usage"
)

// registerSurfaces mounts the API surfaces beyond partner and admin
// (Graph, SCIM, web) as they are built.
func registerSurfaces(s *server.Server) {
	graph.Register(s)
	graphsubapi.Register(s)
	alertsapi.Register(s)
	chargebackapi.Register(s)
	scim.Register(s)
	usageapi.Register(s)
}
