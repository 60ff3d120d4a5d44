package alert

import (
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"time"

	"allot"
	"allot/store"
)

// MailEndpoint is the endpoint id of the jobs QueueMail queues: mail to
// the addresses the job itself names, not to a tenant's endpoint (it is
// not a valid endpoint id, so it never names one). Such jobs share the
// queue's durability, retries, dead-letter list and delivery log (under
// this id) with the alerts' jobs. Other packages (reclamation notices)
// send their mail this way.
const MailEndpoint = "@mail"

// Mail is one message QueueMail sends: plain text and, when set, HTML as
// its alternative.
type Mail struct {
	To      []string `json:"to"`
	Cc      []string `json:"cc,omitempty"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	HTML    string   `json:"html,omitempty"`
	// Attachments are files attached to the message.
	Attachments []Attachment `json:"attachments,omitempty"`
}

// QueueMail queues a message for the tenant under the job id id, to be
// sent at or after at. It is idempotent: an id already queued (in any
// state) is left as it is and reported as not queued (false, nil), so a
// caller that crashed after queueing can queue again.
func (s *Service) QueueMail(ctx context.Context, tenantID, id string, m Mail, at time.Time) (bool, error) {
	if len(m.To) == 0 {
		return false, allot.Errorf(allot.EINVALID, "A message needs a recipient.")
	}
	for _, a := range append(append([]string(nil), m.To...), m.Cc...) {
		if _, err := mail.ParseAddress(a); err != nil {
			return false, allot.Errorf(allot.EINVALID, "%q is not an email address.", a)
		}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	now := s.now()
	j := store.AlertJob{TenantID: tenantID, ID: id, EndpointID: MailEndpoint, Payload: body, State: store.JobPending,
		RunAt: at, CreatedAt: now, UpdatedAt: now}
	switch err := s.cfg.Store.RecordAlerts(ctx, nil, []store.AlertJob{j}); {
	case errors.Is(err, store.ErrConflict):
		return false, nil
	case err != nil:
		return false, err
	}
	poke(s.jobWake)
	return true, nil
}

// sendQueuedMail sends a job of QueueMail.
func (s *Service) sendQueuedMail(ctx context.Context, id string, payload []byte) Result {
	var m Mail
	if err := json.Unmarshal(payload, &m); err != nil {
		return Result{Err: "the queued message is not readable: " + err.Error()}
	}
	return sendMessage(ctx, s.cfg.SMTP, m, id)
}
