package main

import (
	"context"
	"log/slog"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"allot/alert"
	"allot/reclamation"
)

// reclaimOptions are allot serve's settings for reclamation campaigns.
type reclaimOptions struct {
	publicURL string
	key       []byte // the server's secret key (ALLOT_SECRET_KEY, --secret-key-file)
}

func (o *reclaimOptions) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.publicURL, "public-url", "", "allot's address as users reach it (https://allot.contoso.example), which reclamation notices' keep links start with (default: this server's listening address)")
}

// publicURL is the address keep links start with.
func publicURL(o serveOptions, ln net.Listener) string {
	if o.reclaim.publicURL != "" {
		return strings.TrimSuffix(o.reclaim.publicURL, "/")
	}
	scheme := "http"
	if o.tls.enabled() {
		scheme = "https"
	}
	return scheme + "://" + ln.Addr().String()
}

// service returns the reclamation service of allot serve: notices through
// the alert service's queue, links signed with a key derived from the
// server's secret key (without one, campaigns cannot start); acts (nil:
// every tenant) picks the tenants whose campaigns this process steps.
func (o reclaimOptions) service(alerts *alert.Service, base string, log *slog.Logger, acts func(context.Context, string) bool) *reclamation.Service {
	return reclamation.New(reclamation.Config{Alerts: alerts, Key: reclamation.LinkKey(o.key), BaseURL: base, Logger: log, Acts: acts})
}
