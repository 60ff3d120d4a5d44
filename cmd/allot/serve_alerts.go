package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"allot/alert"
	"allot/store"
)

// alertOptions are allot serve's flags for alert delivery by email.
type alertOptions struct {
	smtpHost, smtpUser, smtpFrom, smtpTLS string
	smtpPort                              int
}

func (o *alertOptions) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.smtpHost, "smtp-host", "", "SMTP server for email alert endpoints (none: email endpoints' alerts wait in the queue, then are dead-lettered)")
	cmd.Flags().IntVar(&o.smtpPort, "smtp-port", 0, "SMTP port (default 587, 465 with --smtp-tls tls)")
	cmd.Flags().StringVar(&o.smtpUser, "smtp-user", "", "SMTP user name; the password is read from ALLOT_SMTP_PASSWORD")
	cmd.Flags().StringVar(&o.smtpFrom, "smtp-from", "", "sender address of alert emails")
	cmd.Flags().StringVar(&o.smtpTLS, "smtp-tls", "starttls", "starttls (required), opportunistic, tls (implicit, port 465) or none")
}

// service returns the alert service of allot serve over st; acts (nil:
// every tenant) picks the tenants whose jobs this process delivers.
func (o alertOptions) service(st store.Store, log *slog.Logger, acts func(context.Context, string) bool) (*alert.Service, error) {
	as, ok := store.AlertsOf(st)
	if !ok {
		return nil, fmt.Errorf("the store keeps no alerts")
	}
	cfg := alert.Config{Store: as, Logger: log, Acts: acts}
	if o.smtpHost != "" {
		switch o.smtpTLS {
		case "starttls", "opportunistic", "tls", "none":
		default:
			return nil, usageError{fmt.Errorf("--smtp-tls must be starttls, opportunistic, tls or none")}
		}
		if o.smtpFrom == "" {
			return nil, usageError{fmt.Errorf("--smtp-host needs --smtp-from")}
		}
		cfg.SMTP = &alert.SMTP{Host: o.smtpHost, Port: o.smtpPort, Username: o.smtpUser, Password: os.Getenv("ALLOT_SMTP_PASSWORD"),
			From: o.smtpFrom, TLS: o.smtpTLS}
	}
	return alert.New(cfg), nil
}
