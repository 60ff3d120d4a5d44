// Package m365 connects an allot tenant to a Microsoft 365 tenant through
// Microsoft Graph: connections (an Entra tenant and an app registration,
// the secret sealed at rest), the sync of the directory and licenses into
// allot (full, then delta queries), and the plan and application of the
// assignLicense calls that bring the Microsoft tenant to allot's decision
// for the licenses allot manages.
//
// Everything it keeps is tenant objects (tenant.Tx.Put) of the kinds
// below, changed by commands only; the synced directory goes through the
// tenant's normal commands (bundle.Apply, the engine's commands).
package m365

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/tenant"
)

// The kinds of tenant object this package keeps.
const (
	KindConnection store.Kind = "m365Connection" // id: connection id
	KindSyncState  store.Kind = "m365SyncState"  // id: connection id
	KindSynced     store.Kind = "m365Synced"     // id: "user/<id>" or "group/<id>": an object Entra owns
	KindApplied    store.Kind = "m365Applied"    // id: "<connection id>/<user id>/<skuId>": a direct license allot assigned in Microsoft 365
)

// Defaults of a connection.
const (
	DefaultGraphURL      = "https://graph.microsoft.com"
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultSyncEvery     = time.Hour
)

// Connection is an allot tenant's link to a Microsoft 365 tenant: the
// Entra tenant, the app registration that reads (and, with Apply, writes
// licenses in) it, and where Graph and the authority are. Secret is the
// credential sealed by a Sealer — the client secret, or with Credential
// "certificate" the certificate and its private key as PEM; it never
// leaves this package.
type Connection struct {
	ID            string `json:"id"`
	DisplayName   string `json:"displayName,omitempty"`
	EntraTenantID string `json:"entraTenantId"`
	ClientID      string `json:"clientId"`
	// Credential is CredentialSecret, CredentialCertificate or
	// CredentialWorkloadIdentity (nothing sealed in Secret) ("" in a
	// connection stored before certificates: a secret).
	Credential           string       `json:"credential,omitempty"`
	Secret               []byte       `json:"secret"`
	Certificate          *Certificate `json:"certificate,omitempty"`
	SendCertificateChain bool         `json:"sendCertificateChain,omitempty"`
	GraphURL             string       `json:"graphUrl"`
	AuthorityHost        string       `json:"authorityHost"`
	Apply                bool         `json:"apply"`     // plan/apply out is allowed
	SyncEvery            Duration     `json:"syncEvery"` // 0: no scheduled sync
	// ReportsEvery schedules the usage reports sync (nil, in connections
	// stored before it: DefaultReportsEvery; 0: none).
	ReportsEvery *Duration `json:"reportsEvery,omitempty"`
	CreatedAt    time.Time `json:"createdDateTime"`
}

// reportsEvery is the schedule of the connection's usage reports sync.
func (c *Connection) reportsEvery() time.Duration {
	if c.ReportsEvery == nil {
		return DefaultReportsEvery
	}
	return time.Duration(*c.ReportsEvery)
}

// View is a connection as every API and CLI shows it: no secret, with its
// sync state.
type View struct {
	ID            string `json:"id"`
	TenantID      string `json:"tenantId"`
	DisplayName   string `json:"displayName,omitempty"`
	EntraTenantID string `json:"entraTenantId"`
	ClientID      string `json:"clientId"`
	// Credential is "clientSecret", "certificate" or "workloadIdentity"; HasSecret says a
	// credential is stored; Certificate describes a certificate's public
	// part (never its key).
	Credential    string       `json:"credential"`
	HasSecret     bool         `json:"hasSecret"`
	Certificate   *Certificate `json:"certificate,omitempty"`
	GraphURL      string       `json:"graphUrl"`
	AuthorityHost string       `json:"authorityHost"`
	Apply         bool         `json:"apply"`
	SyncEvery     Duration     `json:"syncEvery"`
	ReportsEvery  Duration     `json:"reportsEvery"`
	CreatedAt     time.Time    `json:"createdDateTime"`
	Sync          SyncState    `json:"sync"`
}

// Duration is a time.Duration written as Go's duration text ("1h0m0s").
type Duration time.Duration

// MarshalText writes the duration as Go's duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads Go's duration text ("1h", "30m"); "" is 0.
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return allot.Errorf(allot.EINVALID, "syncEvery: %q is not a duration such as 1h or 30m.", string(b))
	}
	*d = Duration(v)
	return nil
}

