package alert_test

import (
	"context"
	"strings"
	"testing"

	"allot/alert"
	"allot/internal/smtptest"
	"allot/store"
)

// QueueMail: a message to the addresses it names is sent once through the
// queue, on both backends; queueing the same id again queues nothing; a
// bad address is refused.
func TestQueueMail(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			mb := smtptest.New(t, false)
			st, _ := open(t)
			e := newEnv(t, st, alert.Config{SMTP: smtpConfig(mb, "none")})
			ctx := context.Background()
			m := alert.Mail{To: []string{"u1@contoso.example"}, Cc: []string{"boss@contoso.example"}, Subject: "Your license", Text: "Keep it: https://x"}
			for i, want := range []bool{true, false} {
				queued, err := e.svc.QueueMail(ctx, "contoso", "notice.1", m, e.clk.Now())
				if err != nil || queued != want {
					t.Fatalf("queue %d: %v %v", i, queued, err)
				}
			}
			if _, err := e.svc.QueueMail(ctx, "contoso", "notice.2", alert.Mail{To: []string{"not an address"}}, e.clk.Now()); err == nil {
				t.Fatal("a bad address was queued")
			}
			e.settle()
			msgs := mb.Got()
			if len(msgs) != 1 || len(msgs[0].To) != 2 || !strings.Contains(msgs[0].Data, "Subject: Your license") || !strings.Contains(msgs[0].Data, "X-Allot-Event-Id: notice.1") {
				t.Fatalf("messages %+v", msgs)
			}
			log, err := st.(store.AlertStore).AlertAttempts(ctx, "contoso", alert.MailEndpoint, 10)
			if err != nil || len(log) != 1 || !log[0].OK {
				t.Fatalf("delivery log %+v %v", log, err)
			}
		})
	}
}
