package crashtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"allot/internal/pgtest"
	"allot/store"
	"allot/store/sqlite"
)

// Issue 15 item 7: a CLI command that writes must not write the database a
// running `allot serve` owns (the server would not see the change, its
// audit numbers would collide, units would merge at the next start); it is
// refused with the API to use instead. Read-only commands work beside it.
func TestCLIWritesAreRefusedWhileServeOwnsTheDatabase(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "allot.db")
			if backend == "postgres" {
				db = pgtest.Schema(t)
			}
			srv := startServe(t, db, nil, nil)
			tid, admin := srv.customer("Contoso", 5)
			bundle := writeBundle(t, "contoso.example", 3)

			for _, c := range []struct {
				args []string
				hint string
			}{
				{[]string{"import", "tenant", "--db", db, "--tenant", tid, bundle}, "POST /allot/v1/tenants/{tenantId}/import"},
				{[]string{"token", "create", "--db", db, "--tenant", tid, "--role", "GlobalReader"}, "POST /allot/v1/tenants/{tenantId}/tokens"},
				{[]string{"token", "revoke", "--db", db, "--tenant", tid, "some-id"}, "DELETE /allot/v1/tenants/{tenantId}/tokens/{id}"},
				{[]string{"doctor", "--db", db, "--repair"}, "stop allot serve"},
			} {
				_, stderr, code := cli(t, c.args...)
				if code == 0 {
					t.Fatalf("allot %s succeeded while allot serve owns the database", strings.Join(c.args[:2], " "))
				}
				for _, want := range []string{"in use by another allot process", "allot serve", c.hint} {
					if !strings.Contains(stderr, want) {
						t.Errorf("allot %s: the refusal does not say %q:\n%s", strings.Join(c.args[:2], " "), want, stderr)
					}
				}
			}
			if _, stderr, code := cli(t, "serve", "--db", db, "--addr", "127.0.0.1:0"); code == 0 || !strings.Contains(stderr, "in use") {
				t.Errorf("a second allot serve on the same database: exit %d:\n%s", code, stderr)
			}

			// The server goes on writing, with nothing of the refused import.
			st, body := srv.call("POST", "/v1.0/users", admin, userBody("user1", "contoso.example"))
			if st != 201 {
				t.Fatalf("the server after the refused CLI writes: %d %s", st, body)
			}
			st, body = srv.call("GET", "/v1.0/users/b0000000", admin, nil)
			if st != 404 {
				t.Errorf("a user of the refused import: %d %s", st, body)
			}

			// A doctor's dry run reads beside the server.
			if out, stderr, code := cli(t, "doctor", "--db", db); code != 0 || !strings.Contains(out, "consistent") {
				t.Errorf("allot doctor (dry run) beside a running server: exit %d:\n%s%s", code, out, stderr)
			}

			// Export reads beside the server and sees its last commit.
			out := filepath.Join(t.TempDir(), "export")
			if _, stderr, code := cli(t, "export", "tenant", "--db", db, "--tenant", tid, out); code != 0 {
				t.Fatalf("allot export beside a running server: exit %d:\n%s", code, stderr)
			}
			users, err := os.ReadFile(filepath.Join(out, "users.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(users), "user1@contoso.example") {
				t.Errorf("the export does not have the server's user:\n%s", users)
			}

			// Once the server stopped, the CLI owns the database.
			srv.stop()
			if _, stderr, code := cli(t, "import", "tenant", "--db", db, "--tenant", tid, bundle); code != 0 {
				t.Fatalf("allot import tenant after the server stopped: exit %d:\n%s", code, stderr)
			}
			srv = startServe(t, db, nil, nil)
			if st, body := srv.call("GET", "/v1.0/users/b0000002", admin, nil); st != 200 {
				t.Errorf("the imported user after restart: %d %s", st, body)
			}
		})
	}
}

// Issue 15 item 7: after the bootstrap partner administrator's token is
// revoked, `allot serve` with ALLOT_BOOTSTRAP_TOKEN still set starts (and
// says the token is not created again); the token stays refused.
func TestServeStartsAfterItsBootstrapTokenWasRevoked(t *testing.T) {
	db := filepath.Join(t.TempDir(), "allot.db")
	srv := startServe(t, db, nil, nil)
	tid, _ := srv.customer("Contoso", 0)
	srv.stop()

	ro, err := sqlite.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	toks, err := ro.ListTokens(t.Context(), store.PartnerTenant)
	ro.Close()
	if err != nil || len(toks) != 1 {
		t.Fatalf("partner tokens: %v %v", toks, err)
	}
	if _, stderr, code := cli(t, "token", "revoke", "--db", db, toks[0].ID); code != 0 {
		t.Fatalf("allot token revoke: exit %d:\n%s", code, stderr)
	}

	srv, err = tryServe(t, db, nil, nil)
	if err != nil {
		t.Fatalf("allot serve after its bootstrap token was revoked: %v", err)
	}
	if !strings.Contains(srv.output(), "revoked") {
		t.Errorf("the server does not say that the bootstrap token is revoked:\n%s", srv.output())
	}
	if st, body := srv.call("GET", "/partner/v1/customers/"+tid, partnerSecret, nil); st != 401 {
		t.Errorf("the revoked bootstrap token answers %d: %s", st, body)
	}
}