// Input is what creating a connection takes.
type Input struct {
	DisplayName   string `json:"displayName"`
	EntraTenantID string `json:"entraTenantId"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
	// ClientCertificate is, instead of a secret, the certificate with
	// its private key: PEM text, or the base64 of a .pfx opened with
	// ClientCertificatePassword. Only its public part is ever shown.
	ClientCertificate         string `json:"clientCertificate"`
	ClientCertificatePassword string `json:"clientCertificatePassword"`
	// SendCertificateChain sends the certificate chain (x5c) with each
	// token request, as subject name/issuer authentication needs.
	SendCertificateChain bool `json:"sendCertificateChain"`
	// WorkloadIdentity signs in, instead of with a secret or a certificate,
	// with the identity the platform gives this process: a federated token
	// in the file AZURE_FEDERATED_TOKEN_FILE names (Azure Kubernetes
	// Service's workload identity, and other platforms that follow it),
	// trusted by the app registration's federated credential. Nothing
	// secret is stored.
	WorkloadIdentity bool      `json:"workloadIdentity"`
	GraphURL         string    `json:"graphUrl"`
	AuthorityHost    string    `json:"authorityHost"`
	Apply            bool      `json:"apply"`
	SyncEvery        *Duration `json:"syncEvery"`
	// ReportsEvery schedules the usage reports sync (default 24h; 0s:
	// none; at least 1h).
	ReportsEvery *Duration `json:"reportsEvery"`
}

// validate checks and normalises an input: its identity and credential
// (validateCredential), its endpoints and its schedules, in that order.
func (in *Input) validate() error {
	if err := in.validateCredential(); err != nil {
		return err
	}
	var err error
	if in.GraphURL, err = baseURL("graphUrl", in.GraphURL, DefaultGraphURL); err != nil {
		return err
	}
	if in.AuthorityHost, err = baseURL("authorityHost", in.AuthorityHost, DefaultAuthorityHost); err != nil {
		return err
	}
	if !strings.HasSuffix(in.AuthorityHost, "/") {
		in.AuthorityHost += "/"
	}
	in.GraphURL = strings.TrimRight(in.GraphURL, "/")
	if in.SyncEvery != nil && (*in.SyncEvery < 0 || (*in.SyncEvery > 0 && time.Duration(*in.SyncEvery) < time.Minute)) {
		return allot.Errorf(allot.EINVALID, "syncEvery must be 0 (no scheduled sync) or at least 1m.")
	}
	if in.ReportsEvery != nil && (*in.ReportsEvery < 0 || (*in.ReportsEvery > 0 && time.Duration(*in.ReportsEvery) < time.Hour)) {
		return allot.Errorf(allot.EINVALID, "reportsEvery must be 0 (no scheduled reports sync) or at least 1h (Microsoft refreshes the reports daily).")
	}
	return nil
}

// validateCredential checks (and trims) the Entra tenant and client ids,
// that exactly one credential is given with only its own options, and the
// lengths of the secret and the name.
func (in *Input) validateCredential() error {
	in.EntraTenantID = strings.TrimSpace(in.EntraTenantID)
	in.ClientID = strings.TrimSpace(in.ClientID)
	switch {
	case in.EntraTenantID == "" || len(in.EntraTenantID) > 256 || strings.ContainsAny(in.EntraTenantID, "/?#\\ \t\r\n"):
		return allot.Errorf(allot.EINVALID, "entraTenantId is required: the Microsoft Entra tenant id (a GUID) or its domain.")
	case in.ClientID == "" || len(in.ClientID) > 256:
		return allot.Errorf(allot.EINVALID, "clientId is required: the application (client) id of the app registration.")
	case in.ClientSecret == "" && in.ClientCertificate == "" && !in.WorkloadIdentity:
		return allot.Errorf(allot.EINVALID, "clientSecret, clientCertificate or workloadIdentity is required.")
	case (in.ClientSecret != "" && in.ClientCertificate != "") || (in.WorkloadIdentity && (in.ClientSecret != "" || in.ClientCertificate != "")):
		return allot.Errorf(allot.EINVALID, "Give one of clientSecret, clientCertificate and workloadIdentity.")
	case in.ClientCertificate == "" && (in.ClientCertificatePassword != "" || in.SendCertificateChain):
		return allot.Errorf(allot.EINVALID, "clientCertificatePassword and sendCertificateChain go with clientCertificate.")
	case len(in.ClientSecret) > 1024:
		return allot.Errorf(allot.EINVALID, "clientSecret is longer than 1024 characters.")
	case len(in.DisplayName) > 256:
		return allot.Errorf(allot.EINVALID, "displayName is longer than 256 characters.")
	}
	return nil
}

// baseURL checks an absolute http(s) URL without query or fragment.
func baseURL(name, v, def string) (string, error) {
	if v == "" {
		return def, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", allot.Errorf(allot.EINVALID, "%s must be an absolute https URL without query, such as %s.", name, def)
	}
	return v, nil
}

// View returns the connection as shown (without its secret).
func (c *Connection) View(tenantID string, st SyncState) View {
	cred := c.Credential
	if cred == "" {
		cred = CredentialSecret
	}
	return View{ID: c.ID, TenantID: tenantID, DisplayName: c.DisplayName, EntraTenantID: c.EntraTenantID, ClientID: c.ClientID,
		Credential: cred, HasSecret: len(c.Secret) > 0, Certificate: c.Certificate, GraphURL: c.GraphURL, AuthorityHost: c.AuthorityHost, Apply: c.Apply,
		SyncEvery: c.SyncEvery, ReportsEvery: Duration(c.reportsEvery()), CreatedAt: c.CreatedAt, Sync: st}
}

// NewConnection validates an input and seals its secret or certificate:
// the connection to Put. It refuses without a key (ErrNoKey), before
// anything is stored.
func NewConnection(in Input, id string, sealer *Sealer, now time.Time) (*Connection, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	kind, clear := CredentialSecret, in.ClientSecret
	var cert *Certificate
	if in.ClientCertificate != "" {
		text, info, err := parseCertificate(in.ClientCertificate, in.ClientCertificatePassword)
		if err != nil {
			return nil, err
		}
		kind, clear, cert = CredentialCertificate, text, &info
	}
	var sealed []byte
	if in.WorkloadIdentity { // nothing secret to store
		kind = CredentialWorkloadIdentity
	} else {
		if !sealer.HasKey() {
			return nil, ErrNoKey
		}
		var err error
		if sealed, err = sealer.Seal(id, clear); err != nil {
			return nil, err
		}
	}
	every := Duration(DefaultSyncEvery)
	if in.SyncEvery != nil {
		every = *in.SyncEvery
	}
	reports := Duration(DefaultReportsEvery)
	if in.ReportsEvery != nil {
		reports = *in.ReportsEvery
	}
	return &Connection{ID: id, DisplayName: in.DisplayName, EntraTenantID: in.EntraTenantID, ClientID: in.ClientID,
		Credential: kind, Secret: sealed, Certificate: cert, SendCertificateChain: in.SendCertificateChain,
		GraphURL: in.GraphURL, AuthorityHost: in.AuthorityHost, Apply: in.Apply, SyncEvery: every, ReportsEvery: &reports, CreatedAt: now.UTC()}, nil
}

// Put stores a connection (a command). A tenant has at most one connection
// per Entra tenant.
func Put(tx *tenant.Tx, c *Connection) error {
	for _, o := range List(tx.State) {
		if o.ID != c.ID && strings.EqualFold(o.EntraTenantID, c.EntraTenantID) {
			return allot.Errorf(allot.ECONFLICT, "Connection %s already connects this tenant to Microsoft Entra tenant %s.", o.ID, o.EntraTenantID)
		}
	}
	if err := tx.Put(KindConnection, c.ID, c); err != nil {
		return err
	}
	detail := "entraTenantId=" + c.EntraTenantID + " clientId=" + c.ClientID
	if c.Certificate != nil {
		detail += " certificate=" + c.Certificate.Thumbprint
	}
	tx.Audit(auditEntry("Create Microsoft 365 connection", c.ID, detail))
	return nil
}

// Get returns a connection of the tenant.
func Get(s *tenant.State, id string) (*Connection, error) {
	var c Connection
	ok, err := s.Decode(KindConnection, id, &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, allot.Errorf(allot.ENOTFOUND, "Connection %s does not exist.", id)
	}
	return &c, nil
}

// List returns the tenant's connections by id.
func List(s *tenant.State) []*Connection {
	var out []*Connection
	for _, id := range s.IDs(KindConnection) {
		if c, err := Get(s, id); err == nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Delete removes a connection with its sync state and its records of
// applied licenses (a command). The synced objects stay, no longer
// marked: they become allot's own.
func Delete(tx *tenant.Tx, id string) error {
	if _, err := Get(tx.State, id); err != nil {
		return err
	}
	tx.Delete(KindConnection, id)
	tx.Delete(KindSyncState, id)
	for _, k := range tx.IDs(KindApplied) {
		if strings.HasPrefix(k, id+"/") {
			tx.Delete(KindApplied, k)
		}
	}
	for _, k := range tx.IDs(KindSynced) {
		var m syncedMark
		if ok, _ := tx.Decode(KindSynced, k, &m); ok && m.Conn == id {
			tx.Delete(KindSynced, k)
		}
	}
	tx.Audit(auditEntry("Delete Microsoft 365 connection", id, ""))
	return nil
}

// String writes the duration as Go's duration text ("1h0m0s").
func (d Duration) String() string { return time.Duration(d).String() }
